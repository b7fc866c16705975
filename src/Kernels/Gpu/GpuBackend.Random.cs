namespace Engine.Kernels.Gpu;

// Random fill (Philox): CPU fallback for now (runs on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void FillRandom(in StridedView dst, RandomKind kind, ulong seed, ulong offset, double a, double b) => Cpu("random").FillRandom(dst, kind, seed, offset, a, b);
}
