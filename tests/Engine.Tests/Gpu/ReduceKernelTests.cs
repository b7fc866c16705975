using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The generated reduction kernels (<see cref="GpuBackend.Reduce"/>, <see cref="GpuBackend.ArgReduce"/>) on
/// each GPU device against the CPU backend: every op and dtype, random ragged shapes of rank 1 to 4 (and, on a real
/// GPU, sizes the emulator cannot run), every subset of reduced dims, contiguous, permuted, sliced and broadcast
/// inputs, empty reductions, NaN and ±inf, ties, long reductions that take the block-per-output shape and the two-pass
/// (chunked) path, bit-identical results run to run, and the tensor API.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class ReduceKernelTests(TestDevice dev) : DeviceTests(dev)
{
    private static readonly DType[] AllTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool];

    public static IEnumerable<TestCaseData> OpsAndTypes() =>
        from op in new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min } from dt in AllTypes select new TestCaseData(op, dt);

    /// <summary>Random values of <paramref name="dt"/>: floats ~ 3·N(0,1); integers from a small range, so there are ties.</summary>
    private static Tensor Values(Generator g, long[] shape, DType dt) => dt switch
    {
        DType.Float32 or DType.Float64 => (Tensor.Randn(shape, DType.Float64, g) * 3).To(dt),
        DType.Int64 or DType.Int32 => Tensor.RandInt(-6, 7, shape, dt, g),
        DType.UInt8 => Tensor.RandInt(0, 256, shape, DType.UInt8, g),
        _ => Tensor.RandInt(0, 2, shape, DType.UInt8, g).To(DType.Bool),
    };

    private static readonly string[] LayoutNames = ["contiguous", "permuted", "sliced", "broadcast"];

    /// <summary>A CPU tensor of <paramref name="shape"/> in layout <paramref name="layout"/> and the same view on the device.</summary>
    private (Tensor Cpu, Tensor Dev) Input(Generator g, Random r, long[] shape, DType dt, int layout)
    {
        int rank = shape.Length;
        switch (layout)
        {
            case 1:
            {
                var perm = Enumerable.Range(0, rank).Reverse().ToArray();
                var b = Values(g, [.. shape.Reverse()], dt);
                return (b.Permute(perm), b.To(Device).Permute(perm));
            }
            case 2:
            {
                int d = r.Next(rank);
                var bs = (long[])shape.Clone();
                bs[d] = shape[d] * 2 + 1;
                var b = Values(g, bs, dt);
                return (b.Slice(d, 1, bs[d], 2), b.To(Device).Slice(d, 1, bs[d], 2));
            }
            case 3:
            {
                int d = r.Next(rank);
                var bs = (long[])shape.Clone();
                bs[d] = 1;
                var b = Values(g, bs, dt);
                return (b.Expand(shape), b.To(Device).Expand(shape));
            }
            default:
            {
                var b = Values(g, shape, dt);
                return (b, b.To(Device));
            }
        }
    }

    private static long[] RandomShape(Random r, int rank) => [.. Enumerable.Range(0, rank).Select(_ => (long)r.Next(1, 8))];

    /// <summary>A random shape of each rank 1 to 4, and on a real GPU the large <paramref name="gpuOnly"/> ones too.</summary>
    private List<long[]> Shapes(Random r, params long[][] gpuOnly)
    {
        var shapes = Enumerable.Range(1, 4).Select(rank => RandomShape(r, rank)).ToList();
        if (Dev.IsCuda) shapes.AddRange(gpuOnly);
        return shapes;
    }

    private static long[] KeepShape(long[] shape, int mask)
    {
        var k = (long[])shape.Clone();
        for (int d = 0; d < shape.Length; d++) if ((mask >> d & 1) != 0) k[d] = 1;
        return k;
    }

    /// <summary>Exact equality (NaN equal to NaN) for max/min/integers; for float sums a tolerance scaled by Σ|x| of each output.</summary>
    private static void AssertMatches(Tensor emu, Tensor cpu, Tensor? absSum, DType dt, string what)
    {
        var a = emu.ToDoubleArray();
        var e = cpu.ToDoubleArray();
        var s = absSum?.ToDoubleArray();
        Assert.That(a, Has.Length.EqualTo(e.Length), what);
        double rel = dt == DType.Float32 ? 1e-5 : 1e-12;
        for (int i = 0; i < a.Length; i++)
        {
            bool ok = (double.IsNaN(a[i]) && double.IsNaN(e[i])) || a[i] == e[i]
                || (s is not null && Math.Abs(a[i] - e[i]) <= rel * s[i] + 1e-30);
            Assert.That(ok, $"{what}: element {i}: got {a[i]:R}, CPU {e[i]:R}");
        }
    }

    private void CheckReduce(ReduceOp op, Tensor c, Tensor e, long[] keep, string what)
    {
        var co = Tensor.Empty(keep, c.DType, Device.Cpu);
        var eo = Tensor.Empty(keep, c.DType, Device);
        Cpu.Reduce(op, co.View("t"), c.View("t"));
        Gpu.Reduce(op, eo.View("t"), e.View("t"));
        Tensor? abs = null;
        if (op == ReduceOp.Sum && c.DType is DType.Float32 or DType.Float64)
        {
            abs = Tensor.Empty(keep, DType.Float64, Device.Cpu);
            using var a = c.To(DType.Float64).Abs();
            Cpu.Reduce(ReduceOp.Sum, abs.View("t"), a.View("t"));
        }
        AssertMatches(eo, co, abs, c.DType, what);
    }

    [TestCaseSource(nameof(OpsAndTypes))]
    public void ReduceOverEverySubsetOfDimsMatchesCpu(ReduceOp op, DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
        int runs = 0;
        foreach (var shape in Shapes(r, [37, 301, 129]))
        {
            int rank = shape.Length;
            for (int mask = 0; mask < 1 << rank; mask++)
                for (int layout = 0; layout < LayoutNames.Length; layout++)
                {
                    var (c, e) = Input(g, r, shape, dt, layout);
                    CheckReduce(op, c, e, KeepShape(shape, mask), $"{op} {dt.Name()} {LayoutNames[layout]} {ShapeUtil.Format(shape)} reduced mask {mask}");
                    runs++;
                }
        }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no reduction fell back to the CPU");
        Assert.That(Gpu.PtxLaunches - launches, Is.GreaterThanOrEqualTo(runs), "every reduction launched a PTX kernel");
    }

    [TestCaseSource(nameof(OpsAndTypes))]
    public void EmptyReductionsGiveTheIdentity(ReduceOp op, DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        foreach (var (shape, keep) in new (long[], long[])[] { ([3, 0, 4], [3, 1, 4]), ([0], [1]), ([2, 0], [1, 1]), ([0, 5], [0, 1]) })
        {
            var c = Values(g, shape, dt);
            CheckReduce(op, c, c.To(Device), keep, $"{op} {dt.Name()} {ShapeUtil.Format(shape)} -> {ShapeUtil.Format(keep)}");
        }
    }

    public static IEnumerable<TestCaseData> ArgCases() => from max in new[] { true, false } from dt in AllTypes select new TestCaseData(max, dt);

    private void CheckArg(bool max, Tensor c, Tensor e, int dim, string what)
    {
        var keep = (long[])c.Shape.Clone();
        keep[dim] = 1;
        var cv = Tensor.Empty(keep, c.DType, Device.Cpu);
        var ci = Tensor.Empty(keep, DType.Int64, Device.Cpu);
        var ev = Tensor.Empty(keep, c.DType, Device);
        var ei = Tensor.Empty(keep, DType.Int64, Device);
        Cpu.ArgReduce(max, cv.View("t"), ci.View("t"), c.View("t"), dim);
        Gpu.ArgReduce(max, ev.View("t"), ei.View("t"), e.View("t"), dim);
        Assert.That(ei.ToArray<long>(), Is.EqualTo(ci.ToArray<long>()), what + " indices");
        AssertMatches(ev, cv, null, c.DType, what + " values");
    }

    [TestCaseSource(nameof(ArgCases))]
    public void ArgReduceAlongEveryDimMatchesCpu(bool max, DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
        int runs = 0;
        foreach (var shape in Shapes(r, [1 << 22], [64, 50_001], [50_001, 64], [17, 33, 65]))
        {
            int rank = shape.Length;
            for (int dim = 0; dim < rank; dim++)
                for (int layout = 0; layout < LayoutNames.Length; layout++)
                {
                    var (c, e) = Input(g, r, shape, dt, layout);
                    CheckArg(max, c, e, dim, $"{(max ? "argmax" : "argmin")} {dt.Name()} {LayoutNames[layout]} {ShapeUtil.Format(shape)} dim {dim}");
                    runs++;
                }
        }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no arg-reduction fell back to the CPU");
        Assert.That(Gpu.PtxLaunches - launches, Is.GreaterThanOrEqualTo(runs));
    }

    /// <summary>Floats with NaN, +inf and −inf sprinkled in (some rows all NaN, some with several).</summary>
    private static Tensor Special(Random r, long[] shape, DType dt, double pNaN)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var v = new double[n];
        for (long i = 0; i < n; i++)
        {
            double u = r.NextDouble();
            v[i] = u < pNaN ? double.NaN : u < pNaN + 0.05 ? double.PositiveInfinity : u < pNaN + 0.1 ? double.NegativeInfinity
                : Math.Round(r.NextDouble() * 8 - 4, 1);   // one decimal: ties
        }
        return Tensor.FromArray(v, shape).To(dt);   // the caller's dispose scope frees both
    }

    [Test]
    public void NaNAndInfinityFollowTheCpuRules([Values(DType.Float32, DType.Float64)] DType dt, [Values(0.02, 0.3)] double pNaN)
    {
        using var scope = Tensor.NewDisposeScope();
        var r = TestUtil.Rng();
        foreach (var shape in new long[][] { [6, 37], [37, 6], [3, 5, 70] })
        {
            var c = Special(r, shape, dt, pNaN);
            var e = c.To(Device);
            for (int d = 0; d < shape.Length; d++)
            {
                var keep = (long[])shape.Clone();
                keep[d] = 1;
                foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min })
                {
                    // a sum with infinities of both signs or NaN is NaN; finite sums agree to rounding
                    var co = Tensor.Empty(keep, dt, Device.Cpu);
                    var eo = Tensor.Empty(keep, dt, Device);
                    Cpu.Reduce(op, co.View("t"), c.View("t"));
                    Gpu.Reduce(op, eo.View("t"), e.View("t"));
                    var a = eo.ToDoubleArray();
                    var x = co.ToDoubleArray();
                    for (int i = 0; i < a.Length; i++)
                        Assert.That(double.IsNaN(a[i]) ? double.IsNaN(x[i]) : Math.Abs(a[i] - x[i]) <= 1e-4 * Math.Max(1, Math.Abs(x[i])) || a[i] == x[i],
                            $"{op} {dt.Name()} {ShapeUtil.Format(shape)} dim {d} element {i}: got {a[i]}, CPU {x[i]}");
                }
                CheckArg(true, c, e, d, $"argmax {ShapeUtil.Format(shape)} dim {d}");
                CheckArg(false, c, e, d, $"argmin {ShapeUtil.Format(shape)} dim {d}");
            }
        }
    }

    /// <summary>
    /// Long reductions with few outputs: the block-per-output shape, chunks with a second pass (thread, warp and
    /// block shapes), and the same bits on a second run.
    /// </summary>
    [Test]
    public void LongReductionsTakeTheChunkedPathsAndAreDeterministic([Values(DType.Float32, DType.Float64, DType.Int64, DType.UInt8)] DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long launches = Gpu.PtxLaunches;
        foreach (var (shape, keep) in Dev.Pick(new (long[], long[])[]
        {
            ([3, 5000], [3, 1]),        // block per output, 2 chunks, then a warp pass
            ([12003], [1]),             // full reduction: 3 chunks of a block each
            ([5, 301], [5, 1]),         // warp per output, four loads per trip and a tail
            ([300, 3], [1, 3]),         // thread per output over an outer dim: 5 chunks, then a thread pass
            ([2, 150, 2, 3], [1, 150, 1, 3]),
        }, [([1 << 24], [1]), ([3, 3_000_001], [3, 1]), ([1_000_003, 5], [1, 5]), ([8192, 1000], [8192, 1]), ([1000, 8192], [1, 8192])]))
        {
            var c = Values(g, shape, dt);
            var e = c.To(Device);
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min })
            {
                CheckReduce(op, c, e, keep, $"{op} {dt.Name()} {ShapeUtil.Format(shape)}");
                var a = Tensor.Empty(keep, dt, Device);
                var b = Tensor.Empty(keep, dt, Device);
                Gpu.Reduce(op, a.View("t"), e.View("t"));
                Gpu.Reduce(op, b.View("t"), e.View("t"));
                Assert.That(b.ToDoubleArray(), Is.EqualTo(a.ToDoubleArray()), "bit-identical on a second run");
            }
            for (int d = 0; d < shape.Length; d++)
                if (keep[d] == 1 && shape[d] > 1)
                {
                    CheckArg(true, c, e, d, $"argmax {dt.Name()} {ShapeUtil.Format(shape)} dim {d}");
                    CheckArg(false, c, e, d, $"argmin {dt.Name()} {ShapeUtil.Format(shape)} dim {d}");
                }
        }
        Assert.That(Gpu.PtxLaunches - launches, Is.GreaterThan(40), "the chunked reductions ran two launches each");
    }

    [Test]
    public void ArgMaxFindsTheFirstOfTiesAcrossChunks()
    {
        using var scope = Tensor.NewDisposeScope();
        var r = TestUtil.Rng();
        int n = 9000;
        var v = new float[n];
        int first = r.Next(n / 3), second = r.Next(n / 3, n);
        v[first] = 5; v[second] = 5;                 // the maximum twice
        v[n - 1 - first] = -5; v[Math.Min(n - 1, n - 1 - first + 7)] = -5;
        var c = Tensor.FromArray(v);
        var e = c.To(Device);
        Assert.That((long)e.ArgMax().Item(), Is.EqualTo(first));
        Assert.That((long)e.ArgMin().Item(), Is.EqualTo(Math.Min(n - 1 - first, Math.Min(n - 1, n - 1 - first + 7))));
        v[second + (second < n - 1 ? 1 : -1)] = float.NaN;
        int nan = second + (second < n - 1 ? 1 : -1);
        using var cn = Tensor.FromArray(v);
        using var en = cn.To(Device);
        Assert.That((long)en.ArgMax().Item(), Is.EqualTo(nan), "NaN counts as the maximum");
        Assert.That((long)en.ArgMin().Item(), Is.EqualTo(nan), "and as the minimum");
    }

    [Test]
    public void TheTensorApiRunsOnTheReductionKernels()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
        var c = Tensor.Randn(Dev.Pick<long[]>([5, 7, 33], [64, 513, 7]), DType.Float32, g);
        var e = c.To(Device);
        var ct = c.Transpose(0, 2);
        var et = e.Transpose(0, 2);
        TestUtil.AssertClose(e.Sum(), c.Sum(), Dev.Pick(1e-5, 1e-3), 1e-5);
        TestUtil.AssertClose(e.Sum(1), c.Sum(1), 1e-5, 1e-5);
        TestUtil.AssertClose(et.Sum([0, 2], keepDim: true), ct.Sum([0, 2], keepDim: true), 1e-5, 1e-5);
        TestUtil.AssertClose(e.Mean(2), c.Mean(2), 1e-6, 1e-5);
        TestUtil.AssertClose(e.Var([0, 1]), c.Var([0, 1]), 1e-5, 1e-5);
        TestUtil.AssertClose(e.Std(), c.Std(), 1e-5, 1e-5);
        TestUtil.AssertClose(e.LogSumExp(2), c.LogSumExp(2), 1e-5, 1e-5);
        TestUtil.AssertClose(e.Max(), c.Max(), 0, 0);
        TestUtil.AssertClose(et.Amin([1]), ct.Amin([1]), 0, 0);
        var (ev, ei) = et.Max(1);
        var (cv, ci) = ct.Max(1);
        TestUtil.AssertClose(ev, cv, 0, 0);
        Assert.That(ei.ToArray<long>(), Is.EqualTo(ci.ToArray<long>()));
        Assert.That(e.ArgMin(0).ToArray<long>(), Is.EqualTo(c.ArgMin(0).ToArray<long>()));
        Assert.That(e.ArgMax().Item(), Is.EqualTo(c.ArgMax().Item()));
        var ci32 = Tensor.RandInt(-50, 50, [4, 9], DType.Int32, g);
        Assert.That(ci32.To(Device).Sum(1).ToArray<long>(), Is.EqualTo(ci32.Sum(1).ToArray<long>()), "int32 sums in int64");
        Assert.That(ci32.To(Device).Amax([0]).ToArray<int>(), Is.EqualTo(ci32.Amax([0]).ToArray<int>()));
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "nothing fell back to the CPU");
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
    }
}

/// <summary>The reduction generator itself (no device): every kernel it names assembles in the emulator with the parameters it documents.</summary>
public class ReduceGenTests
{
    [Test]
    public void GeneratedKernelsAreNamedByEveryParameterAndAssembleInTheEmulator()
    {
        foreach (var kind in Enum.GetValues<ReduceKind>())
            foreach (var mode in Enum.GetValues<ReduceMode>())
            {
                bool arg = ReduceGen.IsArg(kind);
                string text = ReduceGen.Kernel(kind, ElemType.F32, ElemType.F32, mode, 2, 2, false);
                var module = Engine.Kernels.Ptx.PtxModule.Load(text);
                Assert.That(module.GetKernel(ReduceGen.Name(kind, ElemType.F32, ElemType.F32, mode, 2, 2, false)).Parameters,
                    Has.Count.EqualTo(7 + (arg ? 1 : 0) + 3 * 2 + (arg ? 2 : 0) + 2 * 2));
            }
    }
}
