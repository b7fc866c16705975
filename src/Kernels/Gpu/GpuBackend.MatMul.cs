namespace Engine.Kernels.Gpu;

// Matrix products (cuBLAS on a real GPU): CPU fallback for now (runs on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void MatMul(in StridedView dst, in StridedView x, in StridedView y) => Cpu("matmul").MatMul(dst, x, y);
}
