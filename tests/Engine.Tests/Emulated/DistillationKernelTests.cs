using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Emulated;

/// <summary>
/// The fused knowledge-distillation loss (<see cref="IBackend.DistillationLoss"/>): the CPU kernel against the composed
/// formula it replaced (a copy kept here as the oracle), float64 GradCheck, and the PTX kernel (distillation.ptx) on
/// <see cref="Device.Emulated"/> against the CPU kernel, forward and backward, over batch sizes, class counts,
/// temperatures and alphas, extreme and all-equal logits, ignored labels, and bad input.
/// </summary>
[NonParallelizable]
public class DistillationKernelTests
{
    private static readonly Device Emu = Device.Emulated;
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Emu);

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

    internal static Random Rng() => new((int)TestContext.CurrentContext.Random.NextUInt());

    // Error bounds of a float32 evaluation: logits up to `scale`, so log-sum-exps of size scale/T, and gradient entries
    // of size alpha·T/B + (1 − alpha)/B.
    internal static (double Loss, double Grad) F32Tolerance(double scale, double t, double alpha, int b) =>
        (2e-6 * (alpha * t * t * (2 * scale / t + 10) + (1 - alpha) * (2 * scale + 10)), 2e-5 * (alpha * t + 1) / b);

    [Test]
    public void CpuFusedMatchesComposedFormula([Values(DType.Float64, DType.Float32)] DType dtype)
    {
        var r = Rng();
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
        var r = Rng();
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
    public void EmulatedKernelMatchesCpu()
    {
        var r = Rng();
        var g = TestUtil.Gen();
        foreach (int b in Batches)
            foreach (int c in Classes)
                foreach (double t in Temperatures)
                    foreach (double alpha in Alphas)
                    {
                        using var scope = Tensor.NewDisposeScope();
                        var s = Logits(g, b, c, DType.Float32, 3);
                        var te = Logits(g, b, c, DType.Float32, 5);
                        var y = RandomLabels(r, b, c, ignoreSome: b > 1);
                        CompareEmulated(s, te, y, t, alpha, $"B={b} C={c} T={t} alpha={alpha}", 5);
                    }
    }

    [Test]
    public void EmulatedKernelOnLongRows()
    {
        // 5003 and 5004 columns: the largest block (512 threads, 16 warps merged), about 10 columns per thread, scalar and
        // 16-byte paths
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = Rng();
        foreach (int c in new[] { 5003, 5004 })
            CompareEmulated(Logits(g, 2, c, DType.Float32, 4), Logits(g, 2, c, DType.Float32, 4), RandomLabels(r, 2, c, false), 2, 0.3, $"B=2 C={c}", 4 * 5);
    }

    [Test]
    public void MisalignedRowsTakeTheScalarPath()
    {
        // C % 4 == 0 but the logits start one element into their storage: 16-byte loads would be misaligned (the
        // emulator checks alignment), so the kernel must read element by element
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int b = 5, c = 16;
        var flatS = Logits(g, 1, b * c + 1, DType.Float32, 3).Reshape(-1);
        var flatT = Logits(g, 1, b * c + 1, DType.Float32, 3).Reshape(-1);
        var y = RandomLabels(Rng(), b, c, true);
        var cpu = LossAndGrad(x => Functional.DistillationLoss(x.Narrow(0, 1, b * c).Reshape(b, c), flatT.Narrow(0, 1, b * c).Reshape(b, c), y, 3, 0.3), flatS);
        var fs = flatS.To(Emu);
        var ft = flatT.To(Emu);
        var emu = LossAndGrad(x => Functional.DistillationLoss(x.Narrow(0, 1, b * c).Reshape(b, c), ft.Narrow(0, 1, b * c).Reshape(b, c), y.To(Emu), 3, 0.3), fs);
        Assert.That(emu.Loss, Is.EqualTo(cpu.Loss).Within(1e-5));
        TestUtil.AssertClose(emu.Grad, cpu.Grad, 1e-6, 1e-4);
    }

    [Test]
    public void EmulatedKernelOnExtremeAndEqualLogits([Values(0.5, 1, 4, 20)] double t, [Values(0, 0.3, 1)] double alpha)
    {
        using var scope = Tensor.NewDisposeScope();
        var r = Rng();
        const int b = 4, c = 1025;
        var sv = new float[b * c];
        var tv = new float[b * c];
        for (int i = 0; i < b * c; i++)
        {
            int row = i / c;
            sv[i] = row switch { 0 => 1e4f * (r.Next(2) * 2 - 1), 1 => 3.25f, 2 => -1e4f, _ => (float)(r.NextDouble() * 2e4 - 1e4) };
            tv[i] = row switch { 0 => -1e4f * (r.Next(2) * 2 - 1), 1 => 3.25f, 2 => 1e4f, _ => 0 };
        }
        CompareEmulated(Tensor.FromArray(sv, b, c), Tensor.FromArray(tv, b, c), RandomLabels(r, b, c, false), t, alpha, $"extreme T={t} alpha={alpha}", 1e4);
    }

    private static void CompareEmulated(Tensor s, Tensor te, Tensor y, double t, double alpha, string what, double scale)
    {
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        var (lc, gc) = LossAndGrad(x => Functional.DistillationLoss(x, te, y, t, alpha), s);
        var (le, ge) = LossAndGrad(x => Functional.DistillationLoss(x, te.To(Emu), y.To(Emu), t, alpha), s.To(Emu));
        Assert.That(Gpu.PtxLaunches, Is.GreaterThanOrEqualTo(launches + 2), what + ": the two PTX launches ran");
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), what + ": no CPU fallback");
        var (tl, tg) = F32Tolerance(scale, t, alpha, (int)s.Size(0));
        Assert.That(le, Is.EqualTo(lc).Within(tl), what + ": loss");
        Assert.DoesNotThrow(() => TestUtil.AssertClose(ge, gc, tg, 1e-4), what + ": gradient");
    }

    [Test]
    public void EmulatedKernelIsDeterministicAndSkipsTheGradientWithoutGrad()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var s = Logits(g, 37, 300, DType.Float32, 3).To(Emu);
        var te = Logits(g, 37, 300, DType.Float32, 3).To(Emu);
        var y = RandomLabels(Rng(), 37, 300, true).To(Emu);
        double a = Functional.DistillationLoss(s, te, y, 2, 0.3).Item();
        double b = Functional.DistillationLoss(s, te, y, 2, 0.3).Item();
        Assert.That(BitConverter.DoubleToInt64Bits(a), Is.EqualTo(BitConverter.DoubleToInt64Bits(b)), "same bits every run");
        using (Tensor.NoGrad())
        {
            var sg = s.Detach().RequiresGrad_();
            var loss = Functional.DistillationLoss(sg, te, y, 2, 0.3);
            Assert.That(loss.RequiresGrad, Is.False);
            Assert.That(loss.Item(), Is.EqualTo(a).Within(1e-6 * (1 + Math.Abs(a))));
        }
    }

    [Test]
    public void TeacherGetsNoGradientAndUpstreamGradientScales()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        foreach (var dev in new[] { Device.Cpu, Emu })
        {
            var s = Logits(g, 3, 7, DType.Float32, 2).To(dev).RequiresGrad_();
            var te = Logits(g, 3, 7, DType.Float32, 2).To(dev).RequiresGrad_();
            var y = Tensor.FromArray(new long[] { 1, 6, 0 }).To(dev);
            Functional.DistillationLoss(s, te, y, 3, 0.5).Mul(2.5).Backward();
            var expected = LossAndGrad(x => Composed(x, te.To(Device.Cpu).To(DType.Float64), y.To(Device.Cpu), 3, 0.5).Mul(2.5), s.To(Device.Cpu).To(DType.Float64)).Grad;
            TestUtil.AssertClose(s.Grad!.To(Device.Cpu).To(DType.Float64), expected, 2e-6, 1e-4);
            Assert.That(te.Grad, Is.Null, $"{dev}: the teacher gets no gradient");
        }
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

    [Test]
    public void BadInputRaisesBeforeAnyLaunch()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var s = Logits(g, 3, 5, DType.Float32, 1).To(Emu);
        var te = Logits(g, 3, 5, DType.Float32, 1).To(Emu);
        var te64 = te.To(DType.Float64);
        long launches = Gpu.PtxLaunches;
        var outOfRange = Tensor.FromArray(new long[] { 0, 5, 1 }).To(Emu);
        var ex = Assert.Throws<IndexException>(() => Functional.DistillationLoss(s, te, outOfRange, 2, 0.5));
        Assert.That(ex!.Message, Does.Contain("distillation_loss").And.Contain("5"));
        var negative = Tensor.FromArray(new long[] { 0, -1, 1 }).To(Emu);
        Assert.Throws<IndexException>(() => Functional.DistillationLoss(s, te, negative, 2, 0.5));
        var y = Tensor.FromArray(new long[] { 0, 4, 1 }).To(Emu);
        foreach (double t in new[] { 0.0, -1, double.NaN, double.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentValueException>(() => Functional.DistillationLoss(s, te, y, t, 0.5));
            Assert.That(e!.Message, Does.Contain("temperature"));
        }
        Assert.Throws<ArgumentValueException>(() => Functional.DistillationLoss(s, te, y, 2, 1.5));
        Assert.Throws<DTypeException>(() => Functional.DistillationLoss(s, te64, y, 2, 0.5));
        Assert.Throws<ShapeException>(() => Functional.DistillationLoss(s, te.Narrow(1, 0, 4), y, 2, 0.5));
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches), "nothing launched");
    }

    [Test]
    public void NonContiguousLogitsAreMadeContiguous()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var sBase = Logits(g, 9, 4, DType.Float32, 2);
        var tBase = Logits(g, 9, 4, DType.Float32, 2);
        var y = Tensor.FromArray(new long[] { 0, 3, 8, 2 });
        var expected = LossAndGrad(x => Composed(x, tBase.To(DType.Float64).T, y, 1.5, 0.3), sBase.To(DType.Float64).T);
        var got = LossAndGrad(x => Functional.DistillationLoss(x.T, tBase.To(Emu).T, y.To(Emu), 1.5, 0.3), sBase.To(Emu));
        Assert.That(got.Loss, Is.EqualTo(expected.Loss).Within(1e-5));
        TestUtil.AssertClose(got.Grad, expected.Grad.T, 1e-6, 1e-4);
    }
}
