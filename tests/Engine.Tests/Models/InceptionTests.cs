using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>
/// The Inception family beyond the zoo checks: the auxiliary heads (which, when, with what weight and shape), the
/// training objective built from them, the models without heads, the block tables' channel arithmetic against the
/// papers, and torchvision's initialisation rules.
/// </summary>
[TestFixture]
public sealed class InceptionTests
{
    private const int Classes = 10;

    private static InceptionNet Build(string name, bool aux = true, Generator? g = null)
    {
        var model = (InceptionNet)ModelRegistry.Create(name, new ModelOptions(Classes, 3, g ?? TestUtil.Gen()) { AuxLogits = aux });
        foreach (var (_, m) in model.NamedModules())
            if (m is Dropout d) d.P = 0; // deterministic training-mode forwards
        return model;
    }

    [Test]
    public void GoogLeNetTrainingForwardReturnsBothHeadsNearestInputFirst()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var model = Build("googlenet", g: g);
        var x = Tensor.Randn([2, 3, 32, 32], DType.Float32, g);
        model.Train();
        var (logits, aux) = model.ForwardWithAuxiliary(x);
        Assert.That(logits.Shape, Is.EqualTo(new long[] { 2, Classes }));
        Assert.That(aux.Select(a => a.Name), Is.EqualTo(new[] { "aux1", "aux2" }));
        Assert.That(aux.Select(a => a.LossWeight), Is.EqualTo(new[] { 0.3, 0.3 }));
        foreach (var a in aux) Assert.That(a.Logits.Shape, Is.EqualTo(new long[] { 2, Classes }), a.Name);
        // Each head's logits are what the head module computes from the block it taps.
        using (Tensor.NoGrad())
        {
            var features = new Dictionary<string, Tensor>();
            using var h1 = FindChild(model, "inception4a").RegisterForwardHook((_, _, y) => features["inception4a"] = y);
            using var h2 = FindChild(model, "inception4d").RegisterForwardHook((_, _, y) => features["inception4d"] = y);
            var (_, again) = model.ForwardWithAuxiliary(x);
            TestUtil.AssertClose(FindChild(model, "aux1").Call(features["inception4a"]), again[0].Logits, 1e-6, 1e-5);
            TestUtil.AssertClose(FindChild(model, "aux2").Call(features["inception4d"]), again[1].Logits, 1e-6, 1e-5);
            // Forward gives the same main logits in training mode, without running the heads.
            TestUtil.AssertClose(model.Call(x), logits.Detach(), 1e-6, 1e-5);
        }
        model.Eval();
        AssertMainLogitsOnly(model, x, "eval mode computes no auxiliary heads");
    }

    [Test]
    public void TrainerLossIsMainPlusWeightedAuxiliaryCrossEntropies()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var model = Build("googlenet", g: g);
        using var opt = new SGD(model.Parameters(), 0.01);
        var trainer = new Trainer(model, opt, Classes);
        var x = Tensor.Randn([2, 3, 32, 32], DType.Float32, g);
        long[] labels = [3, 8];
        var y = Tensor.FromArray(labels, [2]);
        model.Train();
        var (_, loss) = trainer.TrainingLoss(x, y);
        var (main, aux) = model.ForwardWithAuxiliary(x);
        Assert.That(aux, Has.Count.EqualTo(2));
        double expected = CrossEntropy(main, labels) + 0.3 * CrossEntropy(aux[0].Logits, labels) + 0.3 * CrossEntropy(aux[1].Logits, labels);
        Assert.That(loss.Item(), Is.EqualTo(expected).Within(1e-5).Percent);
        // Without heads, or in eval mode, the objective is the main cross-entropy alone.
        model.Eval();
        var (evalLogits, evalLoss) = trainer.TrainingLoss(x, y);
        Assert.That(evalLoss.Item(), Is.EqualTo(CrossEntropy(evalLogits, labels)).Within(1e-5).Percent);
    }

    [Test]
    public void WithoutAuxLogitsThereAreNoHeads([Values("googlenet", "inception_v3")] string name)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var model = Build(name, aux: false, g: g);
        Assert.That(model.AuxiliaryHeads, Is.Empty);
        Assert.That(model.NamedModules().Select(m => m.Name).Where(n => n.StartsWith("aux", StringComparison.OrdinalIgnoreCase)), Is.Empty);
        // Without heads Inception v3 trains at its minimum size, 75 (its head needs 299).
        int size = ModelRegistry.Info(name).MinSize;
        model.Train();
        AssertMainLogitsOnly(model, Tensor.Randn([2, 3, size, size], DType.Float32, g), "built without heads");
    }

    [Test]
    public void InceptionV3HasOneHeadWeighted04()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var model = Build("inception_v3", g: g);
        Assert.That(ModelRegistry.Info("inception_v3").AuxMinSize, Is.EqualTo(299));
        model.Eval();
        AssertMainLogitsOnly(model, Tensor.Randn([1, 3, 75, 75], DType.Float32, g), "eval mode computes no auxiliary head");
        model.Train();
        using var noGrad = Tensor.NoGrad();
        var (logits, aux) = model.ForwardWithAuxiliary(Tensor.Randn([2, 3, 299, 299], DType.Float32, g));
        Assert.That(logits.Shape, Is.EqualTo(new long[] { 2, Classes }));
        Assert.That(aux, Has.Count.EqualTo(1));
        Assert.That((aux[0].Name, aux[0].LossWeight), Is.EqualTo(("AuxLogits", 0.4)));
        Assert.That(aux[0].Logits.Shape, Is.EqualTo(new long[] { 2, Classes }));
    }

    [Test]
    public void BlockOutputChannelsMatchThePapers()
    {
        // GoogLeNet Table 1 (output depth of inception 3a … 5b); Inception v3's 35×35 / 17×17 / 8×8 grids (288, 768, 2048).
        using var googlenet = Build("googlenet", aux: false);
        Assert.That(Blocks(googlenet), Is.EqualTo(new long[] { 256, 480, 512, 512, 512, 528, 832, 832, 1024 }));
        using var v3 = Build("inception_v3", aux: false);
        Assert.That(Blocks(v3), Is.EqualTo(new long[] { 256, 288, 288, 768, 768, 768, 768, 768, 1280, 2048, 2048 }));
    }

    [Test]
    public void InitialisationFollowsTorchvision()
    {
        // googlenet: every conv and linear weight N(0, 0.01²); inception_v3: 0.1, except AuxLogits.fc (0.001). The 0.01
        // torchvision sets on AuxLogits.conv1 sits on the BasicConv2d, not its nn.Conv2d, so that conv gets 0.1 too.
        using var googlenet = Build("googlenet");
        foreach (var (name, w) in Weights(googlenet))
            Assert.That(Std(w), Is.EqualTo(0.01).Within(5).Percent, name);
        using var v3 = Build("inception_v3");
        foreach (var (name, w) in Weights(v3))
            Assert.That(Std(w), Is.EqualTo(name == "AuxLogits.fc" ? 0.001 : 0.1).Within(5).Percent, name);
        foreach (var (name, m) in v3.NamedModules())
            if (m is BatchNorm2d bn)
            {
                Assert.That(bn.Weight!.ToDoubleArray(), Is.All.EqualTo(1.0), name);
                Assert.That(bn.Bias!.ToDoubleArray(), Is.All.EqualTo(0.0), name);
            }
    }

    private static void AssertMainLogitsOnly(InceptionNet model, Tensor x, string why)
    {
        var (logits, aux) = model.ForwardWithAuxiliary(x);
        Assert.That(aux, Is.Empty, why);
        Assert.That(logits.Shape, Is.EqualTo(new long[] { x.Size(0), Classes }));
    }

    private static Module FindChild(Module model, string name) => model.NamedChildren().Single(c => c.Name == name).Module;

    private static long[] Blocks(Module model) => [.. model.NamedChildren().Select(c => c.Module).OfType<InceptionBlock>().Select(b => b.OutChannels)];

    private static IEnumerable<(string Name, Tensor Weight)> Weights(Module model) =>
        model.NamedModules().Select(m => (m.Name, W: m.Module switch { Conv2d c => c.Weight, Linear l => l.Weight, _ => null }))
            .Where(p => p.W is not null && p.W.NumEl >= 4000).Select(p => (p.Name, p.W!));

    private static double Std(Tensor t)
    {
        var v = t.ToDoubleArray();
        double mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
    }

    /// <summary>Mean cross-entropy of rows of <paramref name="logits"/>, by log-sum-exp in double precision.</summary>
    private static double CrossEntropy(Tensor logits, long[] labels)
    {
        var v = logits.ToDoubleArray();
        int c = (int)logits.Size(1);
        double total = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = v.AsSpan(i * c, c);
            double max = double.NegativeInfinity;
            foreach (var z in row) max = Math.Max(max, z);
            double sum = 0;
            foreach (var z in row) sum += Math.Exp(z - max);
            total += max + Math.Log(sum) - row[(int)labels[i]];
        }
        return total / labels.Length;
    }
}
