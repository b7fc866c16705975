using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;
using Engine.Tests.Emulated;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The Cuda twin of <see cref="OptimKernelTests"/>: the fused optimizer kernels (Kernels/optim.ptx) on a real GPU against
/// the CPU backend, bit for bit, including sizes far beyond one grid. Ignored when <see cref="CudaProbe.IsAvailable"/> is false.
/// </summary>
[NonParallelizable, Category("Cuda")]
public class OptimKernelCudaTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);

    private static Random Rng() => new((int)TestContext.CurrentContext.Random.NextUInt());

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
            foreach (long n in new long[] { 0, 1, 3, 37, 1021, (1 << 20) + 3 })
                foreach (var place in Enum.GetValues<OptimKernelCheck.Placement>())
                    yield return new TestCaseData(dt, n, place).SetArgDisplayNames(dt.Name(), $"n={n}", place.ToString());
    }

    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
        Assert.That(Backends.For(Gpu0), Is.InstanceOf<GpuBackend>());
    }

    [TestCaseSource(nameof(Cases))]
    public void SgdMatchesCpu(DType dt, long n, OptimKernelCheck.Placement place)
    {
        RequireGpu();
        OptimKernelCheck.Sgd(Gpu0, dt, n, place, Rng());
    }

    [TestCaseSource(nameof(Cases))]
    public void AdamMatchesCpu(DType dt, long n, OptimKernelCheck.Placement place)
    {
        RequireGpu();
        OptimKernelCheck.Adam(Gpu0, dt, n, place, Rng());
    }
}
