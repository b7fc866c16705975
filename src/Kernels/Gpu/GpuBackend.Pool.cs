namespace Engine.Kernels.Gpu;

// Pooling (cuDNN on a real GPU): CPU fallback for now (runs on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void MaxPoolForward(PoolGeometry g, in StridedView y, in StridedView indices, in StridedView x) => Cpu("max_pool").MaxPoolForward(g, y, indices, x);

    /// <inheritdoc/>
    public void MaxPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy, in StridedView indices) => Cpu("max_pool_backward").MaxPoolBackward(g, dx, dy, indices);

    /// <inheritdoc/>
    public void AvgPoolForward(PoolGeometry g, in StridedView y, in StridedView x) => Cpu("avg_pool").AvgPoolForward(g, y, x);

    /// <inheritdoc/>
    public void AvgPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy) => Cpu("avg_pool_backward").AvgPoolBackward(g, dx, dy);
}
