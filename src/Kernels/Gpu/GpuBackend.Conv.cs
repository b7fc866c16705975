namespace Engine.Kernels.Gpu;

// Convolution (cuDNN on a real GPU): CPU fallback for now (runs on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void ConvForward(ConvGeometry g, in StridedView y, in StridedView x, in StridedView w, StridedView? bias) => Cpu("conv").ConvForward(g, y, x, w, bias);

    /// <inheritdoc/>
    public void ConvBackwardData(ConvGeometry g, in StridedView dx, in StridedView dy, in StridedView w) => Cpu("conv_backward").ConvBackwardData(g, dx, dy, w);

    /// <inheritdoc/>
    public void ConvBackwardWeight(ConvGeometry g, in StridedView dw, StridedView? db, in StridedView dy, in StridedView x) => Cpu("conv_backward").ConvBackwardWeight(g, dw, db, dy, x);
}
