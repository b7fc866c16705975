namespace Engine.Kernels.Gpu;

// Reductions along dims: CPU fallback for now (runs on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void Reduce(ReduceOp op, in StridedView dst, in StridedView src) => Cpu(op.ToString()).Reduce(op, dst, src);

    /// <inheritdoc/>
    public void ArgReduce(bool max, in StridedView values, in StridedView indices, in StridedView src, int dim) => Cpu("argmax").ArgReduce(max, values, indices, src, dim);
}
