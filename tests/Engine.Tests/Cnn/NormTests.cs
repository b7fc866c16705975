namespace Engine.Tests.Cnn;

public class NormTests
{
    [Test]
    public void BatchNormTrainingNormalisesWithBatchStatsAndUpdatesRunningStats()
    {
        using var scope = Tensor.NewDisposeScope();
        // channel 0: 1, 3, 5, 7 (mean 4, biased var 5, unbiased 20/3); channel 1: 2, 2, 2, 6 (mean 3, var 3, unbiased 4)
        var x = Tensor.FromArray(new[] { 1.0, 2, 3, 2, 5, 2, 7, 6 }, 4, 2);
        var rm = Tensor.Zeros([2], DType.Float64);
        var rv = Tensor.Ones([2], DType.Float64);
        var y = Functional.BatchNorm(x, rm, rv, training: true, momentum: 0.1, eps: 0);
        double s0 = Math.Sqrt(5), s1 = Math.Sqrt(3);
        TestUtil.AssertClose(y, [-3 / s0, -1 / s1, -1 / s0, -1 / s1, 1 / s0, -1 / s1, 3 / s0, 3 / s1], atol: 1e-12);
        TestUtil.AssertClose(rm, [0.4, 0.3], atol: 1e-12);
        TestUtil.AssertClose(rv, [0.9 + 0.1 * 20.0 / 3, 0.9 + 0.1 * 4], atol: 1e-12);
    }

    [Test]
    public void BatchNormEvalUsesRunningStatsAndAffine()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.0, 2, 3, 4 }, 1, 2, 2, 1);
        var rm = Tensor.FromArray(new[] { 1.0, 3.0 });
        var rv = Tensor.FromArray(new[] { 4.0, 1.0 });
        var w = Tensor.FromArray(new[] { 2.0, -1.0 });
        var b = Tensor.FromArray(new[] { 0.5, 0.0 });
        var y = Functional.BatchNorm(x, rm, rv, w, b, training: false, eps: 0);
        TestUtil.AssertClose(y, [0.5, 1.5, 0.0, -1.0], atol: 1e-12);
        TestUtil.AssertClose(rm, [1.0, 3.0]);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void BatchNormPassesGradCheck(bool training)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        foreach (var shape in new[] { new long[] { 5, 3 }, [2, 3, 4], [2, 2, 3, 3], [1, 2, 2, 2, 3] })
        {
            var x = TestUtil.Leaf(g, shape);
            var w = TestUtil.Leaf(g, shape[1]);
            var b = TestUtil.Leaf(g, shape[1]);
            var rm = TestUtil.Randn(g, shape[1]);
            var rv = Tensor.Rand([shape[1]], DType.Float64, g).Add(0.5);
            // running stats change on every training call; the check needs a pure function
            TestUtil.GradCheck(t => Functional.BatchNorm(t[0], training ? null : rm, training ? null : rv, t[1], t[2], training), x, w, b);
        }
    }

    [Test]
    public void BatchNormGradCheckOnNonContiguousInput()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.StridedLeaf(g, 3, 2, 4);
        TestUtil.GradCheck(t => Functional.BatchNorm(t[0], null, null, training: true), x);
    }

    [Test]
    public void BatchNormRejectsBadInput()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Randn(4, 3);
        Assert.That(Assert.Throws<ShapeException>(() => Functional.BatchNorm(x, Tensor.Zeros(2), Tensor.Ones(2)))!.Message, Does.StartWith("batch_norm:").And.Contain("[2]"));
        Assert.Throws<ShapeException>(() => Functional.BatchNorm(Tensor.Randn(1, 3), null, null, training: true));
        Assert.Throws<ArgumentValueException>(() => Functional.BatchNorm(x, null, null, training: false));
        Assert.Throws<ShapeException>(() => Functional.BatchNorm(Tensor.Randn(4), null, null, training: true));
    }

    // The definition, directly: b_c = a_c / (k + α/n Σ_{j=c-n/2}^{c+(n-1)/2} a_j²)^β.
    private static double[] LrnOracle(double[] x, int n, int c, int s, int size, double alpha, double beta, double k)
    {
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < s; p++)
                {
                    double sum = 0;
                    for (int j = ch - size / 2; j <= ch + (size - 1) / 2; j++)
                        if (j >= 0 && j < c) { double v = x[(i * c + j) * s + p]; sum += v * v; }
                    y[(i * c + ch) * s + p] = x[(i * c + ch) * s + p] / Math.Pow(k + alpha / size * sum, beta);
                }
        return y;
    }

    [Test]
    public void LrnHandWorkedCase()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }, 1, 3, 1);
        // size 2: windows [c-1, c]; s = 1 + (1/2)·Σ a²  →  1.5, 3.5, 7.5
        var y = Functional.LocalResponseNorm(x, size: 2, alpha: 1, beta: 1, k: 1);
        TestUtil.AssertClose(y, [1 / 1.5, 2 / 3.5, 3 / 7.5], atol: 1e-12);
        // size 3: windows [c-1, c+1]; s = 1 + (1/3)·Σ a²  →  1 + 5/3, 1 + 14/3, 1 + 13/3, with β = 0.5
        var z = Functional.LocalResponseNorm(x, size: 3, alpha: 1, beta: 0.5, k: 1);
        TestUtil.AssertClose(z, [1 / Math.Sqrt(1 + 5.0 / 3), 2 / Math.Sqrt(1 + 14.0 / 3), 3 / Math.Sqrt(1 + 13.0 / 3)], atol: 1e-12);
    }

    [Test]
    public void LrnMatchesTheDefinitionOnRandomShapes()
    {
        var g = TestUtil.Gen();
        var rnd = new Random((int)g.Seed);
        for (int trial = 0; trial < 20; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            int n = rnd.Next(1, 4), c = rnd.Next(1, 12), h = rnd.Next(1, 6), w = rnd.Next(1, 7), size = rnd.Next(1, 8);
            double alpha = rnd.NextDouble() * 2, beta = 0.25 + rnd.NextDouble(), k = 0.5 + rnd.NextDouble() * 2;
            var x = Tensor.Randn([n, c, h, w], DType.Float32, g).Mul(3.0);
            var y = Functional.LocalResponseNorm(x, size, alpha, beta, k);
            TestUtil.AssertClose(y, LrnOracle(x.ToDoubleArray(), n, c, h * w, size, alpha, beta, k), atol: 1e-5, rtol: 1e-4);
        }
    }

    [TestCase(5)]
    [TestCase(11)]
    public void LrnInFloat32StaysAccurateAfterASpikeLeavesTheWindow(int size)
    {
        // a 300× spike every 50 channels: a sliding float32 window sum would carry the spike's rounding error into the
        // small channels after it (10% off); the output must match the definition to float32 accuracy everywhere.
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        const int c = 384, s = 6;
        var xd = Tensor.Randn([1, c, s], DType.Float64, g).ToDoubleArray();
        for (int ch = 0; ch < c; ch += 50)
            for (int i = 0; i < s; i++) xd[ch * s + i] *= 300;
        var x = Tensor.FromArray(xd).Reshape([1, c, s]).To(DType.Float32);
        var y = Functional.LocalResponseNorm(x, size, alpha: 1e-2, beta: 0.75, k: 1);
        TestUtil.AssertClose(y, LrnOracle(x.ToDoubleArray(), 1, c, s, size, 1e-2, 0.75, 1), atol: 1e-6, rtol: 1e-5);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(5)]
    public void LrnPassesGradCheck(int size)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.Leaf(g, 2, 7, 2, 3);
        TestUtil.GradCheck(t => Functional.LocalResponseNorm(t[0], size, alpha: 0.5, beta: 0.75, k: 1.5), x);
        var xs = TestUtil.StridedLeaf(g, 1, 4, 3);
        TestUtil.GradCheck(t => Functional.LocalResponseNorm(t[0], size, alpha: 2, beta: 0.6, k: 1), xs);
    }

    [Test]
    public void LrnRejectsBadInput()
    {
        using var scope = Tensor.NewDisposeScope();
        Assert.Throws<ShapeException>(() => Functional.LocalResponseNorm(Tensor.Randn(2, 3), 3));
        Assert.Throws<ArgumentValueException>(() => Functional.LocalResponseNorm(Tensor.Randn(1, 3, 2, 2), 0));
        Assert.Throws<DTypeException>(() => Functional.LocalResponseNorm(Tensor.Zeros([1, 3, 2, 2], DType.Int64), 3));
    }
}
