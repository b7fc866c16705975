using Engine.Kernels;

namespace Engine.Tests.Cnn;

/// <summary>Hardswish, hardsigmoid, SiLU and softsign against their formulas, and softmax / log-softmax with a temperature.</summary>
public class ActivationTests
{
    private static readonly double[] Points = [-1000, -40, -10, -3.5, -3, -2.5, -1, -0.25, 0, 0.5, 1, 2.9, 3, 3.01, 10, 40, 1000];

    private static double Relu6(double v) => Math.Min(Math.Max(v, 0), 6);
    private static double HardsigmoidRef(double x) => Relu6(x + 3) / 6;
    private static double HardswishRef(double x) => x * Relu6(x + 3) / 6;
    private static double SiluRef(double x) => x * LossRef.Sigmoid(x);
    private static double SoftsignRef(double x) => x / (1 + Math.Abs(x));

    private static double HardsigmoidGrad(double x) => x > -3 && x < 3 ? 1.0 / 6 : 0;
    private static double HardswishGrad(double x) => x < -3 ? 0 : x > 3 ? 1 : (2 * x + 3) / 6;
    private static double SiluGrad(double x) { double s = LossRef.Sigmoid(x); return s * (1 + x * (1 - s)); }
    private static double SoftsignGrad(double x) => 1 / ((1 + Math.Abs(x)) * (1 + Math.Abs(x)));

    private static (Func<Tensor, Tensor> Op, Func<double, double> Value, Func<double, double> Grad) Activation(string name) => name switch
    {
        "hardswish" => (t => t.Hardswish(), HardswishRef, HardswishGrad),
        "hardsigmoid" => (t => t.Hardsigmoid(), HardsigmoidRef, HardsigmoidGrad),
        // an activation with no named method: reached through its ActivationSpec row
        "softsign" => (t => t.Apply(UnaryOp.Softsign), SoftsignRef, SoftsignGrad),
        _ => (t => t.Silu(), SiluRef, SiluGrad),
    };

    [TestCase("hardswish")]
    [TestCase("hardsigmoid")]
    [TestCase("silu")]
    [TestCase("softsign")]
    public void ValuesAndGradientsMatchTheFormula(string name)
    {
        using var scope = Tensor.NewDisposeScope();
        var (op, value, grad) = Activation(name);
        var x = Tensor.FromArray(Points).RequiresGrad_();
        var y = op(x);
        TestUtil.AssertClose(y, Points.Select(value).ToArray(), 1e-14, 1e-14);
        Assert.That(y.ToArray<double>().All(double.IsFinite), "finite at ±1000");
        y.Sum().Backward();
        // the kinks at ±3 are excluded from the gradient comparison
        var g = x.Grad!.ToArray<double>();
        for (int i = 0; i < Points.Length; i++)
            if (Math.Abs(Math.Abs(Points[i]) - 3) > 1e-9)
                LossRef.Close(g[i], grad(Points[i]), 1e-14, 1e-12, $"{name}'({Points[i]})");
        // float32 agrees to single precision
        var y32 = op(Tensor.FromArray(Points.Select(v => (float)v).ToArray()));
        TestUtil.AssertClose(y32, Points.Select(value).ToArray(), 1e-5, 1e-6);
    }

    /// <summary>
    /// SiLU and its gradient on rows longer than the CPU kernel's 256-element chunks (and not a multiple of them), with a
    /// random upstream gradient, against the formula.
    /// </summary>
    [Test]
    public void SiluOverManyElementsMatchesTheFormula([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = Tensor.Randn([3, 347], dt, g).Mul(4).RequiresGrad_();
        var gy = Tensor.Randn([3, 347], dt, g);
        var y = x.Silu();
        y.Backward(gy);
        double[] xs = x.ToDoubleArray(), gys = gy.ToDoubleArray();
        double tol = dt == DType.Float32 ? 1e-5 : 1e-13;
        TestUtil.AssertClose(y, xs.Select(SiluRef).ToArray(), tol, tol);
        TestUtil.AssertClose(x.Grad!, xs.Select((v, i) => gys[i] * SiluGrad(v)).ToArray(), tol, tol);
    }

    [Test]
    public void ApplyRefusesAnOpWithoutAnActivationRow()
    {
        using var x = Tensor.FromArray(new[] { 1.0, 2.0 });
        var e = Assert.Throws<ArgumentValueException>(() => x.Apply(UnaryOp.Exp));
        Assert.That(e!.Message, Does.Contain("Exp"));
        using var i = Tensor.FromArray(new long[] { 1, 2 });
        Assert.Throws<DTypeException>(() => i.Apply(UnaryOp.Softsign));
    }

    [Test]
    public void HandWorkedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { -4.0, -3, -1.5, 0, 1.5, 3, 4 });
        // hardsigmoid: clamp((x + 3)/6, 0, 1); hardswish: x·hardsigmoid(x)
        TestUtil.AssertClose(x.Hardsigmoid(), [0, 0, 0.25, 0.5, 0.75, 1, 1], 1e-15, 0);
        TestUtil.AssertClose(x.Hardswish(), [0, 0, -0.375, 0, 1.125, 3, 4], 1e-15, 0);
        // silu(0) = 0, silu(±1) = ±σ(±1)
        TestUtil.AssertClose(Tensor.FromArray(new[] { 0.0, 1, -1 }).Silu(), [0, 0.7310585786300049, -0.2689414213699951], 1e-15, 1e-15);
    }

    [TestCase("hardswish")]
    [TestCase("hardsigmoid")]
    [TestCase("silu")]
    public void GradCheckAwayFromKinks(string name)
    {
        using var scope = Tensor.NewDisposeScope();
        var (op, _, _) = Activation(name);
        using var r = Tensor.Randn([4, 6], DType.Float64, TestUtil.Gen());
        // spread over [−6, 6] and moved off ±3, where hardswish and hardsigmoid have kinks
        var v = r.ToArray<double>().Select(e => e * 3).Select(e => Math.Abs(Math.Abs(e) - 3) < 1e-3 ? e + 0.01 : e).ToArray();
        var x = Tensor.FromArray(v, 4, 6).RequiresGrad_();
        TestUtil.GradCheck(t => op(t[0]), x);
        TestUtil.GradCheck(t => op(t[0]), Tensor.FromArray(new[] { -5, -2.99, -1, 0, 0.3, 2.99, 5 }).RequiresGrad_());
        TestUtil.GradCheck(t => op(t[0]).Mul(t[0]), TestUtil.StridedLeaf(TestUtil.Gen(), 3, 2));
    }

    // ---- softmax with a temperature -----------------------------------------------------------------------

    [TestCase(0.5)]
    [TestCase(1.0)]
    [TestCase(4.0)]
    [TestCase(20.0)]
    public void TemperatureSoftmaxMatchesDefinition(double temperature)
    {
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.Randn(TestUtil.Gen(), 5, 7).Mul(3.0);
        var rows = LossRef.Rows(x.ToArray<double>(), 7);
        var p = Functional.Softmax(x, temperature);
        var lp = Functional.LogSoftmax(x, temperature);
        TestUtil.AssertClose(p, rows.SelectMany(r => LossRef.SoftmaxRow(r, temperature)).ToArray(), 1e-15, 1e-12);
        TestUtil.AssertClose(lp, rows.SelectMany(r => LossRef.LogSoftmaxRow(r, temperature)).ToArray(), 1e-13, 1e-12);
        TestUtil.AssertClose(p.Sum(1), Enumerable.Repeat(1.0, 5).ToArray(), 1e-14, 0);
        TestUtil.AssertClose(lp.Exp(), p, 1e-15, 1e-12);
        // along dim 0 the columns sum to 1
        TestUtil.AssertClose(Functional.Softmax(x, temperature, 0).Sum(0), Enumerable.Repeat(1.0, 7).ToArray(), 1e-14, 0);
    }

    [Test]
    public void HigherTemperatureIsFlatter()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 2.0, -1, 0.5, 3 }, 1, 4);
        double prev = 1;
        foreach (var t in new[] { 0.5, 1, 4, 20 })
        {
            double top = Functional.Softmax(x, t).Max().Item();
            Assert.That(top, Is.LessThan(prev), $"T = {t}");
            Assert.That(top, Is.GreaterThan(0.25));
            prev = top;
        }
    }

    [TestCase(0.5)]
    [TestCase(1.0)]
    [TestCase(4.0)]
    [TestCase(20.0)]
    public void ExtremeAndEqualLogits(double temperature)
    {
        using var scope = Tensor.NewDisposeScope();
        double[] data = [1e4, -1e4, 0, 1e4 - 1, -1e4, -1e4, -1e4, -1e4, 5, 5, 5, 5, 1e4, 1e4, 1e4, 1e4, -1e4, 1e4, -1e4, -1e4];
        var rows = LossRef.Rows(data, 4);
        var x = Tensor.FromArray(data, 5, 4);
        var p = Functional.Softmax(x, temperature).ToArray<double>();
        var lp = Functional.LogSoftmax(x, temperature).ToArray<double>();
        Assert.That(p.All(double.IsFinite) && lp.All(double.IsFinite), "finite");
        Assert.That(p, Is.EqualTo(rows.SelectMany(r => LossRef.SoftmaxRow(r, temperature))).Within(1e-12));
        Assert.That(lp, Is.EqualTo(rows.SelectMany(r => LossRef.LogSoftmaxRow(r, temperature))).Within(1e-9));
        for (int i = 0; i < 5; i++) Assert.That(p.Skip(4 * i).Take(4).Sum(), Is.EqualTo(1.0).Within(1e-14), $"row {i}");
        // all-equal rows are uniform, whatever their level
        Assert.That(p.Skip(4).Take(12), Is.All.EqualTo(0.25).Within(1e-15));
        Assert.That(lp.Skip(4).Take(12), Is.All.EqualTo(-Math.Log(4)).Within(1e-14));
        // the dominant entry takes everything; log-probabilities of the rest are −Δ/T, not −∞
        Assert.That(p[17], Is.EqualTo(1.0).Within(1e-15));
        Assert.That(lp[16], Is.EqualTo(-2e4 / temperature).Within(1e-9 * 2e4 / temperature));
        // float32 too
        var x32 = Tensor.FromArray(data.Select(v => (float)v).ToArray(), 5, 4);
        var p32 = Functional.Softmax(x32, temperature).ToArray<float>();
        var lp32 = Functional.LogSoftmax(x32, temperature).ToArray<float>();
        Assert.That(p32.All(float.IsFinite) && lp32.All(float.IsFinite), "finite in float32");
        for (int i = 0; i < 5; i++) Assert.That(p32.Skip(4 * i).Take(4).Sum(), Is.EqualTo(1.0f).Within(1e-6f), $"float32 row {i}");
        Assert.That(p32.Skip(4).Take(12), Is.All.EqualTo(0.25f).Within(1e-7f));
    }

    [TestCase(0.5, 1)]
    [TestCase(1.0, -1)]
    [TestCase(4.0, 1)]
    [TestCase(3.0, 0)]
    public void GradCheckTemperatureSoftmax(double temperature, int dim)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        TestUtil.GradCheck(t => Functional.Softmax(t[0], temperature, dim), TestUtil.Leaf(g, 3, 5));
        TestUtil.GradCheck(t => Functional.LogSoftmax(t[0], temperature, dim), TestUtil.Leaf(g, 3, 5));
        TestUtil.GradCheck(t => Functional.LogSoftmax(t[0], temperature, dim), TestUtil.StridedLeaf(g, 4, 3));
    }
}
