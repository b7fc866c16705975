using Engine.Kernels;
using Engine.Kernels.Gpu;
using Engine.Tests.Cnn;

namespace Engine.Tests.Gpu;

/// <summary>
/// The KL divergence PTX kernels (kl_div.ptx) on each GPU device against the CPU kernels, forward and backward: every
/// reduction, log targets both ways, zero targets, broadcasting, a grid-stride-sized input, and bad input.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class KlDivKernelTests(TestDevice dev) : DeviceTests(dev)
{
    [Test]
    public void KernelsMatchCpu([Values] Reduction reduction, [Values] bool logTarget)
    {
        var g = TestUtil.Gen();
        foreach (var (inShape, tShape) in KlDivTests.Shapes)
        {
            using var scope = Tensor.NewDisposeScope();
            var (x, t) = KlDivTests.Operands(g, inShape, tShape, logTarget, DType.Float32);
            var cpu = KlDivTests.Eval((a, b) => Functional.KlDiv(a, b, reduction, logTarget), x, t, new Generator(11));
            long launches = Gpu.PtxLaunches;
            var dev = KlDivTests.Eval((a, b) => Functional.KlDiv(a, b, reduction, logTarget), x.To(Device), t.To(Device), new Generator(11));
            Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches), "PTX kernels ran");
            if (inShape.SequenceEqual(tShape)) AssertKernelsArePtx(x, t, logTarget, reduction != Reduction.None);
            string what = $"{reduction} logTarget={logTarget} {ShapeUtil.Format(inShape)} vs {ShapeUtil.Format(tShape)}";
            Assert.That(dev.Value.Shape, Is.EqualTo(cpu.Value.Shape), what);
            TestUtil.AssertClose(dev.Value, cpu.Value, 1e-6, 1e-4);
            TestUtil.AssertClose(dev.DInput, cpu.DInput, 1e-6, 1e-4);
            TestUtil.AssertClose(dev.DTarget, cpu.DTarget, 1e-6, 1e-4);
        }
    }

    // The KL kernels themselves (not the validation's min or the test's reductions) run as PTX with no CPU fallback:
    // direct backend calls, forward (2 launches reduced: partials and finish) and backward (1 launch, both gradients).
    private void AssertKernelsArePtx(Tensor x, Tensor t, bool logTarget, bool reduce)
    {
        var (xe, te) = (x.To(Device), t.To(Device));
        var dst = Tensor.Empty(reduce ? [] : x.ShapeSpan, x.DType, Device, op: "test");
        var upstream = Tensor.OnesLike(dst);
        var dx = Tensor.Empty(x.ShapeSpan, x.DType, Device, op: "test");
        var dt = Tensor.Empty(x.ShapeSpan, x.DType, Device, op: "test");
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        Gpu.KlDiv(dst.View("test"), xe.View("test"), te.View("test"), logTarget, reduce, 0.5);
        Gpu.KlDivBackward(dx.View("test"), dt.View("test"), upstream.View("test"), xe.View("test"), te.View("test"), logTarget, 0.5);
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches + (reduce ? 3 : 2)), "PTX launches");
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no CPU fallback");
    }

    [Test]
    public void SumOverMoreThanOneGridIsDeterministic([Values(Reduction.Sum, Reduction.Mean, Reduction.BatchMean)] Reduction reduction)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        // 1024 blocks x 256 threads = 262,144 threads: this input makes every thread loop
        var (x, t) = KlDivTests.Operands(g, [300_001], [300_001], false, DType.Float32);
        double cpu = Functional.KlDiv(x, t, reduction).Item();
        var (xe, te) = (x.To(Device), t.To(Device));
        double a = Functional.KlDiv(xe, te, reduction).Item(), b = Functional.KlDiv(xe, te, reduction).Item();
        Assert.That(BitConverter.DoubleToInt64Bits(a), Is.EqualTo(BitConverter.DoubleToInt64Bits(b)), "same bits every run");
        Assert.That(a, Is.EqualTo(cpu).Within(1e-4 * (1 + Math.Abs(cpu))));
    }

    [Test]
    public void ZeroTargetsContributeNothing()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { MathF.Log(0.2f), MathF.Log(0.3f), MathF.Log(0.5f), float.NegativeInfinity }, 1, 4).To(Device).RequiresGrad_();
        var t = Tensor.FromArray(new[] { 0f, 0.4f, 0.6f, 0f }, 1, 4).To(Device);
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
        var x = Tensor.FromArray(new[] { -1f, -2f, -3f }).To(Device);
        var neg = Tensor.FromArray(new[] { 0.5f, -0.1f, 0.6f }).To(Device);
        var t64 = Tensor.FromArray(new[] { 0.2, 0.3, 0.5 }).To(Device);
        var wrongShape = Tensor.FromArray(new[] { 0.5f, 0.5f }).To(Device);
        long launches = Gpu.PtxLaunches;
        Assert.Throws<DTypeException>(() => Functional.KlDiv(x, t64));
        Assert.Throws<ShapeException>(() => Functional.KlDiv(x, wrongShape));
        long afterChecks = Gpu.PtxLaunches;
        Assert.That(afterChecks, Is.EqualTo(launches), "nothing launched for dtype and shape errors");
        var e = Assert.Throws<ArgumentValueException>(() => Functional.KlDiv(x, neg));
        Assert.That(e!.Message, Does.Contain("kl_div").And.Contain("non-negative"));
    }
}
