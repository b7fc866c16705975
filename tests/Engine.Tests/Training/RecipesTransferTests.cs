using Engine.Models;
using Engine.Nn;
using Engine.Nn.Data;
using static Engine.Tests.Training.RecipesTestData;

namespace Engine.Tests.Training;

public class RecipesTransferTests
{
    private static void Steps(Module model, Optimizer opt, IDataset data, int steps)
    {
        using var loader = new DataLoader(data, 8, shuffle: true, seed: 5);
        model.Train();
        int n = 0;
        foreach (var batch in loader)
        {
            using var scope = Tensor.NewDisposeScope();
            using (batch)
            {
                opt.ZeroGrad();
                Functional.CrossEntropy(model.Call(batch.Images), batch.Labels).Backward();
                opt.Step();
            }
            if (++n == steps) break;
        }
    }

    [Test]
    public void FrozenParametersAndFrozenBatchNormStatisticsDoNotChange()
    {
        var data = Problem(1, 48);
        using var model = Net(3);
        int frozen = Freezing.Freeze(model, "0", "1"); // conv and its BatchNorm, by module path
        Assert.That(frozen, Is.EqualTo(4));
        model.Train();
        Assert.That(model[1].Training, Is.False, "a frozen BatchNorm stays in eval mode after Train()");
        Assert.That(model[5].Training, Is.True);
        var before = Snapshot(model);
        using var opt = new SGD(model.Parameters(), 0.1, momentum: 0.9, weightDecay: 1e-3);
        Steps(model, opt, data, 4);
        var after = Snapshot(model);
        foreach (var k in new[] { "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked" })
            Assert.That(after[k], Is.EqualTo(before[k]), k);
        Assert.That(after["5.weight"], Is.Not.EqualTo(before["5.weight"]), "the head trains");
    }

    [Test]
    public void FreezingByGlobAndByModuleAndUnfreezing()
    {
        using var model = Net(3);
        Assert.That(Freezing.Freeze(model, "*.bias"), Is.EqualTo(3));
        Assert.That(model.NamedParameters().Where(p => !p.Parameter.RequiresGrad).Select(p => p.Name), Is.EqualTo(new[] { "0.bias", "1.bias", "5.bias" }));
        Assert.That(model[1].KeepEval, Is.False, "a BatchNorm with a trainable weight is not pinned");
        Freezing.Unfreeze(model);
        Freezing.Freeze(model[1]);
        Assert.That(model[1].KeepEval && !model[1].Training, Is.True);
        Assert.That(Freezing.TrainableParameters(model).Count(), Is.EqualTo(4));
        Freezing.Unfreeze(model);
        model.Train();
        Assert.That(model[1].Training, Is.True);
        Assert.That(() => Freezing.Freeze(model, "nothing.*"), Throws.TypeOf<RecipeException>().With.Message.Contains("no parameter matches"));
    }

    [Test]
    public void GetSubmoduleAndSetParameter()
    {
        using var model = ModelRegistry.Create("lenet5", new ModelOptions(10, 1, new Generator(1)));
        Assert.That(model.GetSubmodule("classifier.4"), Is.TypeOf<Linear>());
        Assert.That(model.GetSubmodule(""), Is.SameAs(model));
        Assert.That(() => model.GetSubmodule("classifier.9"), Throws.TypeOf<ArgumentValueException>().With.Message.Contains("children: 0, 1, 2, 3, 4"));
        model.SetParameter("classifier.4.bias", Tensor.Zeros(10));
        Assert.That(((Linear)model.GetSubmodule("classifier.4")).Bias!.ToArray<float>(), Is.All.EqualTo(0f));
    }

    [TestCase(null)]
    [TestCase("classifier")]
    [TestCase("classifier.4")]
    public void ReplacingTheHeadGivesTheNewClassesAndKeepsTheBackbone(string? head)
    {
        using var model = (LeNet5)ModelRegistry.Create("lenet5", new ModelOptions(10, 1, new Generator(1)));
        var linear = model.Classifier[4];
        var before = Snapshot(model);
        string path = ClassifierHead.Replace(model, 4, head, new Generator(7));
        Assert.That(path, Is.EqualTo("classifier.4"));
        Assert.That(model.Classifier[4], Is.SameAs(linear), "the layer object stays, so typed references remain valid");
        Assert.That(((Linear)linear).Weight.Shape, Is.EqualTo(new long[] { 4, 84 }));
        Assert.That(ClassifierHead.OutFeatures(model), Is.EqualTo(4));
        Assert.That(ClassifierHead.InFeatures(model, head), Is.EqualTo(84));
        using var scope = Tensor.NewDisposeScope();
        var y = model.Call(Tensor.Randn([2, 1, 28, 28], DType.Float32, new Generator(2)));
        Assert.That(y.Shape, Is.EqualTo(new long[] { 2, 4 }));
        var after = Snapshot(model);
        Assert.That(after["features.0.weight"], Is.EqualTo(before["features.0.weight"]));
        Assert.That(after["classifier.2.weight"], Is.EqualTo(before["classifier.2.weight"]));
        Assert.That(model.StateDict().Keys, Is.EqualTo(before.Keys), "same names in the same order");
        y.Sum().Backward();
        Assert.That(((Linear)linear).Weight.Grad, Is.Not.Null, "the new head is trainable");
    }

    [Test]
    public void HeadErrorsAreTyped()
    {
        using var model = Net(1);
        Assert.That(() => ClassifierHead.Replace(model, 2, "7"), Throws.TypeOf<RecipeException>().With.Message.Contains("no head '7'"));
        Assert.That(() => ClassifierHead.Replace(model, 2, "2"), Throws.TypeOf<RecipeException>().With.Message.Contains("holds no Linear"));
        Assert.That(() => ClassifierHead.Replace(model, 0), Throws.TypeOf<RecipeException>());
        using var conv = new Sequential(new Conv2d(1, 2, 3));
        Assert.That(() => ClassifierHead.Find(conv), Throws.TypeOf<RecipeException>().With.Message.Contains("no Linear"));
        Assert.That(ClassifierHead.Replace(conv, 5, "0"), Is.EqualTo("0"), "a 1×1-conv style head is a convolution too");
        Assert.That(((Conv2d)conv[0]).Weight.Shape, Is.EqualTo(new long[] { 5, 1, 3, 3 }));
    }

    [Test]
    public void ApproachOneTrainsTheHeadOnly()
    {
        var data = Problem(2, 48);
        using var model = Net(5);
        var headParams = FineTuning.FreezeBackbone(model, "5");
        Assert.That(headParams, Has.Count.EqualTo(2));
        model.Train();
        Assert.That(model[1].Training, Is.False);
        var before = Snapshot(model);
        using var opt = new SGD(Freezing.TrainableParameters(model), 0.1, momentum: 0.9);
        Steps(model, opt, data, 3);
        var after = Snapshot(model);
        foreach (var k in before.Keys.Where(k => !k.StartsWith("5.", StringComparison.Ordinal)))
            Assert.That(after[k], Is.EqualTo(before[k]), k);
        Assert.That(after["5.weight"], Is.Not.EqualTo(before["5.weight"]));
    }

    [Test]
    public void ApproachTwoUsesOneLearningRatePerGroup()
    {
        using var model = PlainNet(4);
        var groups = FineTuning.DiscriminativeGroups(model, "4", backboneLr: 0.01, headLr: 0.5);
        Assert.That(groups.Select(g => g.Params.Count), Is.EqualTo(new[] { 2, 2 }));
        using var opt = new SGD(groups, lr: 123);
        Assert.That(opt.ParamGroups.Select(g => g.Lr), Is.EqualTo(new[] { 0.01, 0.5 }));
        var before = Snapshot(model);
        using (Tensor.NewDisposeScope())
        {
            var x = Tensor.Randn([4, 1, 8, 8], DType.Float32, new Generator(3));
            var y = Tensor.FromArray(new long[] { 0, 1, 2, 0 });
            opt.ZeroGrad();
            Functional.CrossEntropy(model.Call(x), y).Backward();
        }
        var grads = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad!.To(DType.Float64).ToArray<double>());
        opt.Step();
        var after = Snapshot(model);
        foreach (var (name, lr) in new[] { ("0.weight", 0.01), ("0.bias", 0.01), ("4.weight", 0.5), ("4.bias", 0.5) })
            for (int i = 0; i < after[name].Length; i++)
                Assert.That(after[name][i], Is.EqualTo(before[name][i] - lr * grads[name][i]).Within(1e-6), $"{name}[{i}]");
    }

    [Test]
    public void PretrainedWeightsLoadFromACheckpointOrAStateDictExceptTheHead()
    {
        string dir = TempFolder("pretrained");
        try
        {
            using var source = (LeNet5)ModelRegistry.Create("lenet5", new ModelOptions(10, 1, new Generator(1)));
            string ckpt = Path.Combine(dir, "c.safetensors"), plain = Path.Combine(dir, "p.safetensors");
            Checkpoint.Save(ckpt, source, extra: new Dictionary<string, string> { ["model"] = "lenet5" });
            source.Save(plain);
            foreach (var path in new[] { ckpt, plain })
            {
                using var target = ModelRegistry.Create("lenet5", new ModelOptions(10, 1, new Generator(2)));
                ClassifierHead.Replace(target, 3, "classifier.4", new Generator(3));
                var headBefore = Snapshot(target)["classifier.4.weight"];
                PretrainedWeights.Load(target, path, skip: "classifier.4", expectedModel: "lenet5");
                var s = Snapshot(source);
                var t = Snapshot(target);
                Assert.That(t["features.3.weight"], Is.EqualTo(s["features.3.weight"]));
                Assert.That(t["classifier.2.bias"], Is.EqualTo(s["classifier.2.bias"]));
                Assert.That(t["classifier.4.weight"], Is.EqualTo(headBefore), "the replaced head keeps its new weights");
            }
            using var other = Net(1);
            Assert.That(() => PretrainedWeights.Load(other, ckpt), Throws.TypeOf<RecipeException>().With.Message.Contains("another model"));
            using var lenet = ModelRegistry.Create("lenet5", new ModelOptions(10, 1, new Generator(2)));
            Assert.That(() => PretrainedWeights.Load(lenet, ckpt, expectedModel: "resnet18"), Throws.TypeOf<RecipeException>().With.Message.Contains("checkpoint of 'lenet5'"));
            Assert.That(() => PretrainedWeights.Load(lenet, Path.Combine(dir, "none.safetensors")), Throws.TypeOf<RecipeException>());
        }
        finally { Directory.Delete(dir, true); }
    }
}
