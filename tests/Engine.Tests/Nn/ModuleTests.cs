using Engine.Nn;

namespace Engine.Tests.Nn;

public class ModuleTests
{
    // A small CNN shaped like torchvision-style models, with nested names.
    private sealed class Net : Module
    {
        public readonly Sequential Features;
        public readonly Linear Classifier;

        public Net(Generator g)
        {
            Features = RegisterModule("features", new Sequential(
                new Conv2d(1, 4, 3, padding: 1, generator: g), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2)));
            Classifier = RegisterModule("classifier", new Linear(4 * 4 * 4, 10, generator: g));
        }

        public override Tensor Forward(Tensor input) => Classifier.Call(Features.Call(input).Flatten(1));
    }

    [Test]
    public void ParametersAndBuffersHavePyTorchDottedNames()
    {
        using var net = new Net(TestUtil.Gen());
        Assert.That(net.StateDict().Keys, Is.EqualTo(new[]
        {
            "features.0.weight", "features.0.bias",
            "features.1.weight", "features.1.bias", "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
            "classifier.weight", "classifier.bias",
        }));
        Assert.That(net.NamedParameters().Select(p => p.Name), Has.Exactly(6).Items);
        Assert.That(net.NamedModules().Select(m => m.Name), Is.EqualTo(new[] { "", "features", "features.0", "features.1", "features.2", "features.3", "classifier" }));
        Assert.That(net.ParameterCount(), Is.EqualTo(4 * 9 + 4 + 4 + 4 + 64 * 10 + 10));
    }

    [Test]
    public void StateDictRoundTripsIntoAFreshModel()
    {
        var g = TestUtil.Gen();
        using var a = new Net(g);
        using var b = new Net(g);
        using var x = Tensor.Randn([2, 1, 8, 8], DType.Float32, g);
        a.Eval(); b.Eval();
        using (Tensor.NoGrad())
        {
            using var ya = a.Call(x);
            using var yb0 = b.Call(x);
            Assert.That(yb0.ToArray<float>(), Is.Not.EqualTo(ya.ToArray<float>()));
            var result = b.LoadStateDict(a.StateDict());
            Assert.That(result.IsExact, Is.True);
            using var yb = b.Call(x);
            Assert.That(yb.ToArray<float>(), Is.EqualTo(ya.ToArray<float>()));
        }
    }

    [Test]
    public void StrictLoadReportsMissingUnexpectedAndMismatchedKeysAndLoadsNothing()
    {
        var g = TestUtil.Gen();
        using var net = new Net(g);
        var before = net.Classifier.Weight.ToArray<float>();
        using var scope = Tensor.NewDisposeScope();
        var src = new StateDict();
        foreach (var (k, v) in net.StateDict()) if (k != "features.0.bias") src.Add(k, v.Mul(2.0));
        src.Add("extra.weight", Tensor.Zeros(3));
        var ex = Assert.Throws<StateDictException>(() => net.LoadStateDict(src));
        Assert.That(ex!.Result.Missing, Is.EqualTo(new[] { "features.0.bias" }));
        Assert.That(ex.Result.Unexpected, Is.EqualTo(new[] { "extra.weight" }));
        Assert.That(ex.Message, Does.Contain("features.0.bias").And.Contain("extra.weight"));
        Assert.That(net.Classifier.Weight.ToArray<float>(), Is.EqualTo(before), "nothing loaded");

        var lenient = net.LoadStateDict(src, strict: false);
        Assert.That(lenient.Missing, Is.EqualTo(new[] { "features.0.bias" }));
        Assert.That(net.Classifier.Weight.ToArray<float>(), Is.EqualTo(before.Select(v => v * 2).ToArray()));

        var wrong = new StateDict();
        foreach (var (k, v) in net.StateDict()) wrong.Add(k, k == "classifier.weight" ? Tensor.Zeros(10, 3) : v);
        var mismatch = Assert.Throws<StateDictException>(() => net.LoadStateDict(wrong, strict: false));
        Assert.That(mismatch!.Result.Mismatched.Single(), Does.Contain("classifier.weight").And.Contain("[10, 64]").And.Contain("[10, 3]"));
    }

    [Test]
    public void TrainEvalSwitchesEveryDescendant()
    {
        using var net = new Net(TestUtil.Gen());
        net.Eval();
        Assert.That(net.NamedModules().All(m => !m.Module.Training), Is.True);
        net.Train();
        Assert.That(net.NamedModules().All(m => m.Module.Training), Is.True);
    }

    [Test]
    public void FreezingASubtreeStopsItsGradients()
    {
        var g = TestUtil.Gen();
        using var net = new Net(g);
        net.Features.RequiresGrad(false);
        Assert.That(net.ParameterCount(onlyTrainable: true), Is.EqualTo(64 * 10 + 10));
        using var scope = Tensor.NewDisposeScope();
        net.Call(Tensor.Randn([2, 1, 8, 8], DType.Float32, g)).Sum().Backward();
        Assert.That(net.Features[0].Parameters().All(p => p.Grad is null), Is.True);
        Assert.That(net.Classifier.Weight.Grad, Is.Not.Null);
        net.ZeroGrad();
        Assert.That(net.Classifier.Weight.Grad, Is.Null);
    }

    [Test]
    public void BatchNormLayerTracksBatchesAndUsesRunningStatsInEval()
    {
        var g = TestUtil.Gen();
        using var bn = new BatchNorm2d(3);
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Randn([4, 3, 2, 2], DType.Float32, g).Mul(2.0).Add(1.0);
        bn.Call(x);
        Assert.That(bn.NumBatchesTracked!.Item(), Is.EqualTo(1));
        var mean = x.Mean([0, 2, 3]);
        TestUtil.AssertClose(bn.RunningMean!, mean.Mul(0.1).ToDoubleArray(), atol: 1e-6);
        bn.Eval();
        var y = bn.Call(x);
        var expect = Functional.BatchNorm(x, bn.RunningMean, bn.RunningVar, bn.Weight, bn.Bias, training: false);
        TestUtil.AssertClose(y, expect);
        Assert.That(bn.NumBatchesTracked!.Item(), Is.EqualTo(1), "eval does not count batches");
    }

    [Test]
    public void BatchNormWithoutMomentumKeepsACumulativeAverage()
    {
        var g = TestUtil.Gen();
        using var bn = new BatchNorm1d(2, momentum: null);
        using var scope = Tensor.NewDisposeScope();
        var a = Tensor.Randn([5, 2], DType.Float32, g);
        var b = Tensor.Randn([5, 2], DType.Float32, g);
        bn.Call(a); bn.Call(b);
        TestUtil.AssertClose(bn.RunningMean!, a.Mean(0).Add(b.Mean(0)).Div(2.0).ToDoubleArray(), atol: 1e-6);
    }

    [Test]
    public void LayersMatchTheFunctionalOpsTheyWrap()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Randn([2, 3, 8, 8], DType.Float32, g);
        using var conv = new Conv2d(3, 6, 3, stride: 2, padding: 1, generator: g);
        TestUtil.AssertClose(conv.Call(x), Functional.Conv2d(x, conv.Weight, conv.Bias, stride: 2, padding: 1));
        using var lin = new Linear(8, 5, generator: g);
        TestUtil.AssertClose(lin.Call(x), Functional.Linear(x, lin.Weight, lin.Bias));
        TestUtil.AssertClose(new MaxPool2d(3, 2, 1).Call(x), Functional.MaxPool2d(x, 3, 2, 1));
        TestUtil.AssertClose(new AvgPool2d(2).Call(x), Functional.AvgPool2d(x, 2));
        TestUtil.AssertClose(new AdaptiveAvgPool2d(1).Call(x), Functional.GlobalAvgPool2d(x));
        TestUtil.AssertClose(new LocalResponseNorm(5).Call(x), Functional.LocalResponseNorm(x, 5));
        TestUtil.AssertClose(new ReLU6().Call(x), x.Relu6());
        TestUtil.AssertClose(new LeakyReLU(0.2).Call(x), x.LeakyRelu(0.2));
        TestUtil.AssertClose(new Hardswish().Call(x), x.Hardswish());
        TestUtil.AssertClose(new Softmax(1).Call(x), x.Softmax(1));
        TestUtil.AssertClose(new Flatten().Call(x), x.Flatten(1));
        var d = new Dropout(0.5);
        d.Eval();
        Assert.That(ReferenceEquals(d.Call(x), x), Is.True, "dropout is the identity in eval mode");
        var x3 = Tensor.Randn([1, 2, 3, 4, 4], DType.Float32, g);
        using var c3 = new Conv3d(2, 3, 2, generator: g);
        TestUtil.AssertClose(c3.Call(x3), Functional.Conv3d(x3, c3.Weight, c3.Bias));
    }

    [Test]
    public void DefaultInitMatchesPyTorchBounds()
    {
        var g = TestUtil.Gen();
        using var conv = new Conv2d(16, 32, 3, generator: g);
        double bound = 1 / Math.Sqrt(16 * 9);
        var w = conv.Weight.ToArray<float>();
        Assert.That(w.Max(), Is.LessThanOrEqualTo(bound).And.GreaterThan(bound * 0.95));
        Assert.That(w.Min(), Is.GreaterThanOrEqualTo(-bound).And.LessThan(-bound * 0.95));
        Assert.That(conv.Bias!.ToArray<float>().Max(), Is.LessThanOrEqualTo(bound));
        using var bn = new BatchNorm2d(4);
        Assert.That(bn.Weight!.ToArray<float>(), Is.All.EqualTo(1f));
        Assert.That(bn.RunningVar!.ToArray<float>(), Is.All.EqualTo(1f));
    }

    [Test]
    public void InitSchemesHaveTheirStatistics()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var w = Tensor.Zeros([256, 128, 3, 3], DType.Float64);
        long fanIn = 128 * 9, fanOut = 256 * 9, n = w.NumEl;
        void Check(double expectMean, double expectStd)
        {
            var v = w.ToArray<double>();
            double m = v.Average(), s = Math.Sqrt(v.Select(e => (e - m) * (e - m)).Average());
            Assert.That(m, Is.EqualTo(expectMean).Within(5 * expectStd / Math.Sqrt(n)));
            Assert.That(s, Is.EqualTo(expectStd).Within(expectStd * 0.01));
        }
        Init.KaimingNormal(w, nonlinearity: Nonlinearity.Relu, generator: g); Check(0, Math.Sqrt(2.0 / fanIn));
        Init.KaimingNormal(w, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu, generator: g); Check(0, Math.Sqrt(2.0 / fanOut));
        Init.KaimingUniform(w, nonlinearity: Nonlinearity.Relu, generator: g); Check(0, Math.Sqrt(2.0 / fanIn)); // U(±√3σ) has std σ
        Init.XavierUniform(w, generator: g); Check(0, Math.Sqrt(2.0 / (fanIn + fanOut)));
        Init.XavierNormal(w, gain: 2, generator: g); Check(0, 2 * Math.Sqrt(2.0 / (fanIn + fanOut)));
        Init.TruncNormal(w.Narrow(0, 0, 8), std: 0.02, a: -0.04, b: 0.04, generator: g);
        var t = w.Narrow(0, 0, 8).ToDoubleArray();
        Assert.That(t.Max(), Is.LessThanOrEqualTo(0.04));
        Assert.That(t.Min(), Is.GreaterThanOrEqualTo(-0.04));
        Init.Constant(w, 0.5);
        Assert.That(w.ToArray<double>(), Is.All.EqualTo(0.5));
    }

    [Test]
    public void SameSeedGivesTheSameInitialisation()
    {
        ulong seed = TestContext.CurrentContext.Random.NextULong();
        using var a = new Linear(10, 10, generator: new Generator(seed));
        using var b = new Linear(10, 10, generator: new Generator(seed));
        Assert.That(a.Weight.ToArray<float>(), Is.EqualTo(b.Weight.ToArray<float>()));
    }

    [Test]
    public void PrintsLikePyTorchAndSummarisesShapes()
    {
        using var net = new Net(TestUtil.Gen());
        var text = net.ToString();
        Assert.That(text, Does.StartWith("Net(\n  (features): Sequential(\n    (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"));
        Assert.That(text, Does.Contain("(classifier): Linear(in_features=64, out_features=10, bias=True)"));
        var summary = net.Summary([2, 1, 8, 8]);
        Assert.That(summary, Does.Contain("features.0 (Conv2d)").And.Contain("[2, 4, 8, 8]").And.Contain("[2, 4, 4, 4]").And.Contain("[2, 10]"));
        Assert.That(summary, Does.Contain($"Total parameters: {net.ParameterCount():N0}"));
    }

    [Test]
    public void DisposingAModelReleasesItsMemory()
    {
        GC.Collect(); GC.WaitForPendingFinalizers();
        long before = Engine.Kernels.Cpu.CpuStorage.LiveBytes;
        var net = new Net(TestUtil.Gen());
        Assert.That(Engine.Kernels.Cpu.CpuStorage.LiveBytes, Is.GreaterThan(before));
        net.Dispose();
        Assert.That(Engine.Kernels.Cpu.CpuStorage.LiveBytes, Is.EqualTo(before));
    }
}
