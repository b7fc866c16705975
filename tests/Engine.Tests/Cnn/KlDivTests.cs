using Engine.Kernels;

namespace Engine.Tests.Cnn;

/// <summary>
/// The fused KL divergence (<see cref="Engine.Kernels.Fused.FusedOps.KlDiv"/>, <see cref="Engine.Kernels.Fused.FusedOps.KlDivBackward"/>) on the CPU: the kernels
/// against the composed formula Functional.KlDiv used before (a copy kept here as the oracle, also used by
/// <see cref="Gpu.KlDivKernelTests"/>), every reduction, log targets both ways, broadcasting, and float64 GradCheck.
/// </summary>
public class KlDivTests
{
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
}
