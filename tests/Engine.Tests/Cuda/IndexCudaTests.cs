using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The index kernels (gather, index_select, scatter_add, index_add) on a real GPU against the CPU backend: the checks of
/// the emulated IndexKernelTests at larger sizes, plus what only a GPU exercises: atomics under heavy contention
/// (float sums in a varying order within the summation bound, integer and uint8 compare-and-swap sums exact) and the
/// embedding-size row copy. Ignored when <see cref="CudaProbe.IsAvailable"/> is false.
/// </summary>
[NonParallelizable, Category("Cuda")]
public class IndexCudaTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static IBackend Cpu => Backends.For(Device.Cpu);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);

    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    [TestCaseSource(typeof(Emulated.IndexKernelTests), nameof(Emulated.IndexKernelTests.AllTypes))]
    public void GatherMatchesCpu(DType dt) { RequireGpu(); IndexOpChecks.Gather(Gpu0, dt, max: 24); }

    [TestCaseSource(typeof(Emulated.IndexKernelTests), nameof(Emulated.IndexKernelTests.AllTypes))]
    public void IndexSelectMatchesCpu(DType dt) { RequireGpu(); IndexOpChecks.IndexSelect(Gpu0, dt, max: 24); }

    [TestCaseSource(typeof(Emulated.IndexKernelTests), nameof(Emulated.IndexKernelTests.AddTypes))]
    public void ScatterAddMatchesCpu(DType dt) { RequireGpu(); IndexOpChecks.ScatterAdd(Gpu0, dt, max: 24); }

    [TestCaseSource(typeof(Emulated.IndexKernelTests), nameof(Emulated.IndexKernelTests.AddTypes))]
    public void IndexAddMatchesCpu(DType dt) { RequireGpu(); IndexOpChecks.IndexAdd(Gpu0, dt, max: 24); }

    /// <summary>A million additions into a handful of neighbouring elements: every atomic contends.</summary>
    [TestCaseSource(typeof(Emulated.IndexKernelTests), nameof(Emulated.IndexKernelTests.AddTypes))]
    public void ScatterAddUnderHeavyContentionMatchesCpu(DType dt)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const long n = 1 << 20, bins = 7;   // 7 neighbouring bytes for uint8: two words, bytes of one word race each other
        var src = IndexOpChecks.Values(g, [n], dt);
        var index = Tensor.RandInt(0, bins, [n], DType.Int64, g);
        var cd = IndexOpChecks.Values(g, [bins], dt);
        var dd = cd.To(Gpu0);
        var bound = cd.Abs();
        var (ds, di) = (src.To(Gpu0), index.To(Gpu0));
        IndexOpChecks.OnPtx(Gpu, "scatter_add", 1, () => Gpu.ScatterAdd(dd.View("t"), di.View("t"), ds.View("t"), 0));
        Cpu.ScatterAdd(cd.View("t"), index.View("t"), src.View("t"), 0);
        if (dt.IsFloatingPoint())
        {
            Cpu.ScatterAdd(bound.View("t"), index.View("t"), src.Abs().View("t"), 0);
            IndexOpChecks.AssertSumClose(dd, cd, bound, n, $"scatter_add {dt.Name()} of {n} into {bins}");
        }
        else IndexOpChecks.AssertEqual(dd, cd, $"scatter_add {dt.Name()} of {n} into {bins}");
    }

    /// <summary>An embedding lookup at the benchmark's size takes the 16-byte row copy and matches the CPU exactly.</summary>
    [TestCase(512, 16)]
    [TestCase(301, 4)]
    public void EmbeddingLookupUsesTheRowCopy(int width, int expectedChunk)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var table = Tensor.Randn([50_000, width], DType.Float32, g);
        var index = Tensor.RandInt(0, 50_000, [4096], DType.Int64, g);
        var (dt, di) = (table.To(Gpu0), index.To(Gpu0));
        var cd = Tensor.Empty([4096, width], DType.Float32, Device.Cpu);
        var dd = Tensor.Empty([4096, width], DType.Float32, Gpu0);
        Cpu.IndexSelect(cd.View("t"), table.View("t"), index.View("t"), 0);
        int chunk = 0;
        IndexOpChecks.OnPtx(Gpu, "index_select rows", 1, () => chunk = Gpu.RowSelect(dd.View("t"), dt.View("t"), di.View("t"), 0));
        Assert.That(chunk, Is.EqualTo(expectedChunk));
        IndexOpChecks.AssertEqual(dd, cd, "embedding lookup");
    }

    /// <summary>Gather's and index_select's gradients (scatter_add, index_add) through the tensor API with negative dims.</summary>
    [Test]
    public void GradientsThroughTheTensorApiMatchCpu()
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = Tensor.Randn([64, 33, 17], DType.Float64, g);
        var index = Tensor.RandInt(0, 17, [64, 33, 40], DType.Int64, g);
        var sel = Tensor.RandInt(0, 33, [100], DType.Int64, g);
        var w = Tensor.Randn([64, 33, 40], DType.Float64, g);
        var w2 = Tensor.Randn([64, 100, 17], DType.Float64, g);
        var (cl, dl) = (x.Clone().RequiresGrad_(), x.To(Gpu0).RequiresGrad_());
        (cl.Gather(-1, index) * w).Sum().Backward();
        (dl.Gather(-1, index.To(Gpu0)) * w.To(Gpu0)).Sum().Backward();
        TestUtil.AssertClose(dl.Grad!, cl.Grad!, 1e-12, 1e-12);
        var (cl2, dl2) = (x.Clone().RequiresGrad_(), x.To(Gpu0).RequiresGrad_());
        (cl2.IndexSelect(-2, sel) * w2).Sum().Backward();
        (dl2.IndexSelect(-2, sel.To(Gpu0)) * w2.To(Gpu0)).Sum().Backward();
        TestUtil.AssertClose(dl2.Grad!, cl2.Grad!, 1e-12, 1e-12);
    }
}
