using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The index kernels of the GPU backend (gather, scatter_add, index_select, index_add; GpuBackend.Index.cs) on each
/// GPU device against the CPU backend: every dtype the CPU supports, random ragged shapes of rank 1–4 (sizes up to 6 on
/// the emulator, 24 on a GPU), every dim, permuted and stepped (non-contiguous) src, index and dst, repeated and empty
/// indices; atomics under heavy contention (float sums in a varying order within the summation bound, integer and
/// uint8 compare-and-swap sums exact); the row-copy index_select; negative dims and backward through the tensor API;
/// one_hot, masked_fill and where on PTX.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class IndexKernelTests(TestDevice dev) : DeviceTests(dev)
{
    // The shared helpers (random layouts, values, exact and summation-order-aware comparisons).
    private static long[] RandomShape(Random r, int rank) => IndexOpChecks.RandomShape(r, rank);
    private (Tensor Cpu, Tensor Dev, string Layout) Laid(Random r, long[] shape, Func<long[], Tensor> make) => IndexOpChecks.Laid(Device, r, shape, make);
    private static Tensor Values(Generator g, long[] shape, DType dt) => TestUtil.Values(g, shape, dt);
    private static Tensor Indices(Generator g, long[] shape, long size) => IndexOpChecks.Indices(g, shape, size);
    private static void AssertEqual(Tensor a, Tensor b, string what) => IndexOpChecks.AssertEqual(a, b, what);
    private void OnPtx(string what, long launches, Action call) => IndexOpChecks.OnPtx(Gpu, what, launches, call);
    private static IEnumerable<(int Rank, int Dim)> RanksAndDims() => IndexOpChecks.RanksAndDims();

    public static readonly DType[] AllTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool];

    /// <summary>The dtypes the CPU's scatter_add and index_add support (not bool).</summary>
    public static readonly DType[] AddTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8];

    [TestCaseSource(nameof(AllTypes))]
    public void GatherMatchesCpu(DType dt) => IndexOpChecks.Gather(Device, dt, max: Dev.Pick(6, 24));

    [TestCaseSource(nameof(AllTypes))]
    public void IndexSelectMatchesCpu(DType dt) => IndexOpChecks.IndexSelect(Device, dt, max: Dev.Pick(6, 24));

    [TestCaseSource(nameof(AddTypes))]
    public void ScatterAddMatchesCpu(DType dt) => IndexOpChecks.ScatterAdd(Device, dt, max: Dev.Pick(6, 24));

    [TestCaseSource(nameof(AddTypes))]
    public void IndexAddMatchesCpu(DType dt) => IndexOpChecks.IndexAdd(Device, dt, max: Dev.Pick(6, 24));

    /// <summary>
    /// Embedding-style index_select (dim 0, or after size-1 dims, of contiguous rows) takes the hand-written row copy:
    /// 16-byte chunks when rows, bases and row strides allow, else 4-byte ones; other layouts the generated gather.
    /// </summary>
    [TestCase(DType.Float32, new long[] { 37, 16 }, 0, false, "v4")]
    [TestCase(DType.Float32, new long[] { 37, 7 }, 0, false, "b32")]
    [TestCase(DType.Float64, new long[] { 21, 3, 2 }, 0, false, "v4")]
    [TestCase(DType.Int64, new long[] { 1, 19, 5 }, 1, false, "b32")]
    [TestCase(DType.Float32, new long[] { 37, 16 }, 0, true, "v4")]     // rows of a column-narrowed table: row stride 2x the row
    [TestCase(DType.UInt8, new long[] { 40, 12 }, 0, false, "b32")]
    [TestCase(DType.UInt8, new long[] { 40, 5 }, 0, false, "gather")]   // 5-byte rows: no aligned chunks
    [TestCase(DType.Float32, new long[] { 6, 37 }, 1, false, "gather")] // dim 1 of a table with 6 rows: not whole rows
    public void IndexSelectOfRowsUsesTheRowCopy(DType dt, long[] shape, int dim, bool narrowed, string path)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var baseShape = (long[])shape.Clone();
        if (narrowed) baseShape[^1] *= 2;
        var cb = Values(g, baseShape, dt);
        var eb = cb.To(Device);
        Tensor cs = narrowed ? cb.Narrow(-1, shape[^1], shape[^1]) : cb, es = narrowed ? eb.Narrow(-1, shape[^1], shape[^1]) : eb;
        long n = 50;
        var full = Indices(g, [2 * n], shape[dim]);                        // every other one: a strided index
        var ci = full.Slice(0, 0, 2 * n, 2);
        var ei = full.To(Device).Slice(0, 0, 2 * n, 2);
        var dstShape = (long[])shape.Clone();
        dstShape[dim] = n;
        var cd = Tensor.Zeros(dstShape, dt);
        var ed = Tensor.Zeros(dstShape, dt, Device);
        string what = $"index_select {dt.Name()} {ShapeUtil.Format(shape)} dim {dim} via {path}";
        Cpu.IndexSelect(cd.View("t"), cs.View("t"), ci.View("t"), dim);
        int width = 0;
        OnPtx(what, path == "gather" ? 0 : 1, () => width = Gpu.RowSelect(ed.View("t"), es.View("t"), ei.View("t"), dim));
        Assert.That(width, Is.EqualTo(path switch { "v4" => 16, "b32" => 4, _ => 0 }), $"the row copy's access width ({path})");
        if (width == 0) OnPtx(what, 1, () => Gpu.IndexSelect(ed.View("t"), es.View("t"), ei.View("t"), dim));
        AssertEqual(ed, cd, what);
    }

    /// <summary>The kernels with 64-bit element indices (used above 2^32 elements) on small tensors, forced.</summary>
    [TestCaseSource(nameof(AddTypes))]
    public void The64BitIndexKernelsMatchCpu(DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        Gpu.WideIndexKernels = true;
        try
        {
            foreach (var (rank, dim) in RanksAndDims())
            {
                var shape = RandomShape(r, rank);
                var (cs, es, sl) = Laid(r, shape, s => Values(g, s, dt));
                var (ci, ei, il) = Laid(r, shape, s => Indices(g, s, shape[dim]));
                var (cd, ed, dl) = Laid(r, shape, s => Values(g, s, dt));
                string what = $"{dt.Name()} dim {dim} shape {ShapeUtil.Format(shape)} ({sl}, {il}, {dl})";
                var cg = Tensor.Empty(shape, dt, Device.Cpu);
                var eg = Tensor.Empty(shape, dt, Device);
                Cpu.Gather(cg.View("t"), cs.View("t"), ci.View("t"), dim);
                OnPtx("gather " + what, 1, () => Gpu.Gather(eg.View("t"), es.View("t"), ei.View("t"), dim));
                AssertEqual(eg, cg, "gather " + what);
                Cpu.ScatterAdd(cd.View("t"), ci.View("t"), cs.View("t"), dim);
                OnPtx("scatter_add " + what, 1, () => Gpu.ScatterAdd(ed.View("t"), ei.View("t"), es.View("t"), dim));
                if (dt.IsFloatingPoint()) TestUtil.AssertClose(ed, cd, 1e-4, 1e-5);   // at most 6 terms of |x| < 40
                else AssertEqual(ed, cd, "scatter_add " + what);
            }
        }
        finally { Gpu.WideIndexKernels = false; }
        if (!Dev.IsCuda) Assert.That(EmulatedRuntime.Shared.ModuleTexts.Keys, Has.Some.EndsWith("_w64"), "the 64-bit variants were built");
    }

    /// <summary>A million additions (a thousand on the emulator) into a handful of neighbouring elements: every atomic contends.</summary>
    [TestCaseSource(nameof(AddTypes))]
    public void ScatterAddUnderHeavyContentionMatchesCpu(DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long n = Dev.Pick(1 << 10, 1 << 20), bins = 7;   // 7 neighbouring bytes for uint8: two words, bytes of one word race each other
        var src = TestUtil.Values(g, [n], dt);
        var index = Tensor.RandInt(0, bins, [n], DType.Int64, g);
        var cd = TestUtil.Values(g, [bins], dt);
        var dd = cd.To(Device);
        var bound = cd.Abs();
        var (ds, di) = (src.To(Device), index.To(Device));
        IndexOpChecks.OnPtx(Gpu, "scatter_add", 1, () => Gpu.ScatterAdd(dd.View("t"), di.View("t"), ds.View("t"), 0));
        Cpu.ScatterAdd(cd.View("t"), index.View("t"), src.View("t"), 0);
        if (dt.IsFloatingPoint())
        {
            Cpu.ScatterAdd(bound.View("t"), index.View("t"), src.Abs().View("t"), 0);
            IndexOpChecks.AssertSumClose(dd, cd, bound, n, $"scatter_add {dt.Name()} of {n} into {bins}");
        }
        else IndexOpChecks.AssertEqual(dd, cd, $"scatter_add {dt.Name()} of {n} into {bins}");
    }

    /// <summary>An embedding lookup (at the benchmark's size on a GPU) takes the row copy of the width's chunk and matches the CPU exactly.</summary>
    [TestCase(512, 16)]
    [TestCase(301, 4)]
    public void EmbeddingLookupUsesTheRowCopy(int width, int expectedChunk)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long rows = Dev.Pick(500, 50_000), lookups = Dev.Pick(64, 4096);
        var table = Tensor.Randn([rows, width], DType.Float32, g);
        var index = Tensor.RandInt(0, rows, [lookups], DType.Int64, g);
        var (dt, di) = (table.To(Device), index.To(Device));
        var cd = Tensor.Empty([lookups, width], DType.Float32, Device.Cpu);
        var dd = Tensor.Empty([lookups, width], DType.Float32, Device);
        Cpu.IndexSelect(cd.View("t"), table.View("t"), index.View("t"), 0);
        int chunk = 0;
        IndexOpChecks.OnPtx(Gpu, "index_select rows", 1, () => chunk = Gpu.RowSelect(dd.View("t"), dt.View("t"), di.View("t"), 0));
        Assert.That(chunk, Is.EqualTo(expectedChunk));
        IndexOpChecks.AssertEqual(dd, cd, "embedding lookup");
    }

    [Test]
    public void AnOutOfRangeIndexInADirectCallLeavesItsElementAlone()
    {
        // The tensor layer rejects such indices; the kernels still never touch memory outside the tensor.
        using var scope = Tensor.NewDisposeScope();
        var src = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]).To(Device);
        var index = Tensor.FromArray(new long[] { 2, 3, -1, 0 }, [1, 4]).To(Device);
        var dst = Tensor.Full([1, 4], -7, DType.Float32, Device);
        Gpu.Gather(dst.View("t"), src.View("t"), index.View("t"), 1);
        Assert.That(dst.ToArray<float>(), Is.EqualTo(new float[] { 3, -7, -7, 1 }));
        var acc = Tensor.Zeros([2, 3], DType.Float32, Device);
        Gpu.ScatterAdd(acc.View("t"), index.View("t"), Tensor.Ones([1, 4], DType.Float32, Device).View("t"), 1);
        Assert.That(acc.ToArray<float>(), Is.EqualTo(new float[] { 1, 0, 1, 0, 0, 0 }));
        var rows = Tensor.Zeros([3, 3], DType.Float32, Device);
        Gpu.IndexSelect(rows.View("t"), src.View("t"), Tensor.FromArray(new long[] { 1, 2, -5 }).To(Device).View("t"), 0);
        Assert.That(rows.ToArray<float>(), Is.EqualTo(new float[] { 4, 5, 6, 0, 0, 0, 0, 0, 0 }));
    }

    [Test]
    public void ScatterAddOfBoolIsATypedErrorAsOnTheCpu()
    {
        using var scope = Tensor.NewDisposeScope();
        var dst = Tensor.Zeros([4], DType.Bool, Device);
        var index = Tensor.Zeros([4], DType.Int64, Device);
        long launches = Gpu.PtxLaunches;
        Assert.Throws<DTypeException>(() => Gpu.ScatterAdd(dst.View("t"), index.View("t"), dst.View("t"), 0));
        Assert.Throws<DTypeException>(() => Gpu.IndexAdd(dst.View("t"), index.View("t"), dst.View("t"), 0));
        Assert.Throws<DTypeException>(() => Cpu.ScatterAdd(dst.To(Device.Cpu).View("t"), index.To(Device.Cpu).View("t"), dst.To(Device.Cpu).View("t"), 0));
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches), "nothing launched");
    }

    /// <summary>The tensor API with negative dims, forward and backward (gather's backward is scatter_add, index_select's index_add).</summary>
    [Test]
    public void TensorOpsWithNegativeDimsAndTheirGradientsMatchCpu()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        long launches = Gpu.PtxLaunches;
        var before = new Dictionary<string, long>(Gpu.CpuFallbackOps);
        for (int rank = 1; rank <= 4; rank++)
            for (int dim = -rank; dim < 0; dim++)
            {
                int d = dim + rank;
                var shape = RandomShape(r, rank);
                var x = Tensor.Randn(shape, DType.Float64, g);
                var ex = x.To(Device);
                var idxShape = shape.Select(s => (long)r.Next(1, (int)s + 1)).ToArray();
                idxShape[d] = r.Next(1, 8);
                var index = Indices(g, idxShape, shape[d]);
                var eindex = index.To(Device);
                string what = $"rank {rank} dim {dim} shape {ShapeUtil.Format(shape)} index {ShapeUtil.Format(idxShape)}";

                var cl = x.Clone().RequiresGrad_();
                var el = ex.Clone().RequiresGrad_();
                var cg = cl.Gather(dim, index);
                var eg = el.Gather(dim, eindex);
                AssertEqual(eg, cg, "gather " + what);
                var w = Tensor.Randn(idxShape, DType.Float64, g);
                (cg * w).Sum().Backward();
                (eg * w.To(Device)).Sum().Backward();
                TestUtil.AssertClose(el.Grad!, cl.Grad!, 1e-12, 1e-12);

                var src = Tensor.Randn(idxShape, DType.Float64, g);
                TestUtil.AssertClose(ex.ScatterAdd(dim, eindex, src.To(Device)), x.ScatterAdd(dim, index, src), 1e-12, 1e-12);

                var sel = Indices(g, [r.Next(0, 8)], shape[d]);
                var cl2 = x.Clone().RequiresGrad_();
                var el2 = ex.Clone().RequiresGrad_();
                var cs = cl2.IndexSelect(dim, sel);
                var es = el2.IndexSelect(dim, sel.To(Device));
                AssertEqual(es, cs, "index_select " + what);
                var w2 = Tensor.Randn(cs.Shape, DType.Float64, g);
                (cs * w2).Sum().Backward();
                (es * w2.To(Device)).Sum().Backward();
                TestUtil.AssertClose(el2.Grad!, cl2.Grad!, 1e-12, 1e-12);
            }
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
        var fellBack = Gpu.CpuFallbackOps.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key)).Select(kv => kv.Key).ToArray();
        Assert.That(fellBack, Is.SubsetOf(new[] { "Min", "Max", "Sum" }), "only the reductions (index checks, the loss) may run on the CPU");
    }

    [Test]
    public void OneHotMaskedFillAndWhereRunAsPtx()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var classes = Tensor.RandInt(0, 7, [5, 3], DType.Int64, g);
        var eclasses = classes.To(Device);

        // one_hot checks its indices with min/max (reductions, another op family, which may still run on the CPU):
        // nothing else may fall back.
        var before = new Dictionary<string, long>(Gpu.CpuFallbackOps);
        long launches = Gpu.PtxLaunches;
        var eh = eclasses.OneHot(9);
        var fellBack = Gpu.CpuFallbackOps.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key)).Select(kv => kv.Key).ToArray();
        Assert.That(fellBack, Is.SubsetOf(new[] { "Min", "Max" }), "one_hot itself runs on PTX");
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
        AssertEqual(eh, classes.OneHot(9), "one_hot");

        var x = Tensor.Randn([4, 6], DType.Float32, g);
        var mask = Tensor.Bernoulli([1, 6], 0.5, DType.Bool, g);
        var y = Tensor.Randn([4, 1], DType.Float32, g);
        var (ex, emask, ey) = (x.To(Device), mask.To(Device), y.To(Device));
        launches = Gpu.PtxLaunches;
        long fallbacks = Gpu.CpuFallbacks;
        var ef = ex.MaskedFill(emask, -2.5);
        var ew = Tensor.Where(emask, ex, ey);
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "masked_fill and where run on PTX");
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
        AssertEqual(ef, x.MaskedFill(mask, -2.5), "masked_fill");
        AssertEqual(ew, Tensor.Where(mask, x, y), "where");
    }
}
