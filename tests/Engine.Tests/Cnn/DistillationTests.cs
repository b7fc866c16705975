using Engine.Kernels;

namespace Engine.Tests.Cnn;

/// <summary>
/// The fused knowledge-distillation loss (<see cref="Engine.Kernels.Fused.FusedOps.Distillation"/>) on the CPU: the kernel against the
/// composed formula it replaced (a copy kept here as the oracle, also used by <see cref="Gpu.DistillationKernelTests"/>),
/// extreme and all-equal logits, float64 GradCheck, and the fallback to the composed formula.
/// </summary>
public class DistillationTests
{
    internal static readonly int[] Batches = [1, 3, 37];
    internal static readonly int[] Classes = [2, 10, 1000, 1025];
    internal static readonly double[] Temperatures = [0.5, 1, 4, 20];
    internal static readonly double[] Alphas = [0, 0.3, 1];

    /// <summary>The composed formula that Functional.DistillationLoss used before the fused kernel (the oracle).</summary>
    internal static Tensor Composed(Tensor student, Tensor teacher, Tensor labels, double temperature, double alpha)
    {
        var t = teacher.Detach();
        var logQ = student.Div(temperature).LogSoftmax(1);
        var logP = t.Div(temperature).LogSoftmax(1);
        var soft = logP.Exp().Mul(logP.Sub(logQ)).Sum().Div(student.Size(0)).Mul(alpha * temperature * temperature);
        if (alpha == 1) return soft;
        return soft.Add(Functional.CrossEntropy(student, labels).Mul(1 - alpha));
    }

    /// <summary>Loss and student gradient of <paramref name="f"/> on copies of the inputs (on their device).</summary>
    internal static (double Loss, Tensor Grad) LossAndGrad(Func<Tensor, Tensor> f, Tensor student)
    {
        var s = student.Detach().Clone().RequiresGrad_();
        var loss = f(s);
        loss.Backward();
        return (loss.Item(), s.Grad!.To(Device.Cpu).To(DType.Float64));
    }

    internal static Tensor Logits(Generator g, int b, int c, DType dtype, double scale) => Tensor.Randn([b, c], DType.Float64, g).Mul(scale).To(dtype);

    internal static Tensor RandomLabels(Random r, int b, int c, bool ignoreSome)
    {
        var y = new long[b];
        for (int i = 0; i < b; i++) y[i] = ignoreSome && i % 3 == 1 ? -100 : r.Next(c);
        return Tensor.FromArray(y);
    }

    // Error bounds of a float32 evaluation: logits up to `scale`, so log-sum-exps of size scale/T, and gradient entries
    // of size alpha·T/B + (1 − alpha)/B.
    internal static (double Loss, double Grad) F32Tolerance(double scale, double t, double alpha, int b) =>
        (2e-6 * (alpha * t * t * (2 * scale / t + 10) + (1 - alpha) * (2 * scale + 10)), 2e-5 * (alpha * t + 1) / b);

    [Test]
    public void CpuFusedMatchesComposedFormula([Values(DType.Float64, DType.Float32)] DType dtype)
    {
        var r = TestUtil.Rng();
        var g = TestUtil.Gen();
        foreach (int b in Batches)
            foreach (int c in Classes)
                foreach (double t in Temperatures)
                    foreach (double alpha in Alphas)
                    {
                        using var scope = Tensor.NewDisposeScope();
                        var s = Logits(g, b, c, dtype, 3);
                        var te = Logits(g, b, c, dtype, 5);
                        var y = RandomLabels(r, b, c, ignoreSome: b > 1);
                        // the oracle in float64 (the composed float32 graph is itself the less accurate one)
                        var (lo, go) = LossAndGrad(x => Composed(x, te.To(DType.Float64), y, t, alpha), s.To(DType.Float64));
                        var (lf, gf) = LossAndGrad(x => Functional.DistillationLoss(x, te, y, t, alpha), s);
                        string what = $"B={b} C={c} T={t} alpha={alpha} {dtype.Name()}";
                        var (tl, tg) = dtype == DType.Float64 ? (1e-12 * (1 + Math.Abs(lo)), 1e-13) : F32Tolerance(5, t, alpha, b);
                        Assert.That(lf, Is.EqualTo(lo).Within(tl), what + ": loss");
                        TestUtil.AssertClose(gf, go, tg, dtype == DType.Float64 ? 1e-10 : 1e-4);
                    }
    }

    [Test]
    public void CpuFusedMatchesComposedOnExtremeAndEqualLogits([Values(0.5, 1, 4, 20)] double t, [Values(0, 0.3, 1)] double alpha)
    {
        using var scope = Tensor.NewDisposeScope();
        var r = TestUtil.Rng();
        const int b = 5, c = 10;
        var sv = new double[b * c];
        var tv = new double[b * c];
        for (int i = 0; i < b * c; i++)
        {
            int row = i / c;
            sv[i] = row switch { 0 => 1e4 * (r.Next(2) * 2 - 1), 1 => 7.5, 2 => -1e4, _ => r.NextDouble() * 2e4 - 1e4 };
            tv[i] = row switch { 0 => -1e4 * (r.Next(2) * 2 - 1), 1 => 7.5, 2 => 1e4, 3 => 0, _ => r.NextDouble() * 2e4 - 1e4 };
        }
        var s = Tensor.FromArray(sv, b, c);
        var te = Tensor.FromArray(tv, b, c);
        var y = RandomLabels(r, b, c, ignoreSome: false);
        var (lo, go) = LossAndGrad(x => Composed(x, te, y, t, alpha), s);
        var (lf, gf) = LossAndGrad(x => Functional.DistillationLoss(x, te, y, t, alpha), s);
        Assert.That(double.IsFinite(lf), $"finite loss, got {lf}");
        // Both evaluate log-softmax of logits up to 1e4/T: each term carries a rounding error of about 2^-52 · 1e4/T,
        // and the loss scales them by α·T² (soft part) and 1 − α (cross-entropy).
        double termError = 16 * Math.Pow(2, -52) * 1e4 / t * (alpha * t * t + (1 - alpha)) * c;
        Assert.That(lf, Is.EqualTo(lo).Within(1e-11 * (1 + Math.Abs(lo)) + termError));
        TestUtil.AssertClose(gf, go, 1e-12, 1e-9);
    }

    [Test]
    public void GradCheckFusedFloat64([Values(0.5, 4)] double t, [Values(0, 0.3, 1)] double alpha)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var student = TestUtil.Leaf(g, 3, 5);
        var teacher = TestUtil.Randn(g, 3, 5).Mul(2.0);
        var y = Tensor.FromArray(new long[] { 4, -100, 1 });
        TestUtil.GradCheck(x => Functional.DistillationLoss(x[0], teacher, y, t, alpha), student);
    }

    [Test]
    public void SoftLabelsAndAllIgnoredFallBackToTheComposedFormula()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var s = TestUtil.Randn(g, 4, 6);
        var te = TestUtil.Randn(g, 4, 6);
        var soft = TestUtil.Randn(g, 4, 6).Softmax(1);
        Assert.That(Functional.DistillationLoss(s, te, soft, 2, 0.4).Item(), Is.EqualTo(Composed(s, te, soft, 2, 0.4).Item()).Within(1e-12));
        var ignored = Tensor.FromArray(new long[] { -100, -100, -100, -100 });
        Assert.That(double.IsNaN(Functional.DistillationLoss(s, te, ignored, 2, 0.4).Item()), "0/0 cross-entropy, as the composed formula");
        Assert.That(Functional.DistillationLoss(s, te, ignored, 2, 1).Item(), Is.EqualTo(Composed(s, te, ignored, 2, 1).Item()).Within(1e-12));
    }
}
