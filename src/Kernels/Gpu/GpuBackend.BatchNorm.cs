namespace Engine.Kernels.Gpu;

// Batch norm (cuDNN on a real GPU): CPU fallback for now (runs on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void BatchNormForward(int n, int c, int s, in StridedView y, in StridedView x, StridedView? weight, StridedView? bias,
        StridedView? runningMean, StridedView? runningVar, bool training, double momentum, double eps, in StridedView saveMean, in StridedView saveInvStd) =>
        Cpu("batch_norm").BatchNormForward(n, c, s, y, x, weight, bias, runningMean, runningVar, training, momentum, eps, saveMean, saveInvStd);

    /// <inheritdoc/>
    public void BatchNormBackward(int n, int c, int s, StridedView? dx, StridedView? dw, StridedView? db, in StridedView dy, in StridedView x,
        StridedView? weight, in StridedView saveMean, in StridedView saveInvStd, bool training) =>
        Cpu("batch_norm_backward").BatchNormBackward(n, c, s, dx, dw, db, dy, x, weight, saveMean, saveInvStd, training);
}
