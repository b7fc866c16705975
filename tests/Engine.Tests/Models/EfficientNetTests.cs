using System.Diagnostics;
using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>EfficientNet's compound scaling and stochastic-depth schedule against torchvision 0.14.</summary>
[TestFixture]
public sealed class EfficientNetTests
{
    // torchvision's _efficientnet_conf: blocks per stage, then the stem width and each stage's output width.
    [TestCase(0, new[] { 1, 2, 2, 3, 3, 4, 1 }, new[] { 32, 16, 24, 40, 80, 112, 192, 320 })]
    [TestCase(1, new[] { 2, 3, 3, 4, 4, 5, 2 }, new[] { 32, 16, 24, 40, 80, 112, 192, 320 })]
    [TestCase(2, new[] { 2, 3, 3, 4, 4, 5, 2 }, new[] { 32, 16, 24, 48, 88, 120, 208, 352 })]
    [TestCase(3, new[] { 2, 3, 3, 5, 5, 6, 2 }, new[] { 40, 24, 32, 48, 96, 136, 232, 384 })]
    [TestCase(4, new[] { 2, 4, 4, 6, 6, 8, 2 }, new[] { 48, 24, 32, 56, 112, 160, 272, 448 })]
    [TestCase(5, new[] { 3, 5, 5, 7, 7, 9, 3 }, new[] { 48, 24, 40, 64, 128, 176, 304, 512 })]
    [TestCase(6, new[] { 3, 6, 6, 8, 8, 11, 3 }, new[] { 56, 32, 40, 72, 144, 200, 344, 576 })]
    [TestCase(7, new[] { 4, 7, 7, 10, 10, 13, 4 }, new[] { 64, 32, 48, 80, 160, 224, 384, 640 })]
    public void CompoundScalingGivesTorchvisionsStages(int b, int[] layers, int[] widths)
    {
        var stages = EfficientNet.ScaledStages(EfficientNet.Scalings[b]);
        Assert.That(stages.Select(s => s.Layers), Is.EqualTo(layers));
        Assert.That(stages.Select(s => s.Out).Prepend(stages[0].In), Is.EqualTo(widths));
        for (int i = 1; i < stages.Count; i++) Assert.That(stages[i].In, Is.EqualTo(stages[i - 1].Out), "each stage starts at the previous one's width");
    }

    // torchvision 0.14's num_params metadata for variants the zoo's state-dict test does not list (b0, b1, b7 are there).
    // b5 (30,389,784) and b6 (43,040,704) are left out for time (~3 s CPU each to build); their stages are checked above.
    [TestCase("efficientnet_b2", 9_109_994)]
    [TestCase("efficientnet_b3", 12_233_232)]
    [TestCase("efficientnet_b4", 19_341_616)]
    public void ParameterCountMatchesTorchvision(string name, long count)
    {
        var sw = Stopwatch.StartNew();
        using var model = ModelRegistry.Create(name, new ModelOptions(1000, 3, new Generator(0)));
        Assert.That(model.ParameterCount(), Is.EqualTo(count));
        TestContext.Out.WriteLine($"{name} built in {sw.Elapsed.TotalSeconds:F1} s");
    }

    [TestCase("efficientnet_b0", null, 0.2, 16)]
    [TestCase("efficientnet_b1", 0.5, 0.5, 23)]
    public void StochasticDepthRisesLinearlyOverTheBlocks(string name, double? option, double p, int blocks)
    {
        using var model = ModelRegistry.Create(name, new ModelOptions(10, 3, new Generator(0)) { StochasticDepth = option });
        var rates = model.NamedModules().Select(m => m.Module).OfType<StochasticDepth>().Select(sd => sd.P).ToArray();
        Assert.That(rates, Has.Length.EqualTo(blocks));
        for (int i = 0; i < blocks; i++) Assert.That(rates[i], Is.EqualTo(p * i / blocks).Within(1e-12), $"block {i}");
        Assert.That(rates[^1], Is.EqualTo(p * (blocks - 1) / blocks).Within(1e-12));
    }

    [Test]
    public void DropoutAndBatchNormFollowTheVariant()
    {
        using var b0 = (EfficientNet)ModelRegistry.Create("efficientnet_b0", new ModelOptions(10, 3, new Generator(0)));
        using var b1 = (EfficientNet)ModelRegistry.Create("efficientnet_b1", new ModelOptions(10, 3, new Generator(0)) { Dropout = 0.7 });
        Assert.That(((Dropout)b0.Classifier[0]).P, Is.EqualTo(0.2));
        Assert.That(((Dropout)b1.Classifier[0]).P, Is.EqualTo(0.7), "ModelOptions.Dropout overrides the variant's rate");
        var bn = b0.NamedModules().Select(m => m.Module).OfType<BatchNormBase>().ToArray();
        Assert.That(bn.All(n => n.Eps == 1e-5 && n.Momentum == 0.1), "b0-b4 use PyTorch's BatchNorm defaults");
        // b5-b7 carry TensorFlow's settings (their torchvision weights were ported); check them on a B0-sized copy.
        using var tfBn = new EfficientNet(EfficientNet.Scalings[0] with { BnEps = EfficientNet.Scalings[7].BnEps, BnMomentum = EfficientNet.Scalings[7].BnMomentum },
            10, generator: new Generator(0));
        Assert.That(tfBn.NamedModules().Select(m => m.Module).OfType<BatchNormBase>().All(n => n.Eps == 1e-3 && n.Momentum == 0.01));
    }
}
