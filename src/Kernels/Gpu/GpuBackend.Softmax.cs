namespace Engine.Kernels.Gpu;

// Softmax and log-softmax over the last dim: CPU fallback for now (runs on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void Softmax(in StridedView dst, in StridedView src, bool log) => Cpu("softmax").Softmax(dst, src, log);

    /// <inheritdoc/>
    public void SoftmaxBackward(in StridedView dst, in StridedView grad, in StridedView y, bool log) => Cpu("softmax_backward").SoftmaxBackward(dst, grad, y, log);
}
