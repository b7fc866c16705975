namespace Engine.Tests.Ops;

public class ReductionTests
{
    private static Tensor Vec(params double[] v) => Tensor.FromArray(v);

    private static Tensor Mat(long rows, long cols, params double[] v) => Tensor.FromArray(v, rows, cols);

    /// <summary>
    /// Reference reduction: groups the row-major values by their index with <paramref name="dims"/> zeroed and
    /// applies <paramref name="f"/> to each group (values in row-major order).
    /// </summary>
    private static double[] Reduce(double[] v, long[] shape, int[] dims, bool keepDim, Func<List<double>, double> f, out long[] outShape)
    {
        var keep = (long[])shape.Clone();
        foreach (var d in dims) keep[d] = 1;
        var groups = new List<double>[OpsUtil.NumEl(keep)];
        for (int i = 0; i < groups.Length; i++) groups[i] = [];
        for (long e = 0; e < v.Length; e++)
        {
            var idx = OpsUtil.Unravel(e, shape);
            foreach (var d in dims) idx[d] = 0;
            groups[OpsUtil.Ravel(idx, keep)].Add(v[e]);
        }
        outShape = keepDim ? keep : shape.Where((_, i) => !dims.Contains(i)).ToArray();
        return groups.Select(f).ToArray();
    }

    private static double Mean(List<double> l) => l.Sum() / l.Count;

    private static double Var(List<double> l, int correction)
    {
        double m = Mean(l);
        return l.Sum(x => (x - m) * (x - m)) / (l.Count - correction);
    }

    private static double LogSumExp(List<double> l)
    {
        double m = l.Max();
        return m + Math.Log(l.Sum(x => Math.Exp(x - m)));
    }

    private static int FirstIndexOf(List<double> l, bool max)
    {
        int best = 0;
        for (int i = 1; i < l.Count; i++) if (max ? l[i] > l[best] : l[i] < l[best]) best = i;
        return best;
    }

    /// <summary>Random non-empty subset of the dims of a rank-r tensor, sometimes written negative.</summary>
    private static int[] RandDims(Generator g, int rank)
    {
        var dims = Enumerable.Range(0, rank).Where(_ => g.NextDouble() < 0.5).ToArray();
        if (dims.Length == 0) dims = [OpsUtil.Int(g, 0, rank)];
        return dims;
    }

    private static int[] Spell(Generator g, int[] dims, int rank) => dims.Select(d => g.NextDouble() < 0.5 ? d - rank : d).ToArray();

    /// <summary>Values that are pairwise at least 1e-3 apart, so max/min have a unique, differentiable winner.</summary>
    private static double[] Distinct(Generator g, long n)
    {
        for (int tries = 0; tries < 100; tries++)
        {
            var v = OpsUtil.Randn(g, n);
            var s = v.OrderBy(x => x).ToArray();
            bool ok = true;
            for (int i = 1; i < s.Length; i++) if (s[i] - s[i - 1] < 1e-3) { ok = false; break; }
            if (ok) return v;
        }
        Assert.Fail("could not draw distinct values");
        return [];
    }

    // ---- literal values ----------------------------------------------------------------------------------

    [Test]
    public void SumAndMeanMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Mat(2, 3, 1, 2, 3, 4, 5, 6);
        var all = x.Sum();
        Assert.That(all.Shape, Is.Empty);
        Assert.That(all.Item(), Is.EqualTo(21));
        Assert.That(x.Sum(0).ToArray<double>(), Is.EqualTo(new double[] { 5, 7, 9 }));
        Assert.That(x.Sum(1).ToArray<double>(), Is.EqualTo(new double[] { 6, 15 }));
        Assert.That(x.Sum(-1).ToArray<double>(), Is.EqualTo(new double[] { 6, 15 }));
        Assert.That(x.Sum(1, keepDim: true).Shape, Is.EqualTo(new long[] { 2, 1 }));
        Assert.That(x.Sum([0, 1], keepDim: true).Shape, Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(x.Sum([0, 1]).Item(), Is.EqualTo(21));
        Assert.That(x.T.Sum(0).ToArray<double>(), Is.EqualTo(new double[] { 6, 15 }));
        Assert.That(x.Mean().Item(), Is.EqualTo(3.5));
        Assert.That(x.Mean(0).ToArray<double>(), Is.EqualTo(new double[] { 2.5, 3.5, 4.5 }));
        Assert.That(x.Mean(1, keepDim: true).ToArray<double>(), Is.EqualTo(new double[] { 2, 5 }));
    }

    [Test]
    public void VarAndStdMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Vec(1, 2, 3, 4);
        Assert.That(x.Var().Item(), Is.EqualTo(1.6666666666666667).Within(1e-15));
        Assert.That(x.Var(correction: 0).Item(), Is.EqualTo(1.25).Within(1e-15));
        Assert.That(x.Std().Item(), Is.EqualTo(1.2909944487358056).Within(1e-15));
        Assert.That(x.To(DType.Float32).Var().Item(), Is.EqualTo(1.6666667).Within(1e-6));
        var m = Mat(2, 4, 1, 2, 3, 4, 2, 4, 6, 8);
        TestUtil.AssertClose(m.Var([1]), [1.6666666666666667, 6.666666666666667], 1e-15, 1e-15);
        TestUtil.AssertClose(m.Var([0], correction: 0), [0.25, 1, 2.25, 4], 1e-15, 1e-15);
        var k = m.Std([1], keepDim: true);
        Assert.That(k.Shape, Is.EqualTo(new long[] { 2, 1 }));
        TestUtil.AssertClose(k, [1.2909944487358056, 2.581988897471611], 1e-15, 1e-15);
    }

    [Test]
    public void LogSumExpMatchesHandComputedValuesAndIsStable()
    {
        using var scope = Tensor.NewDisposeScope();
        Assert.That(Vec(1, 2, 3).LogSumExp(0).Item(), Is.EqualTo(3.40760596444438).Within(1e-14));
        Assert.That(Vec(0, 0).LogSumExp(0).Item(), Is.EqualTo(0.6931471805599453).Within(1e-15));
        Assert.That(Vec(1000, 999).LogSumExp(0).Item(), Is.EqualTo(1000.3132616875182).Within(1e-12));
        Assert.That(Vec(-1000, -1000).LogSumExp(0).Item(), Is.EqualTo(-999.3068528194401).Within(1e-12));
        Assert.That(Vec(double.NegativeInfinity, 0).LogSumExp(0).Item(), Is.EqualTo(0));
        Assert.That(Vec(double.NegativeInfinity, double.NegativeInfinity).LogSumExp(0).Item(), Is.EqualTo(double.NegativeInfinity));
        Assert.That(Vec(1e4, 1e4).To(DType.Float32).LogSumExp(0).Item(), Is.EqualTo(10000.693).Within(1e-2));
        var m = Mat(2, 3, 1, 2, 3, 0, 0, 0);
        var r = m.LogSumExp(1, keepDim: true);
        Assert.That(r.Shape, Is.EqualTo(new long[] { 2, 1 }));
        TestUtil.AssertClose(r, [3.40760596444438, 1.0986122886681098], 1e-14, 1e-14);
        TestUtil.AssertClose(m.LogSumExp([0, 1]), [3.5023352399553747], 1e-14, 1e-14);
    }

    [Test]
    public void MaxMinAndArgExtremesMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Mat(2, 3, 1, 5, 5, 7, 2, 7);
        Assert.That(x.Max().Item(), Is.EqualTo(7));
        Assert.That(x.Min().Item(), Is.EqualTo(1));
        Assert.That(x.Amax([0]).ToArray<double>(), Is.EqualTo(new double[] { 7, 5, 7 }));
        Assert.That(x.Amin([1], keepDim: true).ToArray<double>(), Is.EqualTo(new double[] { 1, 2 }));
        var (v, i) = x.Max(1);
        Assert.That(v.ToArray<double>(), Is.EqualTo(new double[] { 5, 7 }));
        Assert.That(i.DType, Is.EqualTo(DType.Int64));
        Assert.That(i.ToArray<long>(), Is.EqualTo(new long[] { 1, 0 }));
        var (v0, i0) = x.Min(0, keepDim: true);
        Assert.That(v0.Shape, Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(v0.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 5 }));
        Assert.That(i0.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 0 }));
        Assert.That(Vec(1, 3, 3, 2).ArgMax().Item(), Is.EqualTo(1));
        Assert.That(Vec(2, 0.5, 0.5).ArgMin().Item(), Is.EqualTo(1));
        Assert.That(x.ArgMax().Item(), Is.EqualTo(3), "first of the two 7s in the flattened tensor");
        Assert.That(x.ArgMin().Item(), Is.EqualTo(0));
        Assert.That(x.ArgMax(0).ToArray<long>(), Is.EqualTo(new long[] { 1, 0, 1 }));
        Assert.That(x.ArgMin(1, keepDim: true).Shape, Is.EqualTo(new long[] { 2, 1 }));
    }

    [Test]
    public void MaxAndArgMaxPropagateNaN()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Vec(1, double.NaN, 3);
        Assert.That(x.Max().Item(), Is.NaN);
        Assert.That(x.Amin([0]).Item(), Is.NaN);
        var (v, i) = x.Max(0);
        Assert.That(v.Item(), Is.NaN);
        Assert.That(i.Item(), Is.EqualTo(1));
    }

    [Test]
    public void InvalidReductionsThrow()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Mat(2, 2, 1, 2, 3, 4);
        Assert.Throws<IndexException>(() => x.Sum([0, -2]));
        Assert.Throws<IndexException>(() => x.Sum(2));
        var empty = Tensor.Zeros([0], DType.Float64);
        Assert.Throws<ShapeException>(() => empty.Max());
        Assert.That(empty.Sum().Item(), Is.Zero);
        var rows = Tensor.Zeros([2, 0], DType.Float64);
        Assert.That(rows.Sum(1).ToArray<double>(), Is.EqualTo(new double[] { 0, 0 }));
        Assert.That(rows.Sum(0).Shape, Is.EqualTo(new long[] { 0 }));
        Assert.Throws<ShapeException>(() => rows.Max(1));
    }

    // ---- oracle comparisons on random shapes, dims and layouts ----------------------------------------------------

    public static IEnumerable<TestCaseData> ReductionCases()
    {
        TestCaseData C(string name, Func<Tensor, int[]?, bool, Tensor> op, Func<List<double>, double> f) =>
            new TestCaseData(op, f).SetArgDisplayNames(name);
        yield return C("sum", (x, d, k) => x.Sum(d, k), l => l.Sum());
        yield return C("mean", (x, d, k) => x.Mean(d, k), Mean);
        yield return C("amax", (x, d, k) => x.Amax(d, k), l => l.Max());
        yield return C("amin", (x, d, k) => x.Amin(d, k), l => l.Min());
        yield return C("var", (x, d, k) => x.Var(d, k), l => Var(l, 1));
        yield return C("var_correction0", (x, d, k) => x.Var(d, k, correction: 0), l => Var(l, 0));
        yield return C("std", (x, d, k) => x.Std(d, k), l => Math.Sqrt(Var(l, 1)));
        yield return C("logsumexp", (x, d, k) => x.LogSumExp(d!, k), LogSumExp);
    }

    [TestCaseSource(nameof(ReductionCases))]
    public void ReductionMatchesOracle(Func<Tensor, int[]?, bool, Tensor> op, Func<List<double>, double> f)
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 16; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 1, 4, 5);
            shape[OpsUtil.Int(g, 0, shape.Length)] = OpsUtil.Int(g, 2, 6); // at least two elements to reduce
            var dims = trial % 5 == 4 ? Enumerable.Range(0, shape.Length).ToArray() : RandDims(g, shape.Length);
            bool keep = g.NextDouble() < 0.5;
            var layout = OpsUtil.RandLayout(g);
            var dt = trial % 2 == 0 ? DType.Float64 : DType.Float32;
            var (x, v) = OpsUtil.Input(g, shape, layout, dtype: dt);
            var expected = Reduce(v, shape, dims, keep, f, out var outShape);
            var r = op(x, Spell(g, dims, shape.Length), keep);
            string what = $"shape {Kernels.ShapeUtil.Format(shape)} dims ({string.Join(",", dims)}) keep {keep} {layout} {dt}";
            if (dt == DType.Float64) OpsUtil.AssertTensor(r, outShape, expected, 1e-12, 1e-11, what);
            else OpsUtil.AssertTensor(r, outShape, expected, 1e-5, 1e-5, what);
        }
    }

    [Test]
    public void FullReductionsMatchOracle()
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 10; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 0, 4, 5);
            var (x, v) = OpsUtil.Input(g, shape, OpsUtil.RandLayout(g));
            var l = v.ToList();
            Assert.That(x.Sum().Shape, Is.Empty);
            Assert.That(x.Sum().Item(), Is.EqualTo(l.Sum()).Within(1e-12));
            Assert.That(x.Mean().Item(), Is.EqualTo(Mean(l)).Within(1e-12));
            Assert.That(x.Max().Item(), Is.EqualTo(l.Max()));
            Assert.That(x.Min().Item(), Is.EqualTo(l.Min()));
            Assert.That(x.Amax(null).Item(), Is.EqualTo(l.Max()));
            Assert.That(x.ArgMax().Item(), Is.EqualTo(FirstIndexOf(l, true)));
            Assert.That(x.ArgMin().Item(), Is.EqualTo(FirstIndexOf(l, false)));
            if (l.Count > 1)
            {
                Assert.That(x.Var().Item(), Is.EqualTo(Var(l, 1)).Within(1e-12));
                Assert.That(x.Std(correction: 0).Item(), Is.EqualTo(Math.Sqrt(Var(l, 0))).Within(1e-12));
            }
        }
    }

    [Test]
    public void LargeSumsMatchOracleOnEveryPath()
    {
        // Large enough for the parallel segment path (reduced dims innermost) and the fold path (others).
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        long[] shape = [120, 70, 9];
        foreach (var layout in OpsUtil.AllLayouts)
        {
            var (x, v) = OpsUtil.Input(g, shape, layout);
            foreach (var dims in new[] { new[] { 2 }, [1, 2], [0], [0, 2], [1], [0, 1, 2] })
            {
                var expected = Reduce(v, shape, dims, false, l => l.Sum(), out var outShape);
                OpsUtil.AssertTensor(x.Sum(dims), outShape, expected, 1e-10, 1e-10, $"sum {layout} ({string.Join(",", dims)})");
                var mx = Reduce(v, shape, dims, true, l => l.Max(), out var mxShape);
                OpsUtil.AssertTensor(x.Amax(dims, keepDim: true), mxShape, mx, 0, 0, $"amax {layout} ({string.Join(",", dims)})");
            }
            var xf = x.To(DType.Float32);
            var vf = xf.ToDoubleArray();
            var ef = Reduce(vf, shape, [0, 1], false, l => l.Sum(), out var fShape);
            OpsUtil.AssertTensor(xf.Sum([0, 1]), fShape, ef, 1e-3, 1e-4, $"float32 sum {layout}");
        }
    }

    [Test]
    public void MaxAndMinAlongADimReturnValuesAndTheFirstIndexOfTies()
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 16; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 1, 4, 5);
            int dim = OpsUtil.Int(g, 0, shape.Length);
            shape[dim] = OpsUtil.Int(g, 2, 7);
            // few distinct values: many ties
            var v = OpsUtil.Randn(g, OpsUtil.NumEl(shape)).Select(x => Math.Round(x)).ToArray();
            var dt = new[] { DType.Float64, DType.Float32, DType.Int64, DType.Int32 }[trial % 4];
            var layout = OpsUtil.RandLayout(g);
            var x = OpsUtil.Make(v, shape, layout, dt);
            bool keep = trial % 3 == 0;
            int spelled = g.NextDouble() < 0.5 ? dim - shape.Length : dim;
            foreach (bool max in new[] { true, false })
            {
                var ev = Reduce(v, shape, [dim], keep, l => max ? l.Max() : l.Min(), out var outShape);
                var ei = Reduce(v, shape, [dim], keep, l => FirstIndexOf(l, max), out _);
                var (rv, ri) = max ? x.Max(spelled, keep) : x.Min(spelled, keep);
                string what = $"{(max ? "max" : "min")} {Kernels.ShapeUtil.Format(shape)} dim {dim} {layout} {dt}";
                Assert.That(rv.DType, Is.EqualTo(dt));
                Assert.That(ri.DType, Is.EqualTo(DType.Int64));
                OpsUtil.AssertTensor(rv, outShape, ev, 0, 0, what + " values");
                OpsUtil.AssertTensor(ri, outShape, ei, 0, 0, what + " indices");
                var ai = max ? x.ArgMax(spelled, keep) : x.ArgMin(spelled, keep);
                OpsUtil.AssertTensor(ai, outShape, ei, 0, 0, what + " arg");
            }
            Assert.That(x.ArgMax().Item(), Is.EqualTo(FirstIndexOf(v.ToList(), true)), "global argmax");
            Assert.That(x.ArgMin().Item(), Is.EqualTo(FirstIndexOf(v.ToList(), false)), "global argmin");
        }
    }

    // ---- integer dtypes ------------------------------------------------------------------------------------------

    [Test]
    public void IntegerSumAndMaxAreExact()
    {
        using var scope = Tensor.NewDisposeScope();
        var a = Tensor.FromArray(new[] { 4611686018427387904L, 3L, -1L, 9007199254740993L }, 2, 2);
        Assert.That(a.Sum().ToArray<long>(), Is.EqualTo(new[] { 4611686018427387904L + 2 + 9007199254740993L }));
        Assert.That(a.Sum().DType, Is.EqualTo(DType.Int64));
        Assert.That(a.Sum(0).ToArray<long>(), Is.EqualTo(new[] { 4611686018427387903L, 9007199254740996L }));
        Assert.That(a.T.Sum(1).ToArray<long>(), Is.EqualTo(new[] { 4611686018427387903L, 9007199254740996L }));
        var b = Tensor.FromArray(new[] { 9007199254740992L, 9007199254740993L, -9007199254740993L });
        Assert.That(b.Max().ToArray<long>(), Is.EqualTo(new[] { 9007199254740993L }));
        Assert.That(b.Min().ToArray<long>(), Is.EqualTo(new[] { -9007199254740993L }));
        Assert.That(b.Amax([0]).ToArray<long>(), Is.EqualTo(new[] { 9007199254740993L }));
        Assert.That(b.Max(0).Values.ToArray<long>(), Is.EqualTo(new[] { 9007199254740993L }));
        Assert.That(b.ArgMax().Item(), Is.EqualTo(1));
        var c = Tensor.FromArray(new[] { 1000000000, 1000000000, -147483649, 1147483647 }, 2, 2);
        // int32 sums accumulate and return int64 (as PyTorch), so they cannot overflow
        Assert.That(c.Narrow(0, 0, 1).Sum().ToArray<long>(), Is.EqualTo(new[] { 2000000000L }));
        Assert.That(c.Sum(1).ToArray<long>(), Is.EqualTo(new[] { 2000000000L, 999999998L }));
        Assert.That(c.Sum(0).ToArray<long>(), Is.EqualTo(new[] { 852516351L, (long)int.MaxValue }));
        Assert.That(c.T.Sum(1).ToArray<long>(), Is.EqualTo(new[] { 852516351L, (long)int.MaxValue }));
        Assert.That(c.Sum().ToArray<long>(), Is.EqualTo(new[] { 2000000000L - 147483649L + 1147483647L }));
        Assert.That(c.Max().ToArray<int>(), Is.EqualTo(new[] { 1147483647 }));
        Assert.That(c.Min().ToArray<int>(), Is.EqualTo(new[] { -147483649 }));
        Assert.That(c.Max().DType, Is.EqualTo(DType.Int32));
    }

    [Test]
    public void IntegerReductionsMatchOracleOnRandomStridedInputs()
    {
        var g = TestUtil.Gen();
        foreach (var dt in new[] { DType.Int64, DType.Int32 })
        {
            for (int trial = 0; trial < 8; trial++)
            {
                using var scope = Tensor.NewDisposeScope();
                var shape = OpsUtil.RandShape(g, 1, 4, 5);
                var v = Tensor.RandInt(-1000000, 1000000, shape, DType.Int64, g).ToDoubleArray();
                var x = OpsUtil.Make(v, shape, OpsUtil.RandLayout(g), dt);
                var dims = RandDims(g, shape.Length);
                bool keep = g.NextDouble() < 0.5;
                long[] Get(Tensor t) => t.DType == DType.Int64 ? t.ToArray<long>() : t.ToArray<int>().Select(e => (long)e).ToArray();
                var es = Reduce(v, shape, dims, keep, l => l.Sum(), out var outShape);
                var rs = x.Sum(dims, keep);
                Assert.That(rs.Shape, Is.EqualTo(outShape));
                Assert.That(rs.DType, Is.EqualTo(DType.Int64), "integer sums are int64");
                Assert.That(Get(rs), Is.EqualTo(es.Select(e => (long)e).ToArray()), "sum");
                var em = Reduce(v, shape, dims, keep, l => l.Max(), out _);
                Assert.That(Get(x.Amax(dims, keep)), Is.EqualTo(em.Select(e => (long)e).ToArray()), "amax");
                Assert.That(Get(x.Max()), Is.EqualTo(new[] { (long)v.Max() }), "max");
                Assert.That(Get(x.Sum()), Is.EqualTo(new[] { (long)v.Sum() }), "sum all");
            }
        }
    }

    // ---- gradient checks ------------------------------------------------------------------------------------------

    private static readonly int[][] DimSets = [[0], [1], [2], [-1], [0, 2], [1, 2], [0, 1, 2]];

    [Test]
    public void SumAndMeanGradCheck([Values] Layout layout)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = OpsUtil.Leaf(g, [2, 3, 4], layout);
        TestUtil.GradCheck(t => t[0].Sum(), x);
        TestUtil.GradCheck(t => t[0].Mean(), x);
        foreach (var dims in DimSets)
            foreach (bool keep in new[] { false, true })
            {
                TestUtil.GradCheck(t => t[0].Sum(dims, keep), x);
                TestUtil.GradCheck(t => t[0].Mean(dims, keep), x);
            }
        TestUtil.GradCheck(t => t[0].Sum(1).Mul(t[0].Mean(1)), x);
        var s = OpsUtil.Leaf(g, [], Layout.Contiguous);
        TestUtil.GradCheck(t => t[0].Sum(), s);
        TestUtil.GradCheck(t => t[0].Mean(), s);
    }

    [Test]
    public void MaxMinGradCheck([Values] Layout layout)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        long[] shape = [2, 3, 4];
        var x = OpsUtil.Leaf(Distinct(g, 24), shape, layout);
        TestUtil.GradCheck(t => t[0].Max(), x);
        TestUtil.GradCheck(t => t[0].Min(), x);
        foreach (var dims in DimSets)
            foreach (bool keep in new[] { false, true })
            {
                TestUtil.GradCheck(t => t[0].Amax(dims, keep), x);
                TestUtil.GradCheck(t => t[0].Amin(dims, keep), x);
            }
        foreach (int dim in new[] { 0, 1, 2, -1 })
            foreach (bool keep in new[] { false, true })
            {
                TestUtil.GradCheck(t => t[0].Max(dim, keep).Values, x);
                TestUtil.GradCheck(t => t[0].Min(dim, keep).Values, x);
            }
    }

    [Test]
    public void VarStdLogSumExpGradCheck([Values] Layout layout)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = OpsUtil.Leaf(g, [2, 3, 4], layout);
        TestUtil.GradCheck(t => t[0].Var(), x);
        TestUtil.GradCheck(t => t[0].Std(), x);
        TestUtil.GradCheck(t => t[0].Var(correction: 0), x);
        foreach (var dims in DimSets)
            foreach (bool keep in new[] { false, true })
            {
                TestUtil.GradCheck(t => t[0].Var(dims, keep), x);
                TestUtil.GradCheck(t => t[0].Std(dims, keep, correction: 0), x);
                TestUtil.GradCheck(t => t[0].LogSumExp(dims, keep), x);
            }
    }

    [Test]
    public void ReductionsOfNonContiguousViewsTakenInsideTheFunctionGradCheck()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = OpsUtil.Leaf(Distinct(g, 20), [4, 5], Layout.Contiguous);
        TestUtil.GradCheck(t => t[0].T.Sum(0), x);
        TestUtil.GradCheck(t => t[0].Slice(1, 0, 5, 2).Mean(1, keepDim: true), x);
        TestUtil.GradCheck(t => t[0].T.Amax([1]), x);
        TestUtil.GradCheck(t => t[0].T.Max(0).Values, x);
        TestUtil.GradCheck(t => t[0].Slice(0, 1, 4, 2).Var([1]), x);
        TestUtil.GradCheck(t => t[0].T.LogSumExp(0), x);
    }

    [Test]
    public void ReductionsOfAScalarAlongDimZero()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = OpsUtil.Leaf(g, [], Layout.Contiguous);
        double v = x.Item();
        var (mv, mi) = x.Max(0);
        Assert.That(mv.Shape, Is.Empty);
        Assert.That(mv.Item(), Is.EqualTo(v));
        Assert.That(mi.Item(), Is.Zero);
        Assert.That(mi.DType, Is.EqualTo(DType.Int64));
        Assert.That(x.Min(-1, keepDim: true).Values.Item(), Is.EqualTo(v));
        Assert.That(x.Sum(0).Item(), Is.EqualTo(v));
        Assert.That(x.Mean(0).Item(), Is.EqualTo(v));
        Assert.That(x.Amax([0]).Item(), Is.EqualTo(v));
        Assert.That(x.LogSumExp(0).Item(), Is.EqualTo(v).Within(1e-15));
        TestUtil.GradCheck(t => t[0].Max(0).Values, x);
        TestUtil.GradCheck(t => t[0].Min(-1, keepDim: true).Values, x);
        TestUtil.GradCheck(t => t[0].Sum(0), x);
        TestUtil.GradCheck(t => t[0].Mean(0, keepDim: true), x);
        TestUtil.GradCheck(t => t[0].Amax([0]), x);
        TestUtil.GradCheck(t => t[0].LogSumExp(0), x);
    }

    [Test]
    public void MaxGradientSplitsAcrossTiesButMaxAlongADimGoesToTheReturnedIndex()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Vec(1, 3, 3).RequiresGrad_();
        x.Max().Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 0, 0.5, 0.5 }));
        var y = Mat(2, 3, 1, 3, 3, 2, 2, 0).RequiresGrad_();
        y.Max(1).Values.Sum().Backward();
        Assert.That(y.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 0, 1, 0, 1, 0, 0 }));
        var z = Mat(2, 3, 1, 3, 3, 2, 2, 0).RequiresGrad_();
        z.Min(0, keepDim: true).Values.Sum().Backward();
        Assert.That(z.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 1, 0, 0, 0, 1, 1 }));
    }

    [Test]
    public void ReductionGradientsMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Vec(1, 2, 3, 4).RequiresGrad_();
        x.Var().Backward();
        // d var / dx_i = 2 (x_i - mean) / (n - 1)
        TestUtil.AssertClose(x.Grad!, [-1, -1.0 / 3, 1.0 / 3, 1], 1e-15, 1e-15);
        var y = Vec(1, 2, 3).RequiresGrad_();
        y.LogSumExp(0).Backward();
        TestUtil.AssertClose(y.Grad!, [0.09003057317038046, 0.24472847105479767, 0.6652409557748219], 1e-15, 1e-14);
        var z = Vec(1, 2, 3, 4).RequiresGrad_();
        z.Mean().Backward();
        Assert.That(z.Grad!.ToArray<double>(), Is.EqualTo(new[] { 0.25, 0.25, 0.25, 0.25 }));
    }
}
