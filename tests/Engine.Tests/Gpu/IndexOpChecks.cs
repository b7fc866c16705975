using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The index ops of a GPU backend (gather, index_select, scatter_add, index_add) against the CPU backend on the same
/// inputs: random ragged shapes of rank 1–4, every dim, permuted and stepped (non-contiguous) src, index and dst,
/// repeated and empty indices; each call must launch PTX and never fall back to the CPU. Used by
/// <see cref="IndexKernelTests"/> on each GPU device (small sizes on the emulator, larger ones on a GPU).
/// </summary>
internal static class IndexOpChecks
{
    private static IBackend Cpu => Backends.For(Device.Cpu);

    internal static long[] RandomShape(Random r, int rank, int max = 6) => [.. Enumerable.Range(0, rank).Select(_ => (long)r.Next(1, max + 1))];

    /// <summary>
    /// A tensor of logical shape <paramref name="shape"/> in a random layout (contiguous; a permutation of a contiguous
    /// base; every other element along one dim of a longer base), on the CPU and the same values and layout on
    /// <paramref name="dev"/>. <paramref name="make"/> fills the CPU base of the given shape.
    /// </summary>
    internal static (Tensor Cpu, Tensor Dev, string Layout) Laid(Device dev, Random r, long[] shape, Func<long[], Tensor> make)
    {
        int rank = shape.Length, kind = r.Next(3);
        if (kind == 1 && rank > 1)
        {
            var perm = Enumerable.Range(0, rank).OrderBy(_ => r.Next()).ToArray();   // base dim i holds view dim perm[i]
            var inv = new int[rank];
            for (int i = 0; i < rank; i++) inv[perm[i]] = i;
            var b = make([.. perm.Select(p => shape[p])]);
            return (b.Permute(inv), b.To(dev).Permute(inv), $"permuted({string.Join(",", inv)})");
        }
        if (kind == 2)
        {
            int d = r.Next(rank);
            var bs = (long[])shape.Clone();
            bs[d] = shape[d] * 2 + 1;
            var b = make(bs);
            return (b.Slice(d, 1, bs[d], 2), b.To(dev).Slice(d, 1, bs[d], 2), $"step 2 along {d}");
        }
        var c = make(shape);
        return (c, c.To(dev), "contiguous");
    }

    internal static Tensor Indices(Generator g, long[] shape, long size) => Tensor.RandInt(0, size, shape, DType.Int64, g);

    /// <summary>Exact equality (the bits moved or integer sums).</summary>
    internal static void AssertEqual(Tensor emu, Tensor cpu, string what)
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
    internal static void AssertSumClose(Tensor emu, Tensor cpu, Tensor bound, long n, string what)
    {
        double eps = cpu.DType == DType.Float32 ? Math.Pow(2, -24) : Math.Pow(2, -53);
        double[] a = emu.ToDoubleArray(), x = cpu.ToDoubleArray(), b = bound.ToDoubleArray();
        for (int i = 0; i < a.Length; i++)
        {
            double tol = 2 * (n + 1) * eps * b[i];
            if (!(Math.Abs(a[i] - x[i]) <= tol)) Assert.Fail($"{what}: element {i}: emulated {a[i]:R}, cpu {x[i]:R} (tolerance {tol:G3})");
        }
    }

    /// <summary>Runs <paramref name="call"/> on <paramref name="gpu"/>, asserting it launched exactly <paramref name="launches"/> PTX kernels and fell back to the CPU never.</summary>
    internal static void OnPtx(GpuBackend gpu, string what, long launches, Action call)
    {
        long l0 = gpu.PtxLaunches, f0 = gpu.CpuFallbacks;
        call();
        Assert.That(gpu.CpuFallbacks, Is.EqualTo(f0), $"{what}: no CPU fallback");
        Assert.That(gpu.PtxLaunches - l0, Is.EqualTo(launches), $"{what}: PTX launches");
    }

    /// <summary>(rank, dim) for every dim of ranks 1–4.</summary>
    internal static IEnumerable<(int Rank, int Dim)> RanksAndDims() =>
        Enumerable.Range(1, 4).SelectMany(rank => Enumerable.Range(0, rank).Select(dim => (rank, dim)));

    /// <summary>Gather on <paramref name="dev"/> against the CPU: ranks 1–4, every dim, sizes up to <paramref name="max"/>.</summary>
    public static void Gather(Device dev, DType dt, int max)
    {
        using var scope = Tensor.NewDisposeScope();
        var gpu = (GpuBackend)Backends.For(dev);
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        foreach (var (rank, dim) in RanksAndDims())
            foreach (bool empty in new[] { false, true })
            {
                var srcShape = RandomShape(r, rank, max);
                var idxShape = srcShape.Select(s => (long)r.Next(1, (int)s + 1)).ToArray();
                idxShape[dim] = empty ? 0 : r.Next(1, max + 3);   // longer than src along dim too: indices repeat
                var (cs, ds, sl) = Laid(dev, r, srcShape, s => TestUtil.Values(g, s, dt));
                var (ci, di, il) = Laid(dev, r, idxShape, s => Indices(g, s, srcShape[dim]));
                var (cd, dd, dl) = Laid(dev, r, idxShape, s => Tensor.Zeros(s, dt));
                string what = $"gather {dt.Name()} dim {dim} of src {ShapeUtil.Format(srcShape)} ({sl}), index {ShapeUtil.Format(idxShape)} ({il}), dst ({dl})";
                Cpu.Gather(cd.View("t"), cs.View("t"), ci.View("t"), dim);
                OnPtx(gpu, what, empty ? 0 : 1, () => gpu.Gather(dd.View("t"), ds.View("t"), di.View("t"), dim));
                AssertEqual(dd, cd, what);
            }
    }

    /// <summary>IndexSelect on <paramref name="dev"/> against the CPU: ranks 1–4, every dim, sizes up to <paramref name="max"/>.</summary>
    public static void IndexSelect(Device dev, DType dt, int max)
    {
        using var scope = Tensor.NewDisposeScope();
        var gpu = (GpuBackend)Backends.For(dev);
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        foreach (var (rank, dim) in RanksAndDims())
            foreach (bool empty in new[] { false, true })
            {
                var srcShape = RandomShape(r, rank, max);
                long n = empty ? 0 : r.Next(1, max + 3);
                var dstShape = (long[])srcShape.Clone();
                dstShape[dim] = n;
                var (cs, ds, sl) = Laid(dev, r, srcShape, s => TestUtil.Values(g, s, dt));
                var (ci, di, il) = Laid(dev, r, [n], s => Indices(g, s, srcShape[dim]));
                var (cd, dd, dl) = Laid(dev, r, dstShape, s => Tensor.Zeros(s, dt));
                string what = $"index_select {dt.Name()} dim {dim} of src {ShapeUtil.Format(srcShape)} ({sl}), {n} indices ({il}), dst ({dl})";
                Cpu.IndexSelect(cd.View("t"), cs.View("t"), ci.View("t"), dim);
                OnPtx(gpu, what, empty ? 0 : 1, () => gpu.IndexSelect(dd.View("t"), ds.View("t"), di.View("t"), dim));
                AssertEqual(dd, cd, what);
            }
    }

    /// <summary>ScatterAdd on <paramref name="dev"/> against the CPU: ranks 1–4, every dim, sizes up to <paramref name="max"/>.</summary>
    public static void ScatterAdd(Device dev, DType dt, int max)
    {
        using var scope = Tensor.NewDisposeScope();
        var gpu = (GpuBackend)Backends.For(dev);
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        foreach (var (rank, dim) in RanksAndDims())
            foreach (string kind in new[] { "random", "one hot index", "empty" })
            {
                var dstShape = RandomShape(r, rank, max);
                var idxShape = dstShape.Select(s => (long)r.Next(1, (int)s + 1)).ToArray();
                idxShape[dim] = kind == "empty" ? 0 : r.Next(1, 2 * max + 1);   // often longer than dst along dim: indices repeat
                long hot = r.Next((int)dstShape[dim]);
                var (cd, dd, dl) = Laid(dev, r, dstShape, s => TestUtil.Values(g, s, dt));
                var (cs, ds, sl) = Laid(dev, r, idxShape, s => TestUtil.Values(g, s, dt));
                var (ci, di, il) = Laid(dev, r, idxShape, s => kind == "one hot index" ? Tensor.Full(s, hot, DType.Int64) : Indices(g, s, dstShape[dim]));
                var dst0 = cd.Clone();
                string what = $"scatter_add {dt.Name()} dim {dim} into dst {ShapeUtil.Format(dstShape)} ({dl}), index {ShapeUtil.Format(idxShape)} {kind} ({il}), src ({sl})";
                Cpu.ScatterAdd(cd.View("t"), ci.View("t"), cs.View("t"), dim);
                OnPtx(gpu, what, kind == "empty" ? 0 : 1, () => gpu.ScatterAdd(dd.View("t"), di.View("t"), ds.View("t"), dim));
                if (dt.IsFloatingPoint())
                {
                    var bound = dst0.Abs();
                    Cpu.ScatterAdd(bound.View("t"), ci.View("t"), cs.Abs().View("t"), dim);
                    AssertSumClose(dd, cd, bound, idxShape[dim], what);
                }
                else AssertEqual(dd, cd, what);
            }
    }

    /// <summary>IndexAdd on <paramref name="dev"/> against the CPU: ranks 1–4, every dim, sizes up to <paramref name="max"/>.</summary>
    public static void IndexAdd(Device dev, DType dt, int max)
    {
        using var scope = Tensor.NewDisposeScope();
        var gpu = (GpuBackend)Backends.For(dev);
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        foreach (var (rank, dim) in RanksAndDims())
            foreach (string kind in new[] { "random", "one hot index", "empty" })
            {
                var dstShape = RandomShape(r, rank, max);
                long n = kind == "empty" ? 0 : r.Next(1, 2 * max + 1);
                var srcShape = (long[])dstShape.Clone();
                srcShape[dim] = n;
                long hot = r.Next((int)dstShape[dim]);
                var (cd, dd, dl) = Laid(dev, r, dstShape, s => TestUtil.Values(g, s, dt));
                var (cs, ds, sl) = Laid(dev, r, srcShape, s => TestUtil.Values(g, s, dt));
                var (ci, di, il) = Laid(dev, r, [n], s => kind == "one hot index" ? Tensor.Full(s, hot, DType.Int64) : Indices(g, s, dstShape[dim]));
                var dst0 = cd.Clone();
                string what = $"index_add {dt.Name()} dim {dim} into dst {ShapeUtil.Format(dstShape)} ({dl}), {n} indices {kind} ({il}), src ({sl})";
                Cpu.IndexAdd(cd.View("t"), ci.View("t"), cs.View("t"), dim);
                OnPtx(gpu, what, kind == "empty" ? 0 : 1, () => gpu.IndexAdd(dd.View("t"), di.View("t"), ds.View("t"), dim));
                if (dt.IsFloatingPoint())
                {
                    var bound = dst0.Abs();
                    Cpu.IndexAdd(bound.View("t"), ci.View("t"), cs.Abs().View("t"), dim);
                    AssertSumClose(dd, cd, bound, n, what);
                }
                else AssertEqual(dd, cd, what);
            }
    }
}
