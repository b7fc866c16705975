using System.Text.Json.Nodes;
using Engine.Nn;

namespace Engine.Tests.Nn;

/// <summary>Each learning-rate schedule's sequence against its closed form, warm-up composition, one-cycle, state round trips and validation.</summary>
public class ScheduleTests
{
    private Tensor _p = null!;
    private Tensor _q = null!;

    [SetUp]
    public void MakeParameters()
    {
        _p = Tensor.FromArray([1.0, 2.0]).RequiresGrad_();
        _q = Tensor.FromArray([3.0]).RequiresGrad_();
    }

    [TearDown]
    public void DisposeParameters()
    {
        _p.Dispose();
        _q.Dispose();
    }

    private SGD Sgd(double lr = 0.1, double momentum = 0) => new([_p], lr: lr, momentum: momentum);

    /// <summary>The rate after construction (epoch 0) and after each of <paramref name="steps"/> steps, as set on group <paramref name="group"/>; LastLr must agree.</summary>
    private static double[] Sequence(LRScheduler s, int steps, int group = 0)
    {
        var lrs = new double[steps + 1];
        for (int e = 0; e <= steps; e++)
        {
            if (e > 0) s.Step();
            Assert.That(s.Epoch, Is.EqualTo(e));
            lrs[e] = s.Optimizer.ParamGroups[group].Lr;
            Assert.That(s.LastLr[group], Is.EqualTo(lrs[e]), $"LastLr at {e}");
        }
        return lrs;
    }

    private static void AssertSequence(double[] actual, Func<int, double> expected, double tol = 1e-15)
    {
        for (int e = 0; e < actual.Length; e++)
            Assert.That(actual[e], Is.EqualTo(expected(e)).Within(tol), $"epoch {e}");
    }

    [Test]
    public void StepLRGammaTenthEveryThree()
    {
        using var opt = Sgd(0.1);
        var lrs = Sequence(new StepLR(opt, stepSize: 3, gamma: 0.1), 10);
        double[] expected = [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 1e-4, 1e-4];
        AssertSequence(lrs, e => expected[e], 1e-17);
    }

    [Test]
    public void StepLRScalesEveryGroupFromItsOwnBase()
    {
        using var opt = new SGD([new ParamGroup([_p], lr: 1.0), new ParamGroup([_q])], lr: 0.01);
        var s = new StepLR(opt, 2, 0.5);
        for (int e = 1; e <= 5; e++) s.Step();
        Assert.That(s.LastLr, Is.EqualTo(new[] { 0.25, 0.0025 }).Within(1e-17));
        Assert.That(opt.ParamGroups[1].Lr, Is.EqualTo(0.0025).Within(1e-17));
        Assert.That(s.BaseLrs, Is.EqualTo(new[] { 1.0, 0.01 }));
    }

    [Test]
    public void MultiStepLRCountsMilestonesIncludingRepeats()
    {
        using var opt = Sgd(1.0);
        var lrs = Sequence(new MultiStepLR(opt, [5, 2, 5], gamma: 0.5), 8);
        AssertSequence(lrs, e => e < 2 ? 1.0 : e < 5 ? 0.5 : 0.125);
    }

    [Test]
    public void ExponentialLR()
    {
        using var opt = Sgd(0.2);
        var lrs = Sequence(new ExponentialLR(opt, 0.9), 12);
        AssertSequence(lrs, e => 0.2 * Math.Pow(0.9, e));
    }

    [Test]
    public void CosineAnnealingLRFollowsTheClosedForm()
    {
        using var opt = Sgd(0.1);
        var lrs = Sequence(new CosineAnnealingLR(opt, tMax: 10, etaMin: 0.001), 10);
        AssertSequence(lrs, e => 0.001 + (0.1 - 0.001) * (1 + Math.Cos(Math.PI * e / 10)) / 2);
        Assert.That(lrs[0], Is.EqualTo(0.1));
        Assert.That(lrs[5], Is.EqualTo((0.1 + 0.001) / 2).Within(1e-15));
        Assert.That(lrs[10], Is.EqualTo(0.001).Within(1e-15));
    }

    [Test]
    public void CosineAnnealingWarmRestartsRestartsWithGrowingCycles()
    {
        using var opt = Sgd(0.1);
        var lrs = Sequence(new CosineAnnealingWarmRestarts(opt, t0: 3, tMult: 2, etaMin: 0.01), 21);
        // cycles of 3, 6, 12 steps: epochs 0-2, 3-8, 9-20, then a restart at 21
        (int TCur, int TI) Cycle(int e) => e < 3 ? (e, 3) : e < 9 ? (e - 3, 6) : e < 21 ? (e - 9, 12) : (e - 21, 24);
        AssertSequence(lrs, e => 0.01 + (0.1 - 0.01) * (1 + Math.Cos(Math.PI * Cycle(e).TCur / Cycle(e).TI)) / 2);
        Assert.That(new[] { lrs[0], lrs[3], lrs[9], lrs[21] }, Is.All.EqualTo(0.1), "restarts at the base rate");
    }

    [Test]
    public void CosineAnnealingWarmRestartsWithFixedPeriod()
    {
        using var opt = Sgd(0.1);
        var lrs = Sequence(new CosineAnnealingWarmRestarts(opt, t0: 4), 13);
        AssertSequence(lrs, e => 0.1 * (1 + Math.Cos(Math.PI * (e % 4) / 4)) / 2);
    }

    [Test]
    public void LinearWarmupThenCosine()
    {
        using var opt = Sgd(0.1);
        var cosine = new CosineAnnealingLR(opt, tMax: 10, etaMin: 0.0);
        var s = new LinearWarmup(opt, warmupSteps: 5, startFactor: 0.1, after: cosine);
        var lrs = Sequence(s, 15);
        AssertSequence(lrs, e => e < 5 ? 0.1 * (0.1 + 0.9 * e / 5) : 0.1 * (1 + Math.Cos(Math.PI * (e - 5) / 10)) / 2);
        Assert.That(lrs[0], Is.EqualTo(0.01).Within(1e-17));
        Assert.That(lrs[5], Is.EqualTo(0.1), "the inner schedule starts at its step 0");
        Assert.That(cosine.Epoch, Is.EqualTo(10), "the inner schedule follows");
        Assert.That(cosine.LastLr[0], Is.EqualTo(lrs[15]));
    }

    [Test]
    public void LinearWarmupAloneHoldsTheBaseRateAfterwards()
    {
        using var opt = Sgd(0.3);
        var lrs = Sequence(new LinearWarmup(opt, warmupSteps: 3), 6);
        AssertSequence(lrs, e => e < 3 ? 0.3 * (1.0 / 3 + (1 - 1.0 / 3) * e / 3) : 0.3);
    }

    [Test]
    public void LinearWarmupThenStepLR()
    {
        using var opt = Sgd(1.0);
        var s = new LinearWarmup(opt, 2, 0.5, new StepLR(opt, 3, 0.1));
        var lrs = Sequence(s, 8);
        AssertSequence(lrs, e => e < 2 ? 0.5 + 0.5 * e / 2 : Math.Pow(0.1, (e - 2) / 3), 1e-16);
    }

    private static double OneCycleRef(int e, double maxLr, int total, double pct, double div, double finalDiv)
    {
        double initial = maxLr / div, min = initial / finalDiv, peak = pct * total - 1;
        double Cos(double start, double end, double x) => end + (start - end) / 2 * (Math.Cos(Math.PI * x) + 1);
        return e <= peak ? Cos(initial, maxLr, e / peak) : Cos(maxLr, min, (e - peak) / (total - 1 - peak));
    }

    [Test]
    public void OneCycleLRPeaksAndEndsAtTheRightValues()
    {
        using var opt = Sgd(0.1, momentum: 0.9);
        var s = new OneCycleLR(opt, maxLr: 1.0, totalSteps: 100);
        var mom = new List<double>();
        var lrs = new double[100];
        for (int e = 0; e < 100; e++)
        {
            if (e > 0) s.Step();
            lrs[e] = opt.ParamGroups[0].Lr;
            mom.Add(opt.ParamGroups[0].Momentum);
        }
        AssertSequence(lrs, e => OneCycleRef(e, 1.0, 100, 0.3, 25, 1e4));
        Assert.That(lrs[0], Is.EqualTo(1.0 / 25).Within(1e-15), "starts at max_lr/div_factor (PyTorch's cosine formula rounds it)");
        Assert.That(lrs.Max(), Is.EqualTo(1.0));
        Assert.That(Array.IndexOf(lrs, lrs.Max()), Is.EqualTo(29), "peak at pct_start·total − 1, as PyTorch");
        Assert.That(lrs[99], Is.EqualTo(1.0 / (25 * 1e4)).Within(1e-18), "ends at max_lr/(div·final_div)");
        Assert.That(mom[0], Is.EqualTo(0.95).Within(1e-15));
        Assert.That(mom[29], Is.EqualTo(0.85).Within(1e-15));
        Assert.That(mom[99], Is.EqualTo(0.95).Within(1e-15));
        Assert.That(s.BaseLrs, Is.EqualTo(new[] { 1.0 / 25 }));
        s.Step(); // PyTorch allows exactly total_steps steps
        var ex = Assert.Throws<ArgumentValueException>(s.Step);
        Assert.That(ex!.Message, Does.StartWith("OneCycleLR:").And.Contain("total steps is 100"));
    }

    [Test]
    public void OneCycleLRCyclesAdamsBeta1AndSupportsLinearAndThreePhase()
    {
        using var opt = new Adam([_p], lr: 0.1, betas: (0.9, 0.99));
        var s = new OneCycleLR(opt, 0.5, totalSteps: 20, pctStart: 0.25, annealStrategy: AnnealStrategy.Linear, threePhase: true, divFactor: 10, finalDivFactor: 100);
        var lrs = Sequence(s, 19);
        // phases end at 4, 8, 19: 0.05 → 0.5 → 0.05 → 0.0005, linearly
        AssertSequence(lrs, e => e <= 4 ? 0.05 + (0.5 - 0.05) * e / 4.0 : e <= 8 ? 0.5 + (0.05 - 0.5) * (e - 4) / 4.0 : 0.05 + (0.0005 - 0.05) * (e - 8) / 11.0, 1e-15);
        Assert.That(opt.ParamGroups[0].Betas.Beta1, Is.EqualTo(0.95).Within(1e-15), "the last phase holds max momentum");
        Assert.That(opt.ParamGroups[0].Betas.Beta2, Is.EqualTo(0.99));
        Assert.That(s.MomentumAt(4), Is.EqualTo(0.85).Within(1e-15));
    }

    [Test]
    public void OneCycleLRWithoutMomentumCyclingLeavesMomentumAlone()
    {
        using var opt = Sgd(0.1, momentum: 0.7);
        var s = new OneCycleLR(opt, 1.0, 10, cycleMomentum: false);
        s.Step();
        Assert.That(opt.ParamGroups[0].Momentum, Is.EqualTo(0.7));
    }

    // ---- state ------------------------------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> Schedules()
    {
        TestCaseData Case(string name, Func<Optimizer, LRScheduler> make) => new TestCaseData(make).SetArgDisplayNames(name);
        yield return Case("StepLR", o => new StepLR(o, 3, 0.5));
        yield return Case("MultiStepLR", o => new MultiStepLR(o, [2, 6, 7], 0.3));
        yield return Case("ExponentialLR", o => new ExponentialLR(o, 0.8));
        yield return Case("CosineAnnealingLR", o => new CosineAnnealingLR(o, 7, 0.001));
        yield return Case("CosineAnnealingWarmRestarts", o => new CosineAnnealingWarmRestarts(o, 2, 2, 0.001));
        yield return Case("LinearWarmup+Cosine", o => new LinearWarmup(o, 3, 0.2, new CosineAnnealingLR(o, 8)));
        yield return Case("OneCycleLR", o => new OneCycleLR(o, 1.0, 12, threePhase: true));
    }

    [TestCaseSource(nameof(Schedules))]
    public void StateRoundTripContinuesTheSequence(Func<Optimizer, LRScheduler> make)
    {
        using var optA = new SGD([new ParamGroup([_p]), new ParamGroup([_q], lr: 0.5)], lr: 0.1, momentum: 0.9);
        var a = make(optA);
        for (int i = 0; i < 4; i++) a.Step();
        var (tensors, values) = a.SaveState();
        Assert.That(tensors.Count, Is.Zero);
        var json = JsonNode.Parse(values.ToJsonString())!.AsObject();
        var (optTensors, optValues) = optA.SaveState();

        using var p2 = Tensor.FromArray([1.0, 2.0]).RequiresGrad_();
        using var q2 = Tensor.FromArray([3.0]).RequiresGrad_();
        using var optB = new SGD([new ParamGroup([p2]), new ParamGroup([q2], lr: 0.5)], lr: 0.1, momentum: 0.9);
        var b = make(optB);
        optB.LoadState(optTensors, optValues);
        b.LoadState(new StateDict(), json);
        Assert.That(b.Epoch, Is.EqualTo(4));
        Assert.That(b.LastLr, Is.EqualTo(a.LastLr));
        for (int i = 0; i < 7; i++)
        {
            a.Step(); b.Step();
            Assert.That(b.LastLr, Is.EqualTo(a.LastLr), $"epoch {a.Epoch}");
            Assert.That(optB.ParamGroups.Select(g => (g.Lr, g.Momentum)), Is.EqualTo(optA.ParamGroups.Select(g => (g.Lr, g.Momentum))));
        }
    }

    [Test]
    public void LoadingAnotherSchedulesStateIsRejected()
    {
        using var opt = Sgd();
        var (_, values) = new StepLR(opt, 2).SaveState();
        var cos = new CosineAnnealingLR(opt, 5);
        var ex = Assert.Throws<ArgumentValueException>(() => cos.LoadState(new StateDict(), values));
        Assert.That(ex!.Message, Does.StartWith("CosineAnnealingLR:").And.Contain("StepLR"));
    }

    // ---- validation --------------------------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> BadSchedules()
    {
        TestCaseData Case(string name, Action<Optimizer> make) => new TestCaseData(make, name).SetArgDisplayNames(name);
        yield return Case("StepLR", o => new StepLR(o, 0));
        yield return Case("StepLR", o => new StepLR(o, 2, -0.1));
        yield return Case("MultiStepLR", o => new MultiStepLR(o, [-1]));
        yield return Case("ExponentialLR", o => new ExponentialLR(o, double.NaN));
        yield return Case("CosineAnnealingLR", o => new CosineAnnealingLR(o, 0));
        yield return Case("CosineAnnealingWarmRestarts", o => new CosineAnnealingWarmRestarts(o, 0));
        yield return Case("CosineAnnealingWarmRestarts", o => new CosineAnnealingWarmRestarts(o, 2, 0));
        yield return Case("LinearWarmup", o => new LinearWarmup(o, 0));
        yield return Case("LinearWarmup", o => new LinearWarmup(o, 5, startFactor: 0));
        yield return Case("LinearWarmup", o => new LinearWarmup(o, 5, startFactor: 1.5));
        yield return Case("OneCycleLR", o => new OneCycleLR(o, 1.0, 0));
        yield return Case("OneCycleLR", o => new OneCycleLR(o, 1.0, 100, pctStart: 1.5));
        yield return Case("OneCycleLR", o => new OneCycleLR(o, 1.0, 3, pctStart: 0.1));
        yield return Case("OneCycleLR", o => new OneCycleLR(o, [1.0, 2.0], 100));
        yield return Case("OneCycleLR", o => new OneCycleLR(o, 1.0, 100, divFactor: 0));
    }

    [TestCaseSource(nameof(BadSchedules))]
    public void BadSettingsRaiseNamingTheSchedule(Action<Optimizer> make, string name)
    {
        using var opt = Sgd();
        var ex = Assert.Throws<ArgumentValueException>(() => make(opt));
        Assert.That(ex!.Message, Does.StartWith(name + ":"));
    }

    [Test]
    public void WarmupMustFollowAScheduleOnTheSameOptimizer()
    {
        using var a = Sgd();
        using var b = new SGD([_q]);
        var ex = Assert.Throws<ArgumentValueException>(() => _ = new LinearWarmup(a, 3, after: new StepLR(b, 2)));
        Assert.That(ex!.Message, Does.StartWith("LinearWarmup:").And.Contain("same optimizer"));
    }

    [Test]
    public void OneCycleNeedsMomentumOrBetasToCycle()
    {
        using var opt = Sgd();
        Assert.That(opt.ParamGroups[0].Has("momentum"), Is.True, "SGD always has momentum (0 by default), as in PyTorch");
        var s = new OneCycleLR(opt, 1.0, 10);
        Assert.That(opt.ParamGroups[0].Momentum, Is.EqualTo(0.95).Within(1e-15), "PyTorch turns momentum on too");
        Assert.That(s.Epoch, Is.Zero);
    }
}
