namespace Engine.Kernels.Gpu;

// Local response normalisation across channels: CPU fallback for now (runs on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void LrnForward(int n, int c, int s, int size, double alpha, double beta, double k, in StridedView y, in StridedView x) =>
        Cpu("local_response_norm").LrnForward(n, c, s, size, alpha, beta, k, y, x);

    /// <inheritdoc/>
    public void LrnBackward(int n, int c, int s, int size, double alpha, double beta, double k, in StridedView dx, in StridedView dy, in StridedView x, in StridedView y) =>
        Cpu("local_response_norm_backward").LrnBackward(n, c, s, size, alpha, beta, k, dx, dy, x, y);
}
