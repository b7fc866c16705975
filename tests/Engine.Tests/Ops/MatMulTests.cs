namespace Engine.Tests.Ops;

public class MatMulTests
{
    /// <summary>
    /// Reference product with PyTorch's matmul rules (1-D promotion, broadcast batch dims) by the triple loop.
    /// Also returns Σ|a||b| per element, the scale of the rounding error.
    /// </summary>
    private static double[] Oracle(double[] a, long[] sa, double[] b, long[] sb, out long[] shape, out double[] scale)
    {
        bool av = sa.Length == 1, bv = sb.Length == 1;
        long[] pa = av ? [1, sa[0]] : sa, pb = bv ? [sb[0], 1] : sb;
        long m = pa[^2], k = pa[^1], n = pb[^1];
        Assert.That(pb[^2], Is.EqualTo(k), "test bug: inner dims");
        var batch = OpsUtil.BroadcastShape(pa[..^2], pb[..^2]);
        long nb = OpsUtil.NumEl(batch);
        var ea = OpsUtil.Expand(a, pa, [.. batch, m, k]);
        var eb = OpsUtil.Expand(b, pb, [.. batch, k, n]);
        var r = new double[nb * m * n];
        scale = new double[r.Length];
        for (long q = 0; q < nb; q++)
            for (long i = 0; i < m; i++)
                for (long j = 0; j < n; j++)
                {
                    double s = 0, abs = 0;
                    for (long p = 0; p < k; p++)
                    {
                        double prod = ea[(q * m + i) * k + p] * eb[(q * k + p) * n + j];
                        s += prod; abs += Math.Abs(prod);
                    }
                    r[(q * m + i) * n + j] = s;
                    scale[(q * m + i) * n + j] = abs;
                }
        var outShape = new List<long>(batch);
        if (!av) outShape.Add(m);
        if (!bv) outShape.Add(n);
        shape = [.. outShape];
        return r;
    }

    /// <summary>Asserts |actual − expected| ≤ rtol·Σ|a||b| + tiny for each element (the forward-error bound of a dot product).</summary>
    private static void AssertProduct(Tensor actual, long[] shape, double[] expected, double[] scale, double rtol, string what)
    {
        Assert.That(actual.Shape, Is.EqualTo(shape), $"{what}: shape");
        var a = actual.ToDoubleArray();
        Assert.That(a, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < a.Length; i++)
            if (!(Math.Abs(a[i] - expected[i]) <= rtol * scale[i] + 1e-300))
                Assert.Fail($"{what}: element {i}: got {a[i]:R}, expected {expected[i]:R} (scale {scale[i]:G3})");
    }

    private static Tensor Matrix(double[] v, long rows, long cols, Layout layout, DType dt) => OpsUtil.Make(v, [rows, cols], layout, dt);

    // ---- literal values ------------------------------------------------------------------------------------

    [Test]
    public void ProductsMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var a = Tensor.FromArray(new double[] { 1, 2, 3, 4 }, 2, 2);
        var b = Tensor.FromArray(new double[] { 5, 6, 7, 8 }, 2, 2);
        var c = a.MatMul(b);
        Assert.That(c.Shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(c.ToArray<double>(), Is.EqualTo(new double[] { 19, 22, 43, 50 }));
        Assert.That(a.T.MatMul(b).ToArray<double>(), Is.EqualTo(new double[] { 26, 30, 38, 44 }));
        Assert.That(a.Mm(b.T).ToArray<double>(), Is.EqualTo(new double[] { 17, 23, 39, 53 }));
        var dot = Tensor.FromArray(new double[] { 1, 2, 3 }).MatMul(Tensor.FromArray(new double[] { 4, 5, 6 }));
        Assert.That(dot.Shape, Is.Empty);
        Assert.That(dot.Item(), Is.EqualTo(32));
        var m = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var mv = m.MatMul(Tensor.FromArray(new double[] { 1, 0, -1 }));
        Assert.That(mv.Shape, Is.EqualTo(new long[] { 2 }));
        Assert.That(mv.ToArray<double>(), Is.EqualTo(new double[] { -2, -2 }));
        var vm = Tensor.FromArray(new double[] { 1, 2 }).MatMul(m);
        Assert.That(vm.Shape, Is.EqualTo(new long[] { 3 }));
        Assert.That(vm.ToArray<double>(), Is.EqualTo(new double[] { 9, 12, 15 }));
        var f = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2).MatMul(Tensor.FromArray(new float[] { 5, 6, 7, 8 }, 2, 2));
        Assert.That(f.ToArray<float>(), Is.EqualTo(new float[] { 19, 22, 43, 50 }));
        Assert.That(f.DType, Is.EqualTo(DType.Float32));
    }

    [Test]
    public void ResultShapesFollowPyTorchRules()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        (long[] A, long[] B, long[] Out)[] cases =
        [
            ([4], [4], []),
            ([3, 4], [4], [3]),
            ([4], [4, 2], [2]),
            ([3, 4], [4, 2], [3, 2]),
            ([5, 3, 4], [5, 4, 2], [5, 3, 2]),
            ([2, 1, 3, 4], [5, 4, 2], [2, 5, 3, 2]),
            ([3, 4], [2, 4, 5], [2, 3, 5]),
            ([2, 3, 4], [4], [2, 3]),
            ([4], [2, 4, 5], [2, 5]),
            ([1, 3, 4], [6, 4, 2], [6, 3, 2]),
        ];
        foreach (var (sa, sb, so) in cases)
            Assert.That(TestUtil.Randn(g, sa).MatMul(TestUtil.Randn(g, sb)).Shape, Is.EqualTo(so), $"{Kernels.ShapeUtil.Format(sa)} @ {Kernels.ShapeUtil.Format(sb)}");
    }

    [Test]
    public void InvalidProductsThrow()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        Assert.Throws<ShapeException>(() => TestUtil.Randn(g, 3, 4).MatMul(TestUtil.Randn(g, 3, 4)));
        Assert.Throws<ShapeException>(() => TestUtil.Randn(g, 3).MatMul(TestUtil.Randn(g, 4)));
        Assert.Throws<ShapeException>(() => TestUtil.Randn(g, 2, 3, 4).MatMul(TestUtil.Randn(g, 3, 4, 2)));
        Assert.Throws<ShapeException>(() => Tensor.Scalar(2, DType.Float64).MatMul(TestUtil.Randn(g, 3)));
        Assert.Throws<ShapeException>(() => TestUtil.Randn(g, 2, 3, 4).Mm(TestUtil.Randn(g, 4, 2)));
        Assert.Throws<DTypeException>(() => TestUtil.Randn(g, 2, 3).MatMul(TestUtil.RandnF(g, 3, 2)));
    }

    // ---- against the triple loop ------------------------------------------------------------------------------

    private static readonly (int M, int K, int N)[] Sizes =
    [
        (1, 1, 1), (7, 13, 5), (65, 33, 129), (1, 64, 1), (33, 1, 17), (6, 256, 16), (13, 300, 70), (97, 40, 8), (5, 7, 4100), (32, 32, 32), (300, 20, 20),
        (301, 40, 37), (70, 50, 1030), // over the per-core threshold: rows split over cores, then columns
    ];

    [Test]
    public void MatMulMatchesTripleLoop([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var g = TestUtil.Gen();
        double rtol = dt == DType.Float32 ? 1e-4 : 1e-12;
        foreach (var (m, k, n) in Sizes)
        {
            foreach (var la in OpsUtil.AllLayouts)
                foreach (var lb in OpsUtil.AllLayouts)
                {
                    if (m * k * n > 50000 && la != lb && la != Layout.Contiguous) continue; // keep the big cases to a representative few
                    using var scope = Tensor.NewDisposeScope();
                    var va = OpsUtil.Randn(g, m * k);
                    var vb = OpsUtil.Randn(g, k * n);
                    if (dt == DType.Float32) { va = OpsUtil.ToFloat32(va); vb = OpsUtil.ToFloat32(vb); }
                    var a = Matrix(va, m, k, la, dt);
                    var b = Matrix(vb, k, n, lb, dt);
                    var expected = Oracle(va, [m, k], vb, [k, n], out var shape, out var scale);
                    var c = a.MatMul(b);
                    Assert.That(c.DType, Is.EqualTo(dt));
                    AssertProduct(c, shape, expected, scale, rtol, $"{m}x{k}x{n} {la} @ {lb} {dt}");
                }
        }
    }

    [Test]
    public void MatMulOfTransposedOperandsMatchesTripleLoop([Values(DType.Float32, DType.Float64)] DType dt)
    {
        // Aᵀ·Bᵀ with A, B contiguous: both operands column-major, read through their strides.
        var g = TestUtil.Gen();
        double rtol = dt == DType.Float32 ? 1e-4 : 1e-12;
        foreach (var (m, k, n) in Sizes)
        {
            using var scope = Tensor.NewDisposeScope();
            var (at, _) = OpsUtil.Input(g, [k, m], Layout.Contiguous, dtype: dt);
            var (bt, _) = OpsUtil.Input(g, [n, k], Layout.Contiguous, dtype: dt);
            var a = at.T;
            var b = bt.T;
            var expected = Oracle(a.ToDoubleArray(), [m, k], b.ToDoubleArray(), [k, n], out var shape, out var scale);
            AssertProduct(a.MatMul(b), shape, expected, scale, rtol, $"{m}x{k}x{n} transposed {dt}");
            AssertProduct(a.MatMul(bt.T.Contiguous()), shape, expected, scale, rtol, $"{m}x{k}x{n} Aᵀ·B {dt}");
        }
    }

    [Test]
    public void BatchedAndBroadcastMatMulMatchesTripleLoop([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var g = TestUtil.Gen();
        double rtol = dt == DType.Float32 ? 1e-4 : 1e-12;
        var fixedCases = new (long[] A, long[] B)[]
        {
            ([2, 1, 3, 4], [5, 4, 2]), ([3, 4], [2, 4, 5]), ([2, 3, 4], [4]), ([4], [2, 4, 5]), ([2, 3, 4], [2, 4, 5]),
            ([1, 3, 4], [2, 4, 5]), ([3, 40, 50], [3, 50, 30]), ([2, 1, 37, 20], [1, 3, 20, 41]), ([6, 1, 1], [6, 1, 1]),
            ([2, 1, 40, 50], [3, 50, 30]), ([16, 30, 30], [16, 30, 30]), ([40, 50], [3, 50, 30]),
        };
        var cases = new List<(long[] A, long[] B)>(fixedCases);
        for (int i = 0; i < 12; i++)
        {
            var (ba, bb) = OpsUtil.RandBroadcastPair(g);
            long m = OpsUtil.Int(g, 1, 6), k = OpsUtil.Int(g, 1, 6), n = OpsUtil.Int(g, 1, 6);
            cases.Add(([.. ba, m, k], [.. bb, k, n]));
        }
        foreach (var (sa, sb) in cases)
        {
            using var scope = Tensor.NewDisposeScope();
            var la = OpsUtil.RandLayout(g);
            var lb = OpsUtil.RandLayout(g);
            var (a, va) = OpsUtil.Input(g, sa, la, dtype: dt);
            var (b, vb) = OpsUtil.Input(g, sb, lb, dtype: dt);
            var expected = Oracle(va, sa, vb, sb, out var shape, out var scale);
            AssertProduct(a.MatMul(b), shape, expected, scale, rtol, $"{Kernels.ShapeUtil.Format(sa)} {la} @ {Kernels.ShapeUtil.Format(sb)} {lb} {dt}");
        }
    }

    [Test]
    public void BatchedOperandThatIsAnExpandedViewMatchesTripleLoop()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var (w, vw) = OpsUtil.Input(g, [4, 3], Layout.Permuted);
        var e = w.Expand(5, 4, 3); // stride 0 over the batch
        var (x, vx) = OpsUtil.Input(g, [5, 3, 2], Layout.Sliced);
        var expected = Oracle(vw, [4, 3], vx, [5, 3, 2], out var shape, out var scale);
        AssertProduct(e.MatMul(x), shape, expected, scale, 1e-12, "expanded @ batched");
        // the same on the packed (blocked) path
        var (wb, vwb) = OpsUtil.Input(g, [40, 50], Layout.Contiguous);
        var (xb, vxb) = OpsUtil.Input(g, [3, 50, 30], Layout.Permuted);
        var eb = Oracle(vwb, [40, 50], vxb, [3, 50, 30], out var shapeB, out var scaleB);
        AssertProduct(wb.Expand(3, 40, 50).MatMul(xb), shapeB, eb, scaleB, 1e-12, "expanded @ batched, blocked");
        // rows repeated by a stride-0 expand
        var (row, vrow) = OpsUtil.Input(g, [1, 50], Layout.Contiguous);
        var er = Oracle(Enumerable.Repeat(vrow, 40).SelectMany(r => r).ToArray(), [40, 50], vxb, [3, 50, 30], out var shapeR, out var scaleR);
        AssertProduct(row.Expand(40, 50).MatMul(xb), shapeR, er, scaleR, 1e-12, "row-expanded @ batched");
    }

    [Test]
    public void IntegerMatMulIsExact([Values(DType.Int64, DType.Int32)] DType dt)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var va = Tensor.RandInt(-1000, 1000, [2, 7, 9], DType.Int64, g).ToDoubleArray();
        var vb = Tensor.RandInt(-1000, 1000, [9, 4], DType.Int64, g).ToDoubleArray();
        var a = OpsUtil.Make(va, [2, 7, 9], Layout.Permuted, dt);
        var b = OpsUtil.Make(vb, [9, 4], Layout.Sliced, dt);
        var expected = Oracle(va, [2, 7, 9], vb, [9, 4], out var shape, out _);
        var c = a.MatMul(b);
        Assert.That(c.DType, Is.EqualTo(dt));
        OpsUtil.AssertTensor(c, shape, expected, 0, 0, "integer matmul");
    }

    [Test]
    public void EmptyInnerDimensionGivesZeros()
    {
        using var scope = Tensor.NewDisposeScope();
        var c = Tensor.Zeros([3, 0], DType.Float64).MatMul(Tensor.Zeros([0, 4], DType.Float64));
        Assert.That(c.Shape, Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(c.ToArray<double>(), Is.All.Zero);
    }

    // ---- properties ----------------------------------------------------------------------------------------------

    [Test]
    public void MatMulIsAssociative()
    {
        var g = TestUtil.Gen();
        foreach (var (m, k, l, n) in new[] { (7, 13, 9, 5), (40, 50, 30, 20), (1, 3, 1, 4), (65, 33, 70, 3) })
        {
            using var scope = Tensor.NewDisposeScope();
            var a = TestUtil.Randn(g, m, k);
            var b = TestUtil.StridedLeaf(g, k, l).Detach();
            var c = TestUtil.Randn(g, l, n);
            var left = a.MatMul(b).MatMul(c);
            var right = a.MatMul(b.MatMul(c));
            OpsUtil.AssertAllClose(left.ToDoubleArray(), right.ToDoubleArray(), 1e-10 * Math.Sqrt(k * l), 1e-10, $"({m}x{k})({k}x{l})({l}x{n})");
        }
    }

    [Test]
    public void MatMulDistributesOverAdditionAndTransposes()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var a = TestUtil.Randn(g, 9, 40);
        var b = TestUtil.Randn(g, 40, 35);
        var c = TestUtil.Randn(g, 40, 35);
        OpsUtil.AssertAllClose(a.MatMul(b.Add(c)).ToDoubleArray(), a.MatMul(b).Add(a.MatMul(c)).ToDoubleArray(), 1e-11, 1e-11, "distributive");
        // (AB)ᵀ = BᵀAᵀ
        OpsUtil.AssertAllClose(a.MatMul(b).T.Contiguous().ToDoubleArray(), b.T.MatMul(a.T).ToDoubleArray(), 1e-11, 1e-11, "transpose");
        // identity
        var eye = Tensor.Eye(40, dtype: DType.Float64);
        OpsUtil.AssertAllClose(a.MatMul(eye).ToDoubleArray(), a.ToDoubleArray(), 0, 0, "identity");
    }

    // ---- gradient checks -------------------------------------------------------------------------------------------

    public static IEnumerable<TestCaseData> GradShapes()
    {
        TestCaseData C(long[] a, long[] b, Layout la, Layout lb) =>
            new TestCaseData(a, b, la, lb).SetArgDisplayNames($"{Kernels.ShapeUtil.Format(a)} {la} @ {Kernels.ShapeUtil.Format(b)} {lb}");
        yield return C([5], [5], Layout.Contiguous, Layout.Contiguous);
        yield return C([5], [5], Layout.Sliced, Layout.Contiguous);
        yield return C([3, 4], [4], Layout.Contiguous, Layout.Contiguous);
        yield return C([3, 4], [4], Layout.Permuted, Layout.Sliced);
        yield return C([4], [4, 3], Layout.Contiguous, Layout.Contiguous);
        yield return C([4], [4, 3], Layout.Sliced, Layout.Permuted);
        yield return C([3, 4], [4, 2], Layout.Contiguous, Layout.Contiguous);
        yield return C([3, 4], [4, 2], Layout.Permuted, Layout.Permuted);
        yield return C([3, 4], [4, 2], Layout.Sliced, Layout.Sliced);
        yield return C([2, 3, 4], [2, 4, 2], Layout.Contiguous, Layout.Contiguous);
        yield return C([2, 3, 4], [2, 4, 2], Layout.Permuted, Layout.Sliced);
        yield return C([2, 1, 3, 4], [5, 4, 2], Layout.Contiguous, Layout.Contiguous);
        yield return C([2, 1, 3, 4], [5, 4, 2], Layout.Sliced, Layout.Permuted);
        yield return C([3, 4], [2, 4, 5], Layout.Contiguous, Layout.Permuted);
        yield return C([2, 3, 4], [4], Layout.Permuted, Layout.Contiguous);
        yield return C([4], [2, 4, 5], Layout.Contiguous, Layout.Sliced);
        yield return C([1, 3, 4], [2, 4, 2], Layout.Contiguous, Layout.Contiguous);
    }

    [TestCaseSource(nameof(GradShapes))]
    public void MatMulGradCheck(long[] sa, long[] sb, Layout la, Layout lb)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var a = OpsUtil.Leaf(g, sa, la);
        var b = OpsUtil.Leaf(g, sb, lb);
        TestUtil.GradCheck(t => t[0].MatMul(t[1]), a, b);
    }

    [Test]
    public void MatMulGradCheckThroughTransposesAndChains()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var a = TestUtil.Leaf(g, 4, 3);
        var b = TestUtil.StridedLeaf(g, 4, 2);
        var c = TestUtil.Leaf(g, 2, 5);
        TestUtil.GradCheck(t => t[0].T.MatMul(t[1]), a, b);
        TestUtil.GradCheck(t => t[0].T.MatMul(t[1]).MatMul(t[2]), a, b, c);
        TestUtil.GradCheck(t => t[1].T.Mm(t[0]).Mm(t[0].T), a, b);
        TestUtil.GradCheck(t => t[0].MatMul(t[0].T), a);
        TestUtil.GradCheck(t => t[0].Unsqueeze(0).Expand(3, 4, 3).MatMul(t[1].Slice(0, 0, 3).Unsqueeze(0).Expand(3, 3, 2)), a, b);
    }

    [Test]
    public void MatMulGradientsMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var a = Tensor.FromArray(new double[] { 1, 2, 3, 4 }, 2, 2).RequiresGrad_();
        var b = Tensor.FromArray(new double[] { 5, 6, 7, 8 }, 2, 2).RequiresGrad_();
        a.MatMul(b).Sum().Backward();
        // dA = 1·Bᵀ (row sums of B), dB = Aᵀ·1 (column sums of A)
        Assert.That(a.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 11, 15, 11, 15 }));
        Assert.That(b.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 4, 4, 6, 6 }));
        var u = Tensor.FromArray(new double[] { 1, 2, 3 }).RequiresGrad_();
        var v = Tensor.FromArray(new double[] { 4, 5, 6 }).RequiresGrad_();
        u.MatMul(v).Backward();
        Assert.That(u.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 4, 5, 6 }));
        Assert.That(v.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3 }));
    }
}
