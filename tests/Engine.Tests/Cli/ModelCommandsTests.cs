using Engine.Cli;
using Engine.Models;
using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Tests.Cli;

/// <summary><c>engine models</c>, <c>engine summary</c>, and training any registered model with the dataset's size, channels, classes and PyTorch weights.</summary>
[TestFixture]
public sealed class ModelCommandsTests
{
    [Test]
    public void ModelsListsEveryVariantWithTheInspectorsNumbers()
    {
        var log = new StringWriter();
        Assert.That(ModelsCommand.Run(null, log), Is.EqualTo(0), log.ToString());
        var text = log.ToString();
        foreach (var m in ModelRegistry.All) Assert.That(text, Does.Contain(m.Name).And.Contain(m.Paper));
        using var lenet = ModelRegistry.Info("lenet5").CreatePublished(new Generator(0));
        var cpu = ModelInspector.Inspect(lenet, [1, 1, 28, 28]);
        var row = text.Split('\n').Single(l => l.StartsWith("lenet5 ", StringComparison.Ordinal));
        Assert.That(row, Does.Contain("61,706").And.Contain(" " + ModelSummary.Abbreviate(cpu.Macs) + " "));
        Assert.That(ModelsCommand.Run("NoSuchFamily", new StringWriter()), Is.EqualTo(2));
    }

    [Test]
    public void CountsAreAbbreviatedWithThreeSignificantDigits()
    {
        Assert.That(new[] { 999L, 416_520, 1_818_000_000, 37_750_000_000, 12_345_678 }.Select(ModelSummary.Abbreviate),
            Is.EqualTo(new[] { "999", "417K", "1.82G", "37.8G", "12.3M" }));
    }

    [Test]
    public void SummaryPrintsTheLayerTableAndChecksTheInput()
    {
        var log = new StringWriter();
        Assert.That(SummaryCommand.Run("lenet5", null, 0, log), Is.EqualTo(0), log.ToString());
        Assert.That(log.ToString(), Does.Contain("features.0 (Conv2d)").And.Contain("[1, 6, 28, 28]").And.Contain("Total MACs: 416,520"));
        log = new StringWriter();
        Assert.That(SummaryCommand.Run("lenet5", "3,28,28", 4, log), Is.EqualTo(0), log.ToString());
        Assert.That(log.ToString(), Does.Contain("[1, 4]"), "classes and channels follow the options");
        foreach (var bad in new[] { "1,28", "1,x,28", "1,20,20" })
        {
            log = new StringWriter();
            Assert.That(SummaryCommand.Run("lenet5", bad, 0, log), Is.EqualTo(2), bad);
            Assert.That(log.ToString(), Does.StartWith("error:"), bad);
        }
    }

    /// <summary>
    /// Video models take clips C,T,H,W, and their MACs count each 3-D kernel's temporal extent: a lone Conv3d against
    /// the count by hand, and the published models at 16×112×112 against torchvision's documented GFLOPS (its model
    /// table: R3D-18 40.70, MC3-18 43.34, R(2+1)D-18 40.52; torchvision counts multiply-adds).
    /// </summary>
    [Test]
    public void SummaryOfAVideoModelTakesClipsAndCountsTemporalKernels()
    {
        using (var conv = new Conv3d(2, 4, [3, 1, 2], [1, 1, 1], [0, 0, 0], [1, 1, 1], generator: new Generator(0)))
            Assert.That(ModelInspector.Inspect(conv, [1, 2, 5, 6, 7]).Macs, Is.EqualTo(4L * 3 * 6 * 6 * (2 * 3 * 1 * 2)), "output elements x in x kt x kh x kw");
        foreach (var (name, gmacs) in new[] { ("r3d_18", 40.70), ("mc3_18", 43.34), ("r2plus1d_18", 40.52) })
        {
            var info = ModelRegistry.Info(name);
            Assert.That(info.DefaultInputShape, Is.EqualTo(new long[] { 3, 16, 112, 112 }), name);
            Assert.That(Math.Round(ModelsCommand.Inspect(info, info.DefaultInputShape).Macs / 1e9, 2), Is.EqualTo(gmacs), name);
        }
        var log = new StringWriter();
        Assert.That(SummaryCommand.Run("r2plus1d_18", "3,4,32,32", 10, log), Is.EqualTo(0), log.ToString());
        Assert.That(log.ToString(), Does.Contain("stem.3 (Conv3d)").And.Contain("[1, 64, 4, 16, 16]").And.Contain("Input shape: [1, 3, 4, 32, 32]").And.Contain("[1, 10]"));
        foreach (var bad in new[] { "3,32,32", "3,4,32,0" })
        {
            log = new StringWriter();
            Assert.That(SummaryCommand.Run("r3d_18", bad, 0, log), Is.EqualTo(2), bad);
            Assert.That(log.ToString(), Does.StartWith("error: input"), bad);
        }
    }

    /// <summary>A tiny model that needs 36×36 inputs and records what it was built and called with.</summary>
    private sealed class Probe : Module
    {
        public static ModelOptions? Built;
        public static long[]? Seen;
        private readonly Sequential _net;

        public Probe(ModelOptions o)
        {
            Built = o;
            _net = RegisterModule("net", new Sequential(new Conv2d(o.InChannels, 4, 9, stride: 4, generator: o.Generator), new ReLU(),
                new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4, o.NumClasses, generator: o.Generator)));
        }

        public override Tensor Forward(Tensor x)
        {
            if (x.Size(2) < 36) throw new ShapeException("probe", $"needs 36x36, got {x.Size(2)}");
            Seen = [.. x.Shape];
            return _net.Call(x);
        }
    }

    [Test]
    public void TrainBuildsAnyModelForTheDatasetAndEvalRebuildsIt()
    {
        ModelRegistry.Register(new ModelInfo("cli_test_probe", ModelFamily.LeNet, 224, 36, "a test model", o => new Probe(o)));
        string dir = Directory.CreateTempSubdirectory("cli").FullName;
        try
        {
            var log = new StringWriter();
            int rc = TrainCommand.Run(new TrainSettings { Model = "cli_test_probe", Epochs = 1, LimitTrain = 64, LimitTest = 32, BatchSize = 32, Output = dir, Workers = 1, Device = "cpu" }, log);
            Assert.That(rc, Is.EqualTo(0), log.ToString());
            Assert.That(Probe.Built!.InChannels, Is.EqualTo(FashionMnist.Info.Channels));
            Assert.That(Probe.Built.NumClasses, Is.EqualTo(FashionMnist.Info.NumClasses));
            Assert.That(Probe.Seen![1..], Is.EqualTo(new long[] { 1, 36, 36 }), "28x28 images resized to the model's minimum");
            Assert.That(log.ToString(), Does.Contain("1x36x36 input, 10 classes"));
            Probe.Seen = null;
            var evalLog = new StringWriter();
            Assert.That(EvalCommand.Run(Path.Combine(dir, "best.safetensors"), null, null, "cpu", null, evalLog), Is.EqualTo(0), evalLog.ToString());
            Assert.That(evalLog.ToString(), Does.Contain("cli_test_probe"));
            Assert.That(Probe.Seen![1..], Is.EqualTo(new long[] { 1, 36, 36 }));

            log = new StringWriter();
            Assert.That(TrainCommand.Run(new TrainSettings { Model = "cli_test_probe", ImageSize = 30, Output = dir, Device = "cpu" }, log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("at least 36x36"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void PyTorchWeightsLoadWithTheGreyStemSummedAndTheOtherHeadSkipped()
    {
        string file = Path.Combine(Path.GetTempPath(), $"weights-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var source = new LeNet5(numClasses: 5, inChannels: 3, generator: new Generator(1));
            source.Save(file);
            using var target = new LeNet5(numClasses: 10, inChannels: 1, generator: new Generator(2));
            var headBefore = target.Classifier.StateDict()["4.weight"].ToArray<float>();
            var notes = PretrainedWeights.Load(target, file, mismatch: ShapeMismatch.AdaptOrSkip).Notes;
            Assert.That(notes, Has.Count.EqualTo(3));
            Assert.That(notes[0], Does.StartWith("features.0.weight: [6, 3, 5, 5] summed"));
            Assert.That(notes.Skip(1), Has.All.Contain("skipped"));
            var src = source.StateDict();
            var dst = target.StateDict();
            using (var sum = src["features.0.weight"].Sum(1, keepDim: true))
                Assert.That(dst["features.0.weight"].ToArray<float>(), Is.EqualTo(sum.ToArray<float>()).Within(1e-6));
            Assert.That(dst["features.3.weight"].ToArray<float>(), Is.EqualTo(src["features.3.weight"].ToArray<float>()));
            Assert.That(dst["classifier.4.weight"].ToArray<float>(), Is.EqualTo(headBefore), "the skipped head keeps its initialisation");

            using var other = new Sequential(new Linear(2, 2));
            Assert.That(() => PretrainedWeights.Load(other, file, mismatch: ShapeMismatch.AdaptOrSkip),
                Throws.TypeOf<RecipeException>().With.Message.Contains("another model"), "names must match");
            using var strict = new LeNet5(numClasses: 10, inChannels: 1, generator: new Generator(4));
            var stemBefore = strict.StateDict()["features.3.weight"].ToArray<float>();
            Assert.That(() => PretrainedWeights.Load(strict, file), Throws.TypeOf<RecipeException>().With.Message.Contains("of another shape"),
                "shapes must match unless adapting");
            Assert.That(strict.StateDict()["features.3.weight"].ToArray<float>(), Is.EqualTo(stemBefore), "a refused file loads nothing");

            var log = new StringWriter();
            string dir = Directory.CreateTempSubdirectory("cli").FullName;
            int rc = TrainCommand.Run(new TrainSettings { Weights = file, Epochs = 1, LimitTrain = 64, LimitTest = 32, Output = dir, Workers = 1, Device = "cpu" }, log);
            Directory.Delete(dir, true);
            Assert.That(rc, Is.EqualTo(0), log.ToString());
            Assert.That(log.ToString(), Does.Contain("note: classifier.4.weight: skipped").And.Contain($"loaded weights from {file}"));
        }
        finally { File.Delete(file); }
    }

    /// <summary>A model whose auxiliary head exists only with <see cref="ModelOptions.AuxLogits"/>, as GoogLeNet's.</summary>
    private sealed class WithAux : Module
    {
        public static ModelOptions? Built;
        private readonly Sequential _net;

        public WithAux(ModelOptions o)
        {
            Built = o;
            _net = RegisterModule("net", new Sequential(new Conv2d(o.InChannels, 4, 3, padding: 1, generator: o.Generator), new ReLU(),
                new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4, o.NumClasses, generator: o.Generator)));
            if (o.AuxLogits) RegisterModule("aux", new Linear(4, o.NumClasses, generator: o.Generator));
        }

        public override Tensor Forward(Tensor x) => _net.Call(x);
    }

    [Test]
    public void WeightsWithoutAuxiliaryHeadsBuildTheModelWithoutThem()
    {
        ModelRegistry.Register(new ModelInfo("cli_test_aux", ModelFamily.Inception, 28, 28, "a test model", o => new WithAux(o), DefaultChannels: 1, DefaultClasses: 10));
        string file = Path.Combine(Path.GetTempPath(), $"weights-{Guid.NewGuid():N}.safetensors");
        string dir = Directory.CreateTempSubdirectory("cli").FullName;
        try
        {
            using (var plain = new WithAux(new ModelOptions(10, 1, new Generator(3)) { AuxLogits = false })) plain.Save(file);
            var log = new StringWriter();
            int rc = TrainCommand.Run(new TrainSettings { Model = "cli_test_aux", Weights = file, Epochs = 1, LimitTrain = 64, LimitTest = 32, Output = dir, Workers = 1, Device = "cpu" }, log);
            Assert.That(rc, Is.EqualTo(0), log.ToString());
            Assert.That(log.ToString(), Does.Contain("has no auxiliary heads"));
            Assert.That(WithAux.Built!.AuxLogits, Is.False);
            var evalLog = new StringWriter();
            Assert.That(EvalCommand.Run(Path.Combine(dir, "best.safetensors"), null, null, "cpu", null, evalLog), Is.EqualTo(0), evalLog.ToString());
            Assert.That(WithAux.Built!.AuxLogits, Is.False, "eval rebuilds the model as trained");
        }
        finally
        {
            File.Delete(file);
            Directory.Delete(dir, true);
        }
    }
}
