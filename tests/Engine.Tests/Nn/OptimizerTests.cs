using System.Text.Json.Nodes;
using Engine.Kernels.Cpu;
using Engine.Nn;

namespace Engine.Tests.Nn;

/// <summary>
/// The optimizers against PyTorch's update formulas (torch.optim docs), recomputed here element by element in
/// plain doubles; param groups, zero_grad, skipped parameters, state round trips, validation and memory.
/// </summary>
[NonParallelizable]
public class OptimizerTests
{
    private const int Steps = 4;
    private static readonly double[] P0 = [0.5, -1.25, 2.0, 0.0, -0.3];

    /// <summary>Gradient of step t (deterministic, of both signs, different per element and step).</summary>
    private static double[] GradAt(int t, int n = 5) => [.. Enumerable.Range(0, n).Select(i => Math.Sin(1.3 * i + 0.7 * t + 0.2) * (1 + 0.5 * i))];

    private static Tensor Param(double[] values) => Tensor.FromArray((double[])values.Clone()).RequiresGrad_();

    private static void SetGrad(Tensor p, double[] g) => p.Grad = Tensor.FromArray(g);

    /// <summary>Runs <paramref name="steps"/> steps on a float64 parameter starting at P0, returning the parameter after each step.</summary>
    private static double[][] Run(Func<Tensor, Optimizer> make, int steps = Steps)
    {
        using var p = Param(P0);
        using var opt = make(p);
        var result = new double[steps][];
        for (int t = 0; t < steps; t++)
        {
            SetGrad(p, GradAt(t));
            opt.Step();
            result[t] = p.ToArray<double>();
        }
        return result;
    }

    private static void AssertTrajectory(double[][] actual, double[][] expected, double tol = 1e-12)
    {
        for (int t = 0; t < expected.Length; t++)
            for (int i = 0; i < expected[t].Length; i++)
                Assert.That(actual[t][i], Is.EqualTo(expected[t][i]).Within(tol), $"step {t + 1}, element {i}");
    }

    // ---- reference implementations, scalar by scalar, from the PyTorch docs' pseudo-code ---------------------

    private static double[][] RefSgd(double lr, double momentum = 0, double dampening = 0, double wd = 0, bool nesterov = false, int steps = Steps)
    {
        var p = (double[])P0.Clone();
        var buf = new double[p.Length];
        var traj = new double[steps][];
        for (int t = 0; t < steps; t++)
        {
            var grad = GradAt(t);
            for (int i = 0; i < p.Length; i++)
            {
                double g = grad[i];
                if (wd != 0) g += wd * p[i];
                if (momentum != 0)
                {
                    buf[i] = t == 0 ? g : momentum * buf[i] + (1 - dampening) * g;
                    g = nesterov ? g + momentum * buf[i] : buf[i];
                }
                p[i] -= lr * g;
            }
            traj[t] = (double[])p.Clone();
        }
        return traj;
    }

    private static double[][] RefAdam(double lr, double b1 = 0.9, double b2 = 0.999, double eps = 1e-8, double wd = 0,
        bool amsgrad = false, bool decoupled = false, int steps = Steps)
    {
        var p = (double[])P0.Clone();
        var m = new double[p.Length];
        var v = new double[p.Length];
        var vmax = new double[p.Length];
        var traj = new double[steps][];
        for (int t = 1; t <= steps; t++)
        {
            var grad = GradAt(t - 1);
            for (int i = 0; i < p.Length; i++)
            {
                double g = grad[i];
                if (decoupled) p[i] *= 1 - lr * wd;
                else g += wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mHat = m[i] / (1 - Math.Pow(b1, t));
                double second = v[i];
                if (amsgrad) { vmax[i] = Math.Max(vmax[i], v[i]); second = vmax[i]; }
                double vHat = second / (1 - Math.Pow(b2, t));
                // PyTorch: denom = sqrt(v)/sqrt(bc2) + eps, i.e. sqrt(v̂) + eps
                p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            traj[t - 1] = (double[])p.Clone();
        }
        return traj;
    }

    private static double[][] RefRmsprop(double lr, double alpha = 0.99, double eps = 1e-8, double wd = 0, double momentum = 0,
        bool centered = false, int steps = Steps)
    {
        var p = (double[])P0.Clone();
        var v = new double[p.Length];
        var gAvg = new double[p.Length];
        var buf = new double[p.Length];
        var traj = new double[steps][];
        for (int t = 0; t < steps; t++)
        {
            var grad = GradAt(t);
            for (int i = 0; i < p.Length; i++)
            {
                double g = grad[i] + wd * p[i];
                v[i] = alpha * v[i] + (1 - alpha) * g * g;
                double vt = v[i];
                if (centered)
                {
                    gAvg[i] = alpha * gAvg[i] + (1 - alpha) * g;
                    vt -= gAvg[i] * gAvg[i];
                }
                double d = Math.Sqrt(vt) + eps;
                if (momentum > 0)
                {
                    buf[i] = momentum * buf[i] + g / d;
                    p[i] -= lr * buf[i];
                }
                else p[i] -= lr * g / d;
            }
            traj[t] = (double[])p.Clone();
        }
        return traj;
    }

    // ---- SGD -------------------------------------------------------------------------------------------------

    [Test]
    public void SgdMomentumHandWorked()
    {
        // p = 1, g = 1 each step, lr 0.1, momentum 0.9: buf 1 → 1.9, p 0.9 → 0.71 (first buffer = grad, no dampening).
        using var p = Tensor.FromArray([1.0]).RequiresGrad_();
        using var opt = new SGD([p], lr: 0.1, momentum: 0.9, dampening: 0.5);
        SetGrad(p, [1.0]);
        opt.Step();
        Assert.That(p.Item(), Is.EqualTo(0.9).Within(1e-15));
        Assert.That(opt.State(p)!["momentum_buffer"]!.Item(), Is.EqualTo(1.0));
        SetGrad(p, [1.0]);
        opt.Step();
        // dampening 0.5 from the second step: buf = 0.9·1 + 0.5·1 = 1.4, p = 0.9 − 0.14
        Assert.That(opt.State(p)!["momentum_buffer"]!.Item(), Is.EqualTo(1.4).Within(1e-15));
        Assert.That(p.Item(), Is.EqualTo(0.76).Within(1e-15));
    }

    [Test]
    public void SgdNesterovHandWorked()
    {
        using var p = Tensor.FromArray([1.0]).RequiresGrad_();
        using var opt = new SGD([p], lr: 0.1, momentum: 0.9, nesterov: true);
        SetGrad(p, [1.0]);
        opt.Step(); // buf 1, g = 1 + 0.9·1 = 1.9
        Assert.That(p.Item(), Is.EqualTo(0.81).Within(1e-15));
        SetGrad(p, [1.0]);
        opt.Step(); // buf 1.9, g = 1 + 0.9·1.9 = 2.71
        Assert.That(p.Item(), Is.EqualTo(0.539).Within(1e-15));
    }

    [Test]
    public void SgdPlain() => AssertTrajectory(Run(p => new SGD([p], lr: 0.05)), RefSgd(0.05));

    [Test]
    public void SgdMomentumDampeningWeightDecay() =>
        AssertTrajectory(Run(p => new SGD([p], lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.1)), RefSgd(0.05, 0.8, 0.3, 0.1));

    [Test]
    public void SgdNesterovWeightDecay() =>
        AssertTrajectory(Run(p => new SGD([p], lr: 0.05, momentum: 0.9, weightDecay: 0.01, nesterov: true)), RefSgd(0.05, 0.9, 0, 0.01, true));

    [Test]
    public void SgdNesterovWithoutWeightDecay() =>
        AssertTrajectory(Run(p => new SGD([p], lr: 0.05, momentum: 0.9, nesterov: true)), RefSgd(0.05, 0.9, 0, 0, true));

    [Test]
    public void SgdDefaultsMatchPyTorch()
    {
        using var p = Param(P0);
        using var opt = new SGD([p]);
        var g = opt.ParamGroups[0];
        Assert.That((g.Lr, g.Momentum, g.Dampening, g.WeightDecay, g.Nesterov), Is.EqualTo((1e-3, 0.0, 0.0, 0.0, false)));
        Assert.That(g.InitialLr, Is.EqualTo(1e-3));
    }

    // ---- Adam / AdamW ------------------------------------------------------------------------------------------

    [Test]
    public void AdamHandWorked()
    {
        // Constant gradient 1: the bias-corrected moments are exactly 1, so each step moves p by lr/(1 + eps).
        using var p = Tensor.FromArray([1.0]).RequiresGrad_();
        using var opt = new Adam([p], lr: 0.1);
        SetGrad(p, [1.0]);
        opt.Step();
        Assert.That(p.Item(), Is.EqualTo(1 - 0.1 / (1 + 1e-8)).Within(1e-14));
        var st = opt.State(p)!;
        Assert.That(st.Step, Is.EqualTo(1));
        Assert.That(st["exp_avg"]!.Item(), Is.EqualTo(0.1).Within(1e-15));
        Assert.That(st["exp_avg_sq"]!.Item(), Is.EqualTo(0.001).Within(1e-16));
        SetGrad(p, [1.0]);
        opt.Step();
        Assert.That(p.Item(), Is.EqualTo(1 - 0.2 / (1 + 1e-8)).Within(1e-14));
        Assert.That(st.Step, Is.EqualTo(2));
    }

    [Test]
    public void AdamDefaultsMatchPyTorch()
    {
        using var p = Param(P0);
        using var adam = new Adam([p]);
        var g = adam.ParamGroups[0];
        Assert.That((g.Lr, g.Betas, g.Eps, g.WeightDecay, g.Amsgrad), Is.EqualTo((1e-3, (0.9, 0.999), 1e-8, 0.0, false)));
        using var adamw = new AdamW([p]);
        Assert.That(adamw.ParamGroups[0].WeightDecay, Is.EqualTo(0.01));
        Assert.That(adamw.Name, Is.EqualTo("AdamW"));
    }

    [Test]
    public void AdamPlain() => AssertTrajectory(Run(p => new Adam([p], lr: 0.01)), RefAdam(0.01));

    [Test]
    public void AdamBetasEpsWeightDecay() =>
        AssertTrajectory(Run(p => new Adam([p], lr: 0.02, betas: (0.8, 0.99), eps: 1e-3, weightDecay: 0.1)), RefAdam(0.02, 0.8, 0.99, 1e-3, 0.1));

    [Test]
    public void AdamAmsgrad()
    {
        // Enough steps, with gradients that shrink, for the running maximum to differ from v.
        var traj = Run(p => new Adam([p], lr: 0.05, betas: (0.5, 0.6), amsgrad: true), steps: 8);
        var expected = RefAdam(0.05, 0.5, 0.6, amsgrad: true, steps: 8);
        AssertTrajectory(traj, expected);
        var plain = RefAdam(0.05, 0.5, 0.6, steps: 8);
        Assert.That(expected[^1], Is.Not.EqualTo(plain[^1]), "the test must exercise the maximum");
    }

    [Test]
    public void AdamWDecoupledWeightDecay()
    {
        var traj = Run(p => new AdamW([p], lr: 0.05, weightDecay: 0.2));
        AssertTrajectory(traj, RefAdam(0.05, wd: 0.2, decoupled: true));
        Assert.That(traj[^1], Is.Not.EqualTo(RefAdam(0.05, wd: 0.2)[^1]), "AdamW differs from Adam with L2");
    }

    [Test]
    public void AdamWAmsgrad() =>
        AssertTrajectory(Run(p => new AdamW([p], lr: 0.05, betas: (0.5, 0.6), weightDecay: 0.1, amsgrad: true), steps: 6),
            RefAdam(0.05, 0.5, 0.6, wd: 0.1, amsgrad: true, decoupled: true, steps: 6));

    [Test]
    public void AdamWHandWorked()
    {
        // p = 2, g = 1, lr 0.1, wd 0.5: p·(1 − 0.05) = 1.9, then the Adam step of lr/(1 + eps).
        using var p = Tensor.FromArray([2.0]).RequiresGrad_();
        using var opt = new AdamW([p], lr: 0.1, weightDecay: 0.5);
        SetGrad(p, [1.0]);
        opt.Step();
        Assert.That(p.Item(), Is.EqualTo(1.9 - 0.1 / (1 + 1e-8)).Within(1e-14));
    }

    // ---- RMSprop -----------------------------------------------------------------------------------------------

    [Test]
    public void RmspropHandWorked()
    {
        // p = 1, g = 1, lr 0.01, alpha 0.99: v = 0.01, p = 1 − 0.01·1/(0.1 + eps).
        using var p = Tensor.FromArray([1.0]).RequiresGrad_();
        using var opt = new RMSprop([p], lr: 0.01, eps: 0);
        SetGrad(p, [1.0]);
        opt.Step();
        Assert.That(p.Item(), Is.EqualTo(0.9).Within(1e-14));
        SetGrad(p, [1.0]);
        opt.Step(); // v = 0.99·0.01 + 0.01 = 0.0199
        Assert.That(p.Item(), Is.EqualTo(0.9 - 0.01 / Math.Sqrt(0.0199)).Within(1e-14));
    }

    [Test]
    public void RmspropDefaultsMatchPyTorch()
    {
        using var p = Param(P0);
        using var opt = new RMSprop([p]);
        var g = opt.ParamGroups[0];
        Assert.That((g.Lr, g.Alpha, g.Eps, g.WeightDecay, g.Momentum, g.Centered), Is.EqualTo((1e-2, 0.99, 1e-8, 0.0, 0.0, false)));
    }

    [Test]
    public void RmspropPlain() => AssertTrajectory(Run(p => new RMSprop([p], lr: 0.01, alpha: 0.9)), RefRmsprop(0.01, 0.9));

    [Test]
    public void RmspropMomentumWeightDecay() =>
        AssertTrajectory(Run(p => new RMSprop([p], lr: 0.01, alpha: 0.9, weightDecay: 0.1, momentum: 0.7)), RefRmsprop(0.01, 0.9, wd: 0.1, momentum: 0.7));

    [Test]
    public void RmspropCentered() =>
        AssertTrajectory(Run(p => new RMSprop([p], lr: 0.01, alpha: 0.9, eps: 1e-4, centered: true)), RefRmsprop(0.01, 0.9, 1e-4, centered: true));

    [Test]
    public void RmspropCenteredMomentumWeightDecay() =>
        AssertTrajectory(Run(p => new RMSprop([p], lr: 0.01, alpha: 0.8, weightDecay: 0.05, momentum: 0.9, centered: true)),
            RefRmsprop(0.01, 0.8, wd: 0.05, momentum: 0.9, centered: true));

    // ---- float32 -----------------------------------------------------------------------------------------------

    [Test]
    public void Float32ParametersFollowTheSameFormulas()
    {
        using var p = Tensor.FromArray(P0.Select(x => (float)x).ToArray()).RequiresGrad_();
        using var opt = new Adam([p], lr: 0.01, weightDecay: 0.1, amsgrad: true);
        for (int t = 0; t < Steps; t++)
        {
            p.Grad = Tensor.FromArray(GradAt(t).Select(x => (float)x).ToArray());
            opt.Step();
        }
        var expected = RefAdam(0.01, wd: 0.1, amsgrad: true)[^1];
        var actual = p.ToArray<float>();
        for (int i = 0; i < expected.Length; i++) Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-5), $"element {i}");
        Assert.That(opt.State(p)!["exp_avg"]!.DType, Is.EqualTo(DType.Float32));
    }

    [Test]
    public void StepOnAMatrixParameterUpdatesEveryElement()
    {
        using var p = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }, 2, 3).RequiresGrad_();
        using var opt = new SGD([p], lr: 0.5, momentum: 0.9);
        p.Grad = Tensor.FromArray(new double[] { 1, 1, 1, 2, 2, 2 }, 2, 3);
        opt.Step();
        Assert.That(p.ToArray<double>(), Is.EqualTo(new double[] { 0.5, 1.5, 2.5, 3, 4, 5 }));
        Assert.That(p.Shape, Is.EqualTo(new long[] { 2, 3 }));
    }

    [Test]
    public void NonContiguousParametersUpdateLikeContiguousOnes()
    {
        var g = TestUtil.Gen();
        using var strided = TestUtil.StridedLeaf(g, 3, 4);
        Assert.That(strided.IsContiguous, Is.False);
        using var dense = Tensor.FromArray(strided.ToArray<double>(), 3, 4).RequiresGrad_();
        using var a = new Adam([strided], lr: 0.1, weightDecay: 0.1);
        using var b = new Adam([dense], lr: 0.1, weightDecay: 0.1);
        for (int t = 0; t < 3; t++)
        {
            var grad = GradAt(t, 12);
            strided.Grad = Tensor.FromArray(grad, 3, 4);
            dense.Grad = Tensor.FromArray(grad, 3, 4);
            a.Step();
            b.Step();
        }
        Assert.That(strided.ToArray<double>(), Is.EqualTo(dense.ToArray<double>()));
    }

    // ---- groups, zero_grad, skipping -----------------------------------------------------------------------------

    [Test]
    public void ParamGroupsHaveTheirOwnLearningRatesAndHyperParameters()
    {
        using var backbone = Param(P0);
        using var head = Param(P0);
        using var opt = new SGD([new ParamGroup([backbone], lr: 0.001), new ParamGroup([head], momentum: 0.5)], lr: 0.1, momentum: 0.9);
        Assert.That(opt.ParamGroups[0].Lr, Is.EqualTo(0.001));
        Assert.That(opt.ParamGroups[0].Momentum, Is.EqualTo(0.9), "unset: the default");
        Assert.That(opt.ParamGroups[1].Lr, Is.EqualTo(0.1), "unset: the default");
        Assert.That(opt.ParamGroups[1].Momentum, Is.EqualTo(0.5));
        var b = new double[Steps][];
        var h = new double[Steps][];
        for (int t = 0; t < Steps; t++)
        {
            SetGrad(backbone, GradAt(t));
            SetGrad(head, GradAt(t));
            opt.Step();
            b[t] = backbone.ToArray<double>();
            h[t] = head.ToArray<double>();
        }
        AssertTrajectory(b, RefSgd(0.001, 0.9));
        AssertTrajectory(h, RefSgd(0.1, 0.5));
    }

    [Test]
    public void ChangingAGroupsLearningRateTakesEffectOnTheNextStep()
    {
        using var p = Tensor.FromArray([1.0]).RequiresGrad_();
        using var opt = new SGD([p], lr: 0.1);
        opt.ParamGroups[0].Lr = 0.5;
        SetGrad(p, [1.0]);
        opt.Step();
        Assert.That(p.Item(), Is.EqualTo(0.5));
        Assert.That(opt.ParamGroups[0].InitialLr, Is.EqualTo(0.1), "the initial rate is remembered");
    }

    [Test]
    public void AddParamGroupTakesDefaults()
    {
        using var a = Param(P0);
        using var b = Param(P0);
        using var opt = new Adam([a], lr: 0.01, betas: (0.8, 0.9));
        opt.AddParamGroup(new ParamGroup([b], lr: 0.1));
        Assert.That(opt.ParamGroups, Has.Count.EqualTo(2));
        Assert.That(opt.ParamGroups[1].Betas, Is.EqualTo((0.8, 0.9)));
        Assert.That(opt.ParamGroups[1].Lr, Is.EqualTo(0.1));
        Assert.That(opt.ParamGroups[1].InitialLr, Is.EqualTo(0.1));
        Assert.That(opt.ParamGroups[1].Has("momentum"), Is.False);
        Assert.Throws<InvalidOperationException>(() => _ = opt.ParamGroups[1].Momentum);
        var ex = Assert.Throws<ArgumentValueException>(() => opt.AddParamGroup(new ParamGroup([a])));
        Assert.That(ex!.Message, Does.StartWith("Adam:").And.Contain("more than one parameter group"));
    }

    [Test]
    public void ZeroGradReleasesByDefaultOrZeroes()
    {
        using var p = Param(P0);
        using var q = Param(P0);
        using var opt = new SGD([p, q], lr: 0.1);
        SetGrad(p, GradAt(0));
        opt.ZeroGrad();
        Assert.That(p.Grad, Is.Null);
        Assert.That(q.Grad, Is.Null);

        SetGrad(p, GradAt(0));
        var g = p.Grad!;
        opt.ZeroGrad(setToNone: false);
        Assert.That(p.Grad, Is.SameAs(g), "zeroed in place");
        Assert.That(p.Grad!.ToArray<double>(), Is.All.EqualTo(0.0));
        Assert.That(q.Grad, Is.Null, "a missing gradient stays missing");
    }

    [Test]
    public void ZeroGradWorksWithBackward()
    {
        using var scope = Tensor.NewDisposeScope();
        var w = Tensor.FromArray([1.0, 2.0]).RequiresGrad_();
        using var opt = new SGD([w], lr: 0.1);
        w.Square().Sum().Backward();
        Assert.That(w.Grad!.ToArray<double>(), Is.EqualTo(new[] { 2.0, 4.0 }));
        opt.Step();
        Assert.That(w.ToArray<double>(), Is.EqualTo(new[] { 0.8, 1.6 }).Within(1e-15));
        opt.ZeroGrad(setToNone: false);
        w.Square().Sum().Backward(); // accumulates into zero: the new gradient only
        Assert.That(w.Grad!.ToArray<double>(), Is.EqualTo(new[] { 1.6, 3.2 }).Within(1e-15));
    }

    [Test]
    public void ParametersWithoutGradientsAreSkipped()
    {
        using var p = Param(P0);
        using var frozen = Param(P0);
        using var opt = new Adam([p, frozen], lr: 0.01);
        for (int t = 0; t < 3; t++)
        {
            SetGrad(p, GradAt(t));
            opt.Step();
        }
        Assert.That(frozen.ToArray<double>(), Is.EqualTo(P0), "no gradient: untouched");
        Assert.That(opt.State(frozen), Is.Null, "no state created");
        Assert.That(opt.State(p)!.Step, Is.EqualTo(3));
        // When it gets a gradient, its own step count starts at 1 (bias correction of a first step).
        SetGrad(frozen, GradAt(0));
        p.Grad = null;
        opt.Step();
        AssertTrajectory([frozen.ToArray<double>()], [RefAdam(0.01, steps: 1)[0]]);
        Assert.That(opt.State(frozen)!.Step, Is.EqualTo(1));
        Assert.That(opt.State(p)!.Step, Is.EqualTo(3), "skipped this time");
    }

    // ---- state round trip ------------------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> Resumable()
    {
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(ps => new SGD([new ParamGroup([ps[0]], lr: 0.02), new ParamGroup([ps[1]])], lr: 0.05, momentum: 0.9, weightDecay: 0.01, nesterov: true))).SetArgDisplayNames("SGD");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(ps => new Adam([new ParamGroup([ps[0]], lr: 0.02), new ParamGroup([ps[1]])], lr: 0.05, betas: (0.5, 0.6), amsgrad: true, weightDecay: 0.1))).SetArgDisplayNames("Adam");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(ps => new AdamW([new ParamGroup([ps[0]], lr: 0.02), new ParamGroup([ps[1]])], lr: 0.05))).SetArgDisplayNames("AdamW");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(ps => new RMSprop([new ParamGroup([ps[0]], lr: 0.02), new ParamGroup([ps[1]])], lr: 0.05, momentum: 0.5, centered: true, weightDecay: 0.1))).SetArgDisplayNames("RMSprop");
    }

    [TestCaseSource(nameof(Resumable))]
    public void SaveLoadResumesExactly(Func<Tensor[], Optimizer> make)
    {
        // Uninterrupted run of 6 steps vs 3 steps, save, a fresh optimizer over copies of the parameters, load, 3 more.
        Tensor[] a = [Param(P0), Param([1.0, -2.0])];
        using var optA = make(a);
        for (int t = 0; t < 3; t++) { SetGrad(a[0], GradAt(t)); SetGrad(a[1], GradAt(t, 2)); optA.Step(); }
        optA.ParamGroups[0].Lr *= 0.5; // a schedule's change must travel with the state
        var (tensors, values) = optA.SaveState();
        Assert.That(tensors.Keys, Is.Not.Empty.And.All.StartsWith("state."));
        var json = JsonNode.Parse(values.ToJsonString())!.AsObject(); // the values survive serialisation

        Tensor[] b = [Param(a[0].ToArray<double>()), Param(a[1].ToArray<double>())];
        using var optB = make(b);
        optB.LoadState(tensors, json);
        Assert.That(optB.ParamGroups[0].Lr, Is.EqualTo(optA.ParamGroups[0].Lr));
        foreach (var k in tensors.Keys)
            Assert.That(optB.SaveState().Tensors[k], Is.Not.SameAs(tensors[k]), "state is copied, not shared");
        for (int t = 3; t < 6; t++)
        {
            SetGrad(a[0], GradAt(t)); SetGrad(a[1], GradAt(t, 2)); optA.Step();
            SetGrad(b[0], GradAt(t)); SetGrad(b[1], GradAt(t, 2)); optB.Step();
            Assert.That(b[0].ToArray<double>(), Is.EqualTo(a[0].ToArray<double>()), $"step {t + 1}");
            Assert.That(b[1].ToArray<double>(), Is.EqualTo(a[1].ToArray<double>()), $"step {t + 1}");
        }
        foreach (var t in a.Concat(b)) t.Dispose();
    }

    [Test]
    public void SavedStateNamesTensorsByGroupAndIndex()
    {
        using var p = Param(P0);
        using var q = Param(P0);
        using var opt = new Adam([new ParamGroup([p]), new ParamGroup([q], lr: 0.1)], amsgrad: true);
        SetGrad(q, GradAt(0));
        opt.Step();
        opt.Step();
        var (tensors, values) = opt.SaveState();
        Assert.That(tensors.Keys, Is.EqualTo(new[] { "state.1.0.exp_avg", "state.1.0.exp_avg_sq", "state.1.0.max_exp_avg_sq" }));
        Assert.That(tensors["state.1.0.exp_avg"], Is.SameAs(opt.State(q)!["exp_avg"]), "the optimizer's own tensors");
        Assert.That(values["type"]!.GetValue<string>(), Is.EqualTo("Adam"));
        Assert.That(values["state"]!["1.0"]!["step"]!.GetValue<long>(), Is.EqualTo(2));
        var g1 = values["param_groups"]![1]!;
        Assert.That(g1["lr"]!.GetValue<double>(), Is.EqualTo(0.1));
        Assert.That(g1["betas"]![1]!.GetValue<double>(), Is.EqualTo(0.999));
        Assert.That(g1["amsgrad"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public void LoadingAMismatchedStateIsRejectedAndChangesNothing()
    {
        using var p = Param(P0);
        using var q = Param([1.0, 2.0]);
        using var sgd = new SGD([p], lr: 0.1, momentum: 0.9);
        SetGrad(p, GradAt(0));
        sgd.Step();
        var (tensors, values) = sgd.SaveState();

        using var adam = new Adam([p]);
        var ex = Assert.Throws<ArgumentValueException>(() => adam.LoadState(tensors, values));
        Assert.That(ex!.Message, Does.StartWith("Adam:").And.Contain("SGD"));

        using var twoGroups = new SGD([new ParamGroup([p]), new ParamGroup([q])], lr: 0.3, momentum: 0.9);
        Assert.Throws<ArgumentValueException>(() => twoGroups.LoadState(tensors, values));
        Assert.That(twoGroups.ParamGroups[0].Lr, Is.EqualTo(0.3));

        using var otherShape = new SGD([q], lr: 0.3, momentum: 0.9);
        var ex2 = Assert.Throws<ArgumentValueException>(() => otherShape.LoadState(tensors, values));
        Assert.That(ex2!.Message, Does.Contain("shape"));
        Assert.That(otherShape.ParamGroups[0].Lr, Is.EqualTo(0.3), "nothing loaded");
    }

    // ---- validation --------------------------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> BadHyperParameters()
    {
        TestCaseData Case(string name, Action<Tensor> make, string contains) => new TestCaseData(make, name, contains).SetArgDisplayNames(name + ": " + contains);
        yield return Case("SGD", p => new SGD([p], lr: -0.1), "learning rate");
        yield return Case("SGD", p => new SGD([p], lr: double.NaN), "learning rate");
        yield return Case("SGD", p => new SGD([p], momentum: -0.5), "momentum");
        yield return Case("SGD", p => new SGD([p], weightDecay: -1), "weight_decay");
        yield return Case("SGD", p => new SGD([p], nesterov: true), "Nesterov");
        yield return Case("SGD", p => new SGD([p], momentum: 0.9, dampening: 0.1, nesterov: true), "Nesterov");
        yield return Case("SGD", p => new SGD([new ParamGroup([p], lr: -1)]), "learning rate");
        yield return Case("Adam", p => new Adam([p], betas: (1.0, 0.999)), "beta parameter at index 0");
        yield return Case("Adam", p => new Adam([p], betas: (0.9, -0.1)), "beta parameter at index 1");
        yield return Case("Adam", p => new Adam([p], eps: -1e-8), "epsilon");
        yield return Case("Adam", p => new Adam([p], lr: -1), "learning rate");
        yield return Case("AdamW", p => new AdamW([p], weightDecay: -0.01), "weight_decay");
        yield return Case("RMSprop", p => new RMSprop([p], alpha: -0.1), "alpha");
        yield return Case("RMSprop", p => new RMSprop([p], momentum: -0.1), "momentum");
        yield return Case("RMSprop", p => new RMSprop([p], eps: -1), "epsilon");
        yield return Case("SGD", _ => new SGD(Array.Empty<Tensor>()), "empty parameter list");
        yield return Case("Adam", _ => new Adam(Array.Empty<ParamGroup>()), "empty parameter list");
        yield return Case("SGD", p => new SGD([p, p]), "more than one parameter group");
        yield return Case("SGD", p => { using var s = Tensor.NewDisposeScope(); using var o = new SGD([p.Mul(2.0)]); }, "non-leaf");
        yield return Case("Adam", _ => { using var i = Tensor.Arange(3); using var o = new Adam([i]); }, "floating-point");
    }

    [TestCaseSource(nameof(BadHyperParameters))]
    public void BadHyperParametersRaiseNamingTheOptimizer(Action<Tensor> make, string name, string contains)
    {
        using var p = Param(P0);
        var ex = Assert.Throws<ArgumentValueException>(() => make(p));
        Assert.That(ex!.Message, Does.StartWith(name + ":").And.Contain(contains));
        Assert.That(ex.Op, Is.EqualTo(name));
    }

    [Test]
    public void MismatchedGradientAndDisposedOptimizerRaise()
    {
        using var p = Param(P0);
        var opt = new SGD([p], lr: 0.1);
        p.Grad = Tensor.FromArray([1.0, 2.0]);
        var ex = Assert.Throws<ArgumentValueException>(opt.Step);
        Assert.That(ex!.Message, Does.StartWith("SGD:").And.Contain("does not match"));
        opt.Dispose();
        Assert.Throws<ObjectDisposedException>(opt.Step);
    }

    // ---- memory --------------------------------------------------------------------------------------------------------

    [Test]
    public void TwoHundredAdamStepsKeepLiveNativeMemoryFlat()
    {
        var g = TestUtil.Gen();
        using var w = Tensor.Randn([16, 8], DType.Float32, g).RequiresGrad_();
        using var b = Tensor.Zeros([8], DType.Float32).RequiresGrad_();
        using var x = Tensor.Randn([32, 16], DType.Float32, g);
        using var target = Tensor.RandInt(0, 8, [32], generator: g);
        using var opt = new Adam([new ParamGroup([w], amsgrad: true), new ParamGroup([b], weightDecay: 0.1)], lr: 0.01);
        long after = 0, afterCount = 0, finalized = 0;
        double first = 0, last = 0;
        for (int step = 0; step < 200; step++)
        {
            using (Tensor.NewDisposeScope())
            {
                var loss = x.MatMul(w).Add(b).LogSoftmax(1).Gather(1, target.Unsqueeze(1)).Mean().Neg();
                loss.Backward();
                GradClip.ClipGradNorm([w, b], 1.0);
                opt.Step();
                opt.ZeroGrad();
                if (step == 0) first = loss.Item();
                last = loss.Item();
            }
            if (step == 10)
            {
                GC.Collect(); GC.WaitForPendingFinalizers();
                after = CpuStorage.LiveBytes; afterCount = CpuStorage.LiveCount; finalized = CpuStorage.FinalizedCount;
            }
        }
        Assert.That(CpuStorage.LiveBytes, Is.EqualTo(after), "live bytes after 200 steps vs after 10");
        Assert.That(CpuStorage.LiveCount, Is.EqualTo(afterCount), "live storages");
        Assert.That(CpuStorage.FinalizedCount, Is.EqualTo(finalized), "storages the GC had to free (leaks)");
        Assert.That(last, Is.LessThan(first), "Adam trains");

        long beforeDispose = CpuStorage.LiveBytes;
        opt.Dispose();
        Assert.That(beforeDispose - CpuStorage.LiveBytes, Is.EqualTo((16 * 8 * 3 + 8 * 2) * 4), "Dispose releases exp_avg, exp_avg_sq and max_exp_avg_sq");
    }
}
