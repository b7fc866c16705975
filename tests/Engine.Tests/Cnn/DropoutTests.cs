namespace Engine.Tests.Cnn;

/// <summary>Dropout, Dropout2d and stochastic depth: exact survivor scaling, drop rates within sampling error, masks, seeds, gradients.</summary>
public class DropoutTests
{
    // Inputs that are never zero, so a zero in the output always means "dropped".
    private static Tensor NonZero(Generator g, params long[] shape) => Tensor.Uniform(shape, 0.5, 1.5, DType.Float64, g);

    // |fraction − p| within 5 standard deviations of a binomial proportion over n draws.
    private static void AssertRate(long dropped, long n, double p, string what)
    {
        double frac = (double)dropped / n, tol = 5 * Math.Sqrt(p * (1 - p) / n);
        Assert.That(frac, Is.EqualTo(p).Within(tol), $"{what}: dropped {dropped} of {n}");
    }

    [TestCase(0.1)]
    [TestCase(0.3)]
    [TestCase(0.5)]
    [TestCase(0.9)]
    public void TrainingZeroesAboutPAndScalesSurvivorsExactly(double p)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const long n = 1 << 18;
        var x = NonZero(g, 512, n / 512);
        var y = Functional.Dropout(x, p, generator: g);
        Assert.That(y.Shape, Is.EqualTo(x.Shape));
        var xa = x.ToArray<double>();
        var ya = y.ToArray<double>();
        double scale = 1 / (1 - p);
        long dropped = 0, wrong = 0;
        for (int i = 0; i < xa.Length; i++)
        {
            if (ya[i] == 0) dropped++;
            else if (ya[i] != xa[i] * scale) wrong++;
        }
        Assert.That(wrong, Is.Zero, "every survivor is exactly x / (1 − p)");
        AssertRate(dropped, n, p, "dropout");
    }

    [Test]
    public void Float32SurvivorsAreScaled()
    {
        using var scope = Tensor.NewDisposeScope();
        var y = Functional.Dropout(Tensor.Ones([100, 100], DType.Float32), 0.2, generator: TestUtil.Gen()).ToArray<float>();
        Assert.That(y.Where(v => v != 0), Is.All.EqualTo(1.25f).Within(1e-6f));
        AssertRate(y.Count(v => v == 0), y.Length, 0.2, "float32 dropout");
    }

    [Test]
    public void EvalAndZeroPAreIdentityAndOneDropsEverything()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = TestUtil.Randn(g, 4, 3, 5, 5);
        var xa = x.ToArray<double>();
        Assert.That(Functional.Dropout(x, 0.5, training: false).ToArray<double>(), Is.EqualTo(xa));
        Assert.That(Functional.Dropout2d(x, 0.5, training: false).ToArray<double>(), Is.EqualTo(xa));
        Assert.That(Functional.StochasticDepth(x, 0.5, training: false).ToArray<double>(), Is.EqualTo(xa));
        Assert.That(Functional.Dropout(x, 0.0, generator: g).ToArray<double>(), Is.EqualTo(xa));
        Assert.That(Functional.Dropout2d(x, 0.0, generator: g).ToArray<double>(), Is.EqualTo(xa));
        Assert.That(Functional.StochasticDepth(x, 0.0, generator: g).ToArray<double>(), Is.EqualTo(xa));
        Assert.That(Functional.Dropout(x, 1.0, generator: g).ToArray<double>(), Is.All.EqualTo(0.0));
        Assert.That(Functional.Dropout2d(x, 1.0, generator: g).ToArray<double>(), Is.All.EqualTo(0.0));
        Assert.That(Functional.StochasticDepth(x, 1.0, generator: g).ToArray<double>(), Is.All.EqualTo(0.0));
        Assert.That(Functional.StochasticDepth(x, 1.0, perSample: false, generator: g).ToArray<double>(), Is.All.EqualTo(0.0));
        var leaf = TestUtil.Leaf(g, 3, 4);
        Functional.Dropout(leaf, 1.0, generator: g).Sum().Backward();
        Assert.That(leaf.Grad!.ToArray<double>(), Is.All.EqualTo(0.0), "p = 1: no gradient flows");
    }

    [Test]
    public void SameSeedSameMaskDifferentSeedDifferentMask()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = NonZero(TestUtil.Gen(), 64, 64);
        ulong seed = TestContext.CurrentContext.Random.NextULong();
        var a = Functional.Dropout(x, 0.5, generator: new Generator(seed)).ToArray<double>();
        var b = Functional.Dropout(x, 0.5, generator: new Generator(seed)).ToArray<double>();
        var c = Functional.Dropout(x, 0.5, generator: new Generator(seed + 1)).ToArray<double>();
        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.Not.EqualTo(a));
        // the mask does not depend on the values: the same seed drops the same positions of another input
        var ones = Functional.Dropout(Tensor.Ones([64, 64], DType.Float64), 0.5, generator: new Generator(seed)).ToArray<double>();
        Assert.That(ones.Select(v => v == 0), Is.EqualTo(a.Select(v => v == 0)));
        // one generator advances: two draws in a row differ
        var gen = new Generator(seed);
        var first = Functional.Dropout(x, 0.5, generator: gen).ToArray<double>();
        var second = Functional.Dropout(x, 0.5, generator: gen).ToArray<double>();
        Assert.That(first, Is.EqualTo(a));
        Assert.That(second, Is.Not.EqualTo(first));
        // dropout2d and stochastic depth are seedable too
        var x4 = x.Reshape(4, 16, 8, 8);
        double[] Drop2d() => Functional.Dropout2d(x4, 0.5, generator: new Generator(seed)).ToArray<double>();
        double[] Depth() => Functional.StochasticDepth(x, 0.5, generator: new Generator(seed)).ToArray<double>();
        var d2 = Drop2d();
        var sd = Depth();
        Assert.That(Drop2d(), Is.EqualTo(d2));
        Assert.That(Depth(), Is.EqualTo(sd));
    }

    [Test]
    public void GradientIsTheScaledMask()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = NonZero(g, 20, 30).RequiresGrad_();
        var y = Functional.Dropout(x, 0.3, generator: g);
        y.Sum().Backward();
        var ya = y.ToArray<double>();
        var expected = ya.Select(v => v == 0 ? 0 : 1 / 0.7).ToArray();
        TestUtil.AssertClose(x.Grad!, expected, 0, 1e-15);
    }

    [Test]
    public void Dropout2dZeroesWholeChannels([Values(0.25, 0.6)] double p)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int n = 32, c = 32, hw = 9;
        var x = NonZero(g, n, c, 3, 3);
        var y = Functional.Dropout2d(x, p, generator: g);
        var xa = x.ToArray<double>();
        var ya = y.ToArray<double>();
        double scale = 1 / (1 - p);
        long dropped = 0;
        for (int ch = 0; ch < n * c; ch++)
        {
            var block = Enumerable.Range(ch * hw, hw).ToArray();
            bool zero = ya[block[0]] == 0;
            if (zero) dropped++;
            foreach (var i in block)
                Assert.That(ya[i], Is.EqualTo(zero ? 0 : xa[i] * scale), $"channel {ch} is dropped or kept as a whole");
        }
        AssertRate(dropped, n * c, p, "dropout2d");
        // also for volumes [N, C, D, H, W]
        var v = Functional.Dropout2d(NonZero(g, 4, 8, 2, 2, 2), p, generator: g).ToArray<double>();
        for (int ch = 0; ch < 32; ch++)
        {
            var block = v.Skip(ch * 8).Take(8).ToArray();
            Assert.That(block.All(e => e == 0) || block.All(e => e != 0), $"volume channel {ch}");
        }
    }

    [Test]
    public void StochasticDepthRowModeZeroesWholeSamples()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int n = 4096, per = 6;
        const double p = 0.3;
        var x = NonZero(g, n, 2, 3);
        var xa = x.ToArray<double>();
        var ya = Functional.StochasticDepth(x, p, generator: g).ToArray<double>();
        long dropped = 0;
        for (int s = 0; s < n; s++)
        {
            bool zero = ya[s * per] == 0;
            if (zero) dropped++;
            for (int i = s * per; i < (s + 1) * per; i++)
                Assert.That(ya[i], Is.EqualTo(zero ? 0 : xa[i] * (1 / (1 - p))), $"sample {s} is dropped or kept as a whole");
        }
        AssertRate(dropped, n, p, "stochastic depth (row)");
    }

    [Test]
    public void StochasticDepthBatchModeZeroesTheWholeBatch()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = NonZero(g, 8, 3, 2);
        var xa = x.ToArray<double>();
        const int draws = 400;
        const double p = 0.4;
        int dropped = 0;
        for (int d = 0; d < draws; d++)
        {
            var ya = Functional.StochasticDepth(x, p, perSample: false, generator: g).ToArray<double>();
            if (ya[0] == 0)
            {
                dropped++;
                Assert.That(ya, Is.All.EqualTo(0.0), "the whole batch is dropped together");
            }
            else
            {
                Assert.That(ya, Is.EqualTo(xa.Select(v => v * (1 / (1 - p))).ToArray()), "the whole batch survives together");
            }
        }
        AssertRate(dropped, draws, p, "stochastic depth (batch)");
    }

    [Test]
    public void GradCheckWithAFixedSeed()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        ulong seed = TestContext.CurrentContext.Random.NextULong();
        // a new generator with the same seed inside f: every evaluation draws the same mask
        TestUtil.GradCheck(t => Functional.Dropout(t[0], 0.4, generator: new Generator(seed)), TestUtil.Leaf(g, 4, 5));
        TestUtil.GradCheck(t => Functional.Dropout(t[0], 0.4, generator: new Generator(seed)), TestUtil.StridedLeaf(g, 3, 4));
        TestUtil.GradCheck(t => Functional.Dropout2d(t[0], 0.5, generator: new Generator(seed)), TestUtil.Leaf(g, 2, 3, 2, 2));
        TestUtil.GradCheck(t => Functional.StochasticDepth(t[0], 0.5, generator: new Generator(seed)), TestUtil.Leaf(g, 6, 3));
        TestUtil.GradCheck(t => Functional.StochasticDepth(t[0], 0.5, perSample: false, generator: new Generator(seed)), TestUtil.Leaf(g, 3, 3));
        TestUtil.GradCheck(t => Functional.Dropout(t[0].Tanh(), 0.2, generator: new Generator(seed)).Mul(t[0]), TestUtil.Leaf(g, 5, 3));
    }

    [Test]
    public void BadInput([Values(-0.1, 1.5, double.NaN)] double p)
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros(2, 3, 4);
        LossTests.Throws<ArgumentValueException>("dropout", () => Functional.Dropout(x, p));
        LossTests.Throws<ArgumentValueException>("dropout", () => Functional.Dropout(x, p, training: false));
        LossTests.Throws<ArgumentValueException>("dropout2d", () => Functional.Dropout2d(x, p));
        LossTests.Throws<ArgumentValueException>("stochastic_depth", () => Functional.StochasticDepth(x, p));
        LossTests.Throws<ShapeException>("dropout2d", () => Functional.Dropout2d(Tensor.Zeros(2, 3), 0.5));
        LossTests.Throws<DTypeException>("dropout", () => Functional.Dropout(Tensor.Arange(4), 0.5));
    }
}
