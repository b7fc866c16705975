using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Emulated;

/// <summary>
/// The fused KL divergence (<see cref="IBackend.KlDiv"/>, <see cref="IBackend.KlDivBackward"/>): the CPU kernels against
/// the composed formula Functional.KlDiv used before (a copy kept here as the oracle), float64 GradCheck, and the PTX
/// kernels (kl_div.ptx) on <see cref="Device.Emulated"/> against the CPU, every reduction, log targets both ways,
/// zero targets, broadcasting, a grid-stride-sized input, and bad input.
/// </summary>
[NonParallelizable]
public class KlDivKernelTests
{
    private static readonly Device Emu = Device.Emulated;
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Emu);

    /// <summary>The composed formula (the oracle).</summary>
    internal static Tensor Composed(Tensor input, Tensor target, Reduction reduction, bool logTarget)
    {
        Tensor pointwise;
        if (logTarget) pointwise = target.Exp().Mul(target.Sub(input));
        else
        {
            var pos = target.Gt(0.0);
            var safeLog = Tensor.Where(pos, target, target.ScalarLike(1)).Log();
            pointwise = target.Mul(safeLog.Sub(input));
        }
        return reduction switch
        {
            Reduction.None => pointwise,
            Reduction.Sum => pointwise.Sum(),
            Reduction.Mean => pointwise.Mean(),
            _ => pointwise.Sum().Div(input.Rank == 0 ? 1 : input.Size(0)),
        };
    }

    /// <summary>(input shape, target shape) pairs, broadcasting included.</summary>
    internal static readonly (long[] Input, long[] Target)[] Shapes =
    [
        ([1, 2], [1, 2]), ([3, 10], [3, 10]), ([37, 1025], [37, 1025]), ([5, 7], [7]), ([7], [4, 7]), ([6, 1, 3], [1, 5, 3]),
    ];

    /// <summary>Log-probabilities for the input; probabilities with some exact zeros (or log-probabilities) for the target.</summary>
    internal static (Tensor Input, Tensor Target) Operands(Generator g, long[] inShape, long[] tShape, bool logTarget, DType dtype)
    {
        var input = Tensor.Randn(inShape, DType.Float64, g).Mul(2.0).LogSoftmax(-1);
        var t = Tensor.Randn(tShape, DType.Float64, g).Mul(2.0).Softmax(-1);
        Tensor target;
        if (logTarget) target = t.Log();
        else
        {
            // zero every fifth entry (renormalising is not needed: kl_div takes any non-negative target)
            var mask = Tensor.FromArray(Enumerable.Range(0, (int)t.NumEl).Select(i => i % 5 == 2 ? 0.0 : 1.0).ToArray(), tShape);
            target = t.Mul(mask);
        }
        return (input.To(dtype), target.To(dtype));
    }

    /// <summary>Value, input gradient and target gradient (float64, on the CPU) of a KL function under a weighted sum.</summary>
    internal static (Tensor Value, Tensor DInput, Tensor DTarget) Eval(Func<Tensor, Tensor, Tensor> f, Tensor input, Tensor target, Generator g)
    {
        var x = input.Detach().Clone().RequiresGrad_();
        var t = target.Detach().Clone().RequiresGrad_();
        var v = f(x, t);
        // a random upstream gradient for the pointwise form, so a broadcast or ignored upstream gradient is caught
        var w = Tensor.Rand(v.Shape, DType.Float64, g).To(v.DType).To(v.Device);
        v.Mul(w).Sum().Backward();
        return (v.To(Device.Cpu).To(DType.Float64), x.Grad!.To(Device.Cpu).To(DType.Float64), t.Grad!.To(Device.Cpu).To(DType.Float64));
    }

    [Test]
    public void CpuFusedMatchesComposedFormula([Values] Reduction reduction, [Values] bool logTarget, [Values(DType.Float64, DType.Float32)] DType dtype)
    {
        var g = TestUtil.Gen();
        foreach (var (inShape, tShape) in Shapes)
        {
            using var scope = Tensor.NewDisposeScope();
            var (x, t) = Operands(g, inShape, tShape, logTarget, dtype);
            var gs = new Generator(7);
            var expected = Eval((a, b) => Composed(a, b, reduction, logTarget), x.To(DType.Float64), t.To(DType.Float64), gs);
            var got = Eval((a, b) => Functional.KlDiv(a, b, reduction, logTarget), x, t, new Generator(7));
            var (atol, rtol) = dtype == DType.Float64 ? (1e-13, 1e-11) : (2e-6, 1e-4);
            Assert.That(got.Value.Shape, Is.EqualTo(expected.Value.Shape), "shape");
            TestUtil.AssertClose(got.Value, expected.Value, atol, rtol);
            TestUtil.AssertClose(got.DInput, expected.DInput, atol, rtol);
            TestUtil.AssertClose(got.DTarget, expected.DTarget, atol, rtol);
        }
    }

    [Test]
    public void GradCheckFusedFloat64([Values] Reduction reduction, [Values] bool logTarget)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var input = TestUtil.Randn(g, 3, 4).LogSoftmax(1).Detach().RequiresGrad_();
        // strictly positive probability targets: the term is not differentiable in t at t = 0
        var target = (logTarget ? TestUtil.Randn(g, 3, 4).LogSoftmax(1) : TestUtil.Randn(g, 3, 4).Softmax(1)).Detach().RequiresGrad_();
        TestUtil.GradCheck(t => reduction == Reduction.None ? Functional.KlDiv(t[0], t[1], reduction, logTarget).Square().Sum()
            : Functional.KlDiv(t[0], t[1], reduction, logTarget), input, target);
    }

    [Test]
    public void EmulatedKernelsMatchCpu([Values] Reduction reduction, [Values] bool logTarget)
    {
        var g = TestUtil.Gen();
        foreach (var (inShape, tShape) in Shapes)
        {
            using var scope = Tensor.NewDisposeScope();
            var (x, t) = Operands(g, inShape, tShape, logTarget, DType.Float32);
            var cpu = Eval((a, b) => Functional.KlDiv(a, b, reduction, logTarget), x, t, new Generator(11));
            long launches = Gpu.PtxLaunches;
            var emu = Eval((a, b) => Functional.KlDiv(a, b, reduction, logTarget), x.To(Emu), t.To(Emu), new Generator(11));
            Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches), "PTX kernels ran");
            if (inShape.SequenceEqual(tShape)) AssertKernelsArePtx(x, t, logTarget, reduction != Reduction.None);
            string what = $"{reduction} logTarget={logTarget} {ShapeUtil.Format(inShape)} vs {ShapeUtil.Format(tShape)}";
            Assert.That(emu.Value.Shape, Is.EqualTo(cpu.Value.Shape), what);
            TestUtil.AssertClose(emu.Value, cpu.Value, 1e-6, 1e-4);
            TestUtil.AssertClose(emu.DInput, cpu.DInput, 1e-6, 1e-4);
            TestUtil.AssertClose(emu.DTarget, cpu.DTarget, 1e-6, 1e-4);
        }
    }

    // The KL kernels themselves (not the validation's min or the test's reductions) run as PTX with no CPU fallback:
    // direct backend calls, forward (2 launches reduced: partials and finish) and backward (1 launch, both gradients).
    private static void AssertKernelsArePtx(Tensor x, Tensor t, bool logTarget, bool reduce)
    {
        var (xe, te) = (x.To(Emu), t.To(Emu));
        var dst = Tensor.Empty(reduce ? [] : x.ShapeSpan, x.DType, Emu, op: "test");
        var upstream = Tensor.OnesLike(dst);
        var dx = Tensor.Empty(x.ShapeSpan, x.DType, Emu, op: "test");
        var dt = Tensor.Empty(x.ShapeSpan, x.DType, Emu, op: "test");
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        Gpu.KlDiv(dst.View("test"), xe.View("test"), te.View("test"), logTarget, reduce, 0.5);
        Gpu.KlDivBackward(dx.View("test"), dt.View("test"), upstream.View("test"), xe.View("test"), te.View("test"), logTarget, 0.5);
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches + (reduce ? 3 : 2)), "PTX launches");
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no CPU fallback");
    }

    [Test]
    public void EmulatedSumOverMoreThanOneGridIsDeterministic([Values(Reduction.Sum, Reduction.Mean, Reduction.BatchMean)] Reduction reduction)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        // 1024 blocks x 256 threads = 262,144 threads: this input makes every thread loop
        var (x, t) = Operands(g, [300_001], [300_001], false, DType.Float32);
        double cpu = Functional.KlDiv(x, t, reduction).Item();
        var (xe, te) = (x.To(Emu), t.To(Emu));
        double a = Functional.KlDiv(xe, te, reduction).Item(), b = Functional.KlDiv(xe, te, reduction).Item();
        Assert.That(BitConverter.DoubleToInt64Bits(a), Is.EqualTo(BitConverter.DoubleToInt64Bits(b)), "same bits every run");
        Assert.That(a, Is.EqualTo(cpu).Within(1e-4 * (1 + Math.Abs(cpu))));
    }

    [Test]
    public void ZeroTargetsContributeNothingOnTheEmulatedDevice()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { MathF.Log(0.2f), MathF.Log(0.3f), MathF.Log(0.5f), float.NegativeInfinity }, 1, 4).To(Emu).RequiresGrad_();
        var t = Tensor.FromArray(new[] { 0f, 0.4f, 0.6f, 0f }, 1, 4).To(Emu);
        var none = Functional.KlDiv(x, t, Reduction.None).ToArray<float>();
        Assert.That(none[0], Is.EqualTo(0f));
        Assert.That(float.IsNaN(none[3]), "0 * -(-inf) is NaN, as the composed formula and PyTorch");
        var loss = Functional.KlDiv(x.Narrow(1, 0, 3), t.Narrow(1, 0, 3), Reduction.Sum);
        double expected = 0.4 * (Math.Log(0.4) - Math.Log(0.3f)) + 0.6 * (Math.Log(0.6) - Math.Log(0.5f));
        Assert.That(loss.Item(), Is.EqualTo(expected).Within(1e-6));
        loss.Backward();
        Assert.That(x.Grad!.ToArray<float>(), Is.EqualTo(new[] { 0f, -0.4f, -0.6f, 0f }).Within(1e-7));
    }

    [Test]
    public void BadInputRaisesBeforeAnyLaunch()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { -1f, -2f, -3f }).To(Emu);
        var neg = Tensor.FromArray(new[] { 0.5f, -0.1f, 0.6f }).To(Emu);
        var t64 = Tensor.FromArray(new[] { 0.2, 0.3, 0.5 }).To(Emu);
        var wrongShape = Tensor.FromArray(new[] { 0.5f, 0.5f }).To(Emu);
        long launches = Gpu.PtxLaunches;
        Assert.Throws<DTypeException>(() => Functional.KlDiv(x, t64));
        Assert.Throws<ShapeException>(() => Functional.KlDiv(x, wrongShape));
        long afterChecks = Gpu.PtxLaunches;
        Assert.That(afterChecks, Is.EqualTo(launches), "nothing launched for dtype and shape errors");
        var e = Assert.Throws<ArgumentValueException>(() => Functional.KlDiv(x, neg));
        Assert.That(e!.Message, Does.Contain("kl_div").And.Contain("non-negative"));
    }
}
