using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>DenseNet's table-derived facts (channel growth, classifier width, parameter counts) and its initialisation.</summary>
public class DenseNetTests
{
    // Final feature channels: init + Σ layers·growth, halved by each of the three transitions (the paper's Table 1).
    [TestCase("densenet121", 1024)]
    [TestCase("densenet161", 2208)]
    [TestCase("densenet169", 1664)]
    [TestCase("densenet201", 1920)]
    public void ClassifierSeesTheTableDerivedWidth(string name, long features)
    {
        using var model = (DenseNet)ModelRegistry.Create(name, new ModelOptions(10, 3, new Generator(0)));
        Assert.That(model.Classifier.Weight.Shape, Is.EqualTo(new[] { 10, features }));
    }

    [Test]
    public void Densenet161HasTorchvisionsParameterCount()
    {
        // torchvision lists densenet161's count (28,681,000) only in its weights' metadata, not in the state-dict facts file.
        using var model = ModelRegistry.Create("densenet161", new ModelOptions(1000, 3, new Generator(0)));
        Assert.That(model.ParameterCount(), Is.EqualTo(28_681_000));
    }

    [Test]
    public void DenseBlockConcatenatesItsInputAndEveryLayersGrowth()
    {
        var g = TestUtil.Gen();
        using var block = new DenseBlock(3, 5, bnSize: 2, growthRate: 4, dropRate: 0, g);
        var x = TestUtil.RandnF(g, 2, 5, 6, 6);
        var y = block.Call(x);
        Assert.That(y.Shape, Is.EqualTo(new long[] { 2, 5 + 3 * 4, 6, 6 }));
        TestUtil.AssertClose(y.Narrow(1, 0, 5), x, 0, 0);
        Assert.That(block.NamedChildren().Select(c => c.Name), Is.EqualTo(new[] { "denselayer1", "denselayer2", "denselayer3" }));
    }

    [Test]
    public void InitialisedAsTorchvision()
    {
        using var model = ModelRegistry.Create("densenet121", new ModelOptions(10, 3, TestUtil.Gen()));
        foreach (var (name, m) in model.NamedModules())
        {
            switch (m)
            {
                case Conv2d c:
                    // He normal, fan-in, gain √2 (kaiming_normal_ defaults): std √(2 / fan_in).
                    var w = c.Weight.ToDoubleArray();
                    double fanIn = c.Weight.NumEl / c.Weight.Size(0), std = Math.Sqrt(w.Select(v => v * v).Average());
                    Assert.That(std, Is.EqualTo(Math.Sqrt(2 / fanIn)).Within(w.Length > 2000 ? 8 : 25).Percent, $"{name} weight std");
                    break;
                case BatchNorm2d bn:
                    Assert.That(bn.Weight!.ToDoubleArray(), Is.All.EqualTo(1.0), name);
                    Assert.That(bn.Bias!.ToDoubleArray(), Is.All.EqualTo(0.0), name);
                    break;
                case Linear l:
                    Assert.That(l.Bias!.ToDoubleArray(), Is.All.EqualTo(0.0), name);
                    break;
            }
        }
    }

    [Test]
    public void DropoutOptionAddsADropoutAfterEachDenseLayer()
    {
        using var model = ModelRegistry.Create("densenet121", new ModelOptions(10, 3, new Generator(0)) { Dropout = 0.2 });
        var drops = model.NamedModules().Where(m => m.Module is Dropout).ToList();
        Assert.That(drops, Has.Count.EqualTo(6 + 12 + 24 + 16));
        Assert.That(drops.All(d => ((Dropout)d.Module).P == 0.2));
        using var plain = ModelRegistry.Create("densenet121", new ModelOptions(10, 3, new Generator(0)));
        Assert.That(plain.NamedModules().Any(m => m.Module is Dropout), Is.False, "torchvision's default rate is 0");
    }
}
