using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Emulated;

/// <summary>
/// The index kernels of the GPU backend (gather, scatter_add, index_select, index_add; GpuBackend.Index.cs) on
/// <see cref="Device.Emulated"/> against the CPU backend: every dtype the CPU supports, random ragged shapes of rank 1–4,
/// every dim, permuted and stepped (non-contiguous) src, index and dst, repeated and empty indices; the row-copy
/// index_select; negative dims and backward through the tensor API; one_hot, masked_fill and where on PTX.
/// </summary>
[NonParallelizable]
public class IndexKernelTests
{
    private static readonly Device Emu = Device.Emulated;
    private static IBackend Cpu => Backends.For(Device.Cpu);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Emu);

    public static readonly DType[] AllTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool];

    /// <summary>The dtypes the CPU's scatter_add and index_add support (not bool).</summary>
    public static readonly DType[] AddTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8];

    private static Random Rng() => new((int)TestContext.CurrentContext.Random.NextUInt());

    private static long[] RandomShape(Random r, int rank) => [.. Enumerable.Range(0, rank).Select(_ => (long)r.Next(1, 7))];

    /// <summary>Random contents of <paramref name="dt"/>: normals for floats, wide integers (uint8 over its whole range, so sums wrap).</summary>
    private static Tensor Values(Generator g, long[] shape, DType dt) => dt switch
    {
        DType.Float32 or DType.Float64 => (Tensor.Randn(shape, DType.Float64, g) * 3).To(dt),
        DType.Bool => Tensor.Bernoulli(shape, 0.5, DType.Bool, g),
        DType.UInt8 => Tensor.RandInt(0, 256, shape, DType.Int64, g).To(dt),
        _ => Tensor.RandInt(-1000, 1000, shape, DType.Int64, g).To(dt),
    };

    /// <summary>
    /// A tensor of logical shape <paramref name="shape"/> in a random layout (contiguous; a permutation of a contiguous
    /// base; every other element along one dim of a longer base), on the CPU and the same values and layout on the
    /// emulated device. <paramref name="make"/> fills the CPU base of the given shape.
    /// </summary>
    private static (Tensor Cpu, Tensor Emu, string Layout) Laid(Random r, long[] shape, Func<long[], Tensor> make)
    {
        int rank = shape.Length, kind = r.Next(3);
        if (kind == 1 && rank > 1)
        {
            var perm = Enumerable.Range(0, rank).OrderBy(_ => r.Next()).ToArray();   // base dim i holds view dim perm[i]
            var inv = new int[rank];
            for (int i = 0; i < rank; i++) inv[perm[i]] = i;
            var b = make([.. perm.Select(p => shape[p])]);
            return (b.Permute(inv), b.To(Emu).Permute(inv), $"permuted({string.Join(",", inv)})");
        }
        if (kind == 2)
        {
            int d = r.Next(rank);
            var bs = (long[])shape.Clone();
            bs[d] = shape[d] * 2 + 1;
            var b = make(bs);
            return (b.Slice(d, 1, bs[d], 2), b.To(Emu).Slice(d, 1, bs[d], 2), $"step 2 along {d}");
        }
        var c = make(shape);
        return (c, c.To(Emu), "contiguous");
    }

    private static Tensor Indices(Generator g, long[] shape, long size) => Tensor.RandInt(0, size, shape, DType.Int64, g);

    /// <summary>Exact equality (the bits moved or integer sums).</summary>
    private static void AssertEqual(Tensor emu, Tensor cpu, string what)
    {
        Assert.That(emu.Shape, Is.EqualTo(cpu.Shape), what);
        double[] a = emu.ToDoubleArray(), x = cpu.ToDoubleArray();
        for (int i = 0; i < a.Length; i++)
            if (!(a[i] == x[i] || (double.IsNaN(a[i]) && double.IsNaN(x[i])))) Assert.Fail($"{what}: element {i}: emulated {a[i]:R}, cpu {x[i]:R}");
    }

    /// <summary>
    /// Float sums in another order: |emulated − cpu| ≤ 2 (n + 1) ε · bound, with n the most terms one element can
    /// receive and bound the same sum over absolute values (the standard error bound of recursive summation).
    /// </summary>
    private static void AssertSumClose(Tensor emu, Tensor cpu, Tensor bound, long n, string what)
    {
        double eps = cpu.DType == DType.Float32 ? Math.Pow(2, -24) : Math.Pow(2, -53);
        double[] a = emu.ToDoubleArray(), x = cpu.ToDoubleArray(), b = bound.ToDoubleArray();
        for (int i = 0; i < a.Length; i++)
        {
            double tol = 2 * (n + 1) * eps * b[i];
            if (!(Math.Abs(a[i] - x[i]) <= tol)) Assert.Fail($"{what}: element {i}: emulated {a[i]:R}, cpu {x[i]:R} (tolerance {tol:G3})");
        }
    }

    /// <summary>Runs <paramref name="call"/> on the emulated backend, asserting it launched exactly <paramref name="launches"/> PTX kernels and fell back to the CPU never.</summary>
    private static void OnPtx(string what, long launches, Action call)
    {
        long l0 = Gpu.PtxLaunches, f0 = Gpu.CpuFallbacks;
        call();
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(f0), $"{what}: no CPU fallback");
        Assert.That(Gpu.PtxLaunches - l0, Is.EqualTo(launches), $"{what}: PTX launches");
    }

    /// <summary>(rank, dim) for every dim of ranks 1–4.</summary>
    private static IEnumerable<(int Rank, int Dim)> RanksAndDims() =>
        Enumerable.Range(1, 4).SelectMany(rank => Enumerable.Range(0, rank).Select(dim => (rank, dim)));

    [TestCaseSource(nameof(AllTypes))]
    public void GatherMatchesCpu(DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = Rng();
        foreach (var (rank, dim) in RanksAndDims())
            foreach (bool empty in new[] { false, true })
            {
                var srcShape = RandomShape(r, rank);
                var idxShape = srcShape.Select(s => (long)r.Next(1, (int)s + 1)).ToArray();
                idxShape[dim] = empty ? 0 : r.Next(1, 9);   // longer than src along dim too: indices repeat
                var (cs, es, sl) = Laid(r, srcShape, s => Values(g, s, dt));
                var (ci, ei, il) = Laid(r, idxShape, s => Indices(g, s, srcShape[dim]));
                var (cd, ed, dl) = Laid(r, idxShape, s => Tensor.Zeros(s, dt));
                string what = $"gather {dt.Name()} dim {dim} of src {ShapeUtil.Format(srcShape)} ({sl}), index {ShapeUtil.Format(idxShape)} ({il}), dst ({dl})";
                Cpu.Gather(cd.View("t"), cs.View("t"), ci.View("t"), dim);
                OnPtx(what, empty ? 0 : 1, () => Gpu.Gather(ed.View("t"), es.View("t"), ei.View("t"), dim));
                AssertEqual(ed, cd, what);
            }
    }

    [TestCaseSource(nameof(AllTypes))]
    public void IndexSelectMatchesCpu(DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = Rng();
        foreach (var (rank, dim) in RanksAndDims())
            foreach (bool empty in new[] { false, true })
            {
                var srcShape = RandomShape(r, rank);
                long n = empty ? 0 : r.Next(1, 9);
                var dstShape = (long[])srcShape.Clone();
                dstShape[dim] = n;
                var (cs, es, sl) = Laid(r, srcShape, s => Values(g, s, dt));
                var (ci, ei, il) = Laid(r, [n], s => Indices(g, s, srcShape[dim]));
                var (cd, ed, dl) = Laid(r, dstShape, s => Tensor.Zeros(s, dt));
                string what = $"index_select {dt.Name()} dim {dim} of src {ShapeUtil.Format(srcShape)} ({sl}), {n} indices ({il}), dst ({dl})";
                Cpu.IndexSelect(cd.View("t"), cs.View("t"), ci.View("t"), dim);
                OnPtx(what, empty ? 0 : 1, () => Gpu.IndexSelect(ed.View("t"), es.View("t"), ei.View("t"), dim));
                AssertEqual(ed, cd, what);
            }
    }

    [TestCaseSource(nameof(AddTypes))]
    public void ScatterAddMatchesCpu(DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = Rng();
        foreach (var (rank, dim) in RanksAndDims())
            foreach (string kind in new[] { "random", "one hot index", "empty" })
            {
                var dstShape = RandomShape(r, rank);
                var idxShape = dstShape.Select(s => (long)r.Next(1, (int)s + 1)).ToArray();
                idxShape[dim] = kind == "empty" ? 0 : r.Next(1, 13);   // often longer than dst along dim: indices repeat
                long hot = r.Next((int)dstShape[dim]);
                var (cd, ed, dl) = Laid(r, dstShape, s => Values(g, s, dt));
                var (cs, es, sl) = Laid(r, idxShape, s => Values(g, s, dt));
                var (ci, ei, il) = Laid(r, idxShape, s => kind == "one hot index" ? Tensor.Full(s, hot, DType.Int64) : Indices(g, s, dstShape[dim]));
                var dst0 = cd.Clone();
                string what = $"scatter_add {dt.Name()} dim {dim} into dst {ShapeUtil.Format(dstShape)} ({dl}), index {ShapeUtil.Format(idxShape)} {kind} ({il}), src ({sl})";
                Cpu.ScatterAdd(cd.View("t"), ci.View("t"), cs.View("t"), dim);
                OnPtx(what, kind == "empty" ? 0 : 1, () => Gpu.ScatterAdd(ed.View("t"), ei.View("t"), es.View("t"), dim));
                if (dt.IsFloatingPoint())
                {
                    var bound = dst0.Abs();
                    Cpu.ScatterAdd(bound.View("t"), ci.View("t"), cs.Abs().View("t"), dim);
                    AssertSumClose(ed, cd, bound, idxShape[dim], what);
                }
                else AssertEqual(ed, cd, what);
            }
    }

    [TestCaseSource(nameof(AddTypes))]
    public void IndexAddMatchesCpu(DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = Rng();
        foreach (var (rank, dim) in RanksAndDims())
            foreach (string kind in new[] { "random", "one hot index", "empty" })
            {
                var dstShape = RandomShape(r, rank);
                long n = kind == "empty" ? 0 : r.Next(1, 13);
                var srcShape = (long[])dstShape.Clone();
                srcShape[dim] = n;
                long hot = r.Next((int)dstShape[dim]);
                var (cd, ed, dl) = Laid(r, dstShape, s => Values(g, s, dt));
                var (cs, es, sl) = Laid(r, srcShape, s => Values(g, s, dt));
                var (ci, ei, il) = Laid(r, [n], s => kind == "one hot index" ? Tensor.Full(s, hot, DType.Int64) : Indices(g, s, dstShape[dim]));
                var dst0 = cd.Clone();
                string what = $"index_add {dt.Name()} dim {dim} into dst {ShapeUtil.Format(dstShape)} ({dl}), {n} indices {kind} ({il}), src ({sl})";
                Cpu.IndexAdd(cd.View("t"), ci.View("t"), cs.View("t"), dim);
                OnPtx(what, kind == "empty" ? 0 : 1, () => Gpu.IndexAdd(ed.View("t"), ei.View("t"), es.View("t"), dim));
                if (dt.IsFloatingPoint())
                {
                    var bound = dst0.Abs();
                    Cpu.IndexAdd(bound.View("t"), ci.View("t"), cs.Abs().View("t"), dim);
                    AssertSumClose(ed, cd, bound, n, what);
                }
                else AssertEqual(ed, cd, what);
            }
    }

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
        var eb = cb.To(Emu);
        Tensor cs = narrowed ? cb.Narrow(-1, shape[^1], shape[^1]) : cb, es = narrowed ? eb.Narrow(-1, shape[^1], shape[^1]) : eb;
        long n = 50;
        var full = Indices(g, [2 * n], shape[dim]);                        // every other one: a strided index
        var ci = full.Slice(0, 0, 2 * n, 2);
        var ei = full.To(Emu).Slice(0, 0, 2 * n, 2);
        var dstShape = (long[])shape.Clone();
        dstShape[dim] = n;
        var cd = Tensor.Zeros(dstShape, dt);
        var ed = Tensor.Zeros(dstShape, dt, Emu);
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
        var r = Rng();
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
                var eg = Tensor.Empty(shape, dt, Emu);
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
        Assert.That(EmulatedRuntime.Shared.ModuleTexts.Keys, Has.Some.EndsWith("_w64"), "the 64-bit variants were built");
    }

    [Test]
    public void AnOutOfRangeIndexInADirectCallLeavesItsElementAlone()
    {
        // The tensor layer rejects such indices; the kernels still never touch memory outside the tensor.
        using var scope = Tensor.NewDisposeScope();
        var src = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]).To(Emu);
        var index = Tensor.FromArray(new long[] { 2, 3, -1, 0 }, [1, 4]).To(Emu);
        var dst = Tensor.Full([1, 4], -7, DType.Float32, Emu);
        Gpu.Gather(dst.View("t"), src.View("t"), index.View("t"), 1);
        Assert.That(dst.ToArray<float>(), Is.EqualTo(new float[] { 3, -7, -7, 1 }));
        var acc = Tensor.Zeros([2, 3], DType.Float32, Emu);
        Gpu.ScatterAdd(acc.View("t"), index.View("t"), Tensor.Ones([1, 4], DType.Float32, Emu).View("t"), 1);
        Assert.That(acc.ToArray<float>(), Is.EqualTo(new float[] { 1, 0, 1, 0, 0, 0 }));
        var rows = Tensor.Zeros([3, 3], DType.Float32, Emu);
        Gpu.IndexSelect(rows.View("t"), src.View("t"), Tensor.FromArray(new long[] { 1, 2, -5 }).To(Emu).View("t"), 0);
        Assert.That(rows.ToArray<float>(), Is.EqualTo(new float[] { 4, 5, 6, 0, 0, 0, 0, 0, 0 }));
    }

    [Test]
    public void ScatterAddOfBoolIsATypedErrorAsOnTheCpu()
    {
        using var scope = Tensor.NewDisposeScope();
        var dst = Tensor.Zeros([4], DType.Bool, Emu);
        var index = Tensor.Zeros([4], DType.Int64, Emu);
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
        var r = Rng();
        long launches = Gpu.PtxLaunches;
        for (int rank = 1; rank <= 4; rank++)
            for (int dim = -rank; dim < 0; dim++)
            {
                int d = dim + rank;
                var shape = RandomShape(r, rank);
                var x = Tensor.Randn(shape, DType.Float64, g);
                var ex = x.To(Emu);
                var idxShape = shape.Select(s => (long)r.Next(1, (int)s + 1)).ToArray();
                idxShape[d] = r.Next(1, 8);
                var index = Indices(g, idxShape, shape[d]);
                var eindex = index.To(Emu);
                string what = $"rank {rank} dim {dim} shape {ShapeUtil.Format(shape)} index {ShapeUtil.Format(idxShape)}";

                var cl = x.Clone().RequiresGrad_();
                var el = ex.Clone().RequiresGrad_();
                var cg = cl.Gather(dim, index);
                var eg = el.Gather(dim, eindex);
                AssertEqual(eg, cg, "gather " + what);
                var w = Tensor.Randn(idxShape, DType.Float64, g);
                (cg * w).Sum().Backward();
                (eg * w.To(Emu)).Sum().Backward();
                TestUtil.AssertClose(el.Grad!, cl.Grad!, 1e-12, 1e-12);

                var src = Tensor.Randn(idxShape, DType.Float64, g);
                TestUtil.AssertClose(ex.ScatterAdd(dim, eindex, src.To(Emu)), x.ScatterAdd(dim, index, src), 1e-12, 1e-12);

                var sel = Indices(g, [r.Next(0, 8)], shape[d]);
                var cl2 = x.Clone().RequiresGrad_();
                var el2 = ex.Clone().RequiresGrad_();
                var cs = cl2.IndexSelect(dim, sel);
                var es = el2.IndexSelect(dim, sel.To(Emu));
                AssertEqual(es, cs, "index_select " + what);
                var w2 = Tensor.Randn(cs.Shape, DType.Float64, g);
                (cs * w2).Sum().Backward();
                (es * w2.To(Emu)).Sum().Backward();
                TestUtil.AssertClose(el2.Grad!, cl2.Grad!, 1e-12, 1e-12);
            }
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
    }

    [Test]
    public void OneHotMaskedFillAndWhereRunAsPtx()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var classes = Tensor.RandInt(0, 7, [5, 3], DType.Int64, g);
        var eclasses = classes.To(Emu);

        // one_hot checks its indices with min/max (reductions, another op family): whatever those cost on the CPU is
        // allowed, nothing more.
        long f0 = Gpu.CpuFallbacks;
        using (eclasses.Min()) { }
        using (eclasses.Max()) { }
        long reductionFallbacks = Gpu.CpuFallbacks - f0;
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        var eh = eclasses.OneHot(9);
        Assert.That(Gpu.CpuFallbacks - fallbacks, Is.LessThanOrEqualTo(reductionFallbacks), "one_hot itself runs on PTX");
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
        AssertEqual(eh, classes.OneHot(9), "one_hot");

        var x = Tensor.Randn([4, 6], DType.Float32, g);
        var mask = Tensor.Bernoulli([1, 6], 0.5, DType.Bool, g);
        var y = Tensor.Randn([4, 1], DType.Float32, g);
        var (ex, emask, ey) = (x.To(Emu), mask.To(Emu), y.To(Emu));
        launches = Gpu.PtxLaunches;
        fallbacks = Gpu.CpuFallbacks;
        var ef = ex.MaskedFill(emask, -2.5);
        var ew = Tensor.Where(emask, ex, ey);
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "masked_fill and where run on PTX");
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
        AssertEqual(ef, x.MaskedFill(mask, -2.5), "masked_fill");
        AssertEqual(ew, Tensor.Where(mask, x, y), "where");
    }
}
