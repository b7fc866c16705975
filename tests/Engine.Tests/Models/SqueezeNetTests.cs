using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>SqueezeNet's registry facts and options (the zoo tests check the weights and outputs against torchvision).</summary>
[TestFixture]
public sealed class SqueezeNetTests
{
    /// <summary>torchvision's min_size is the smallest input whose ceil-mode pools all get a non-empty window.</summary>
    [TestCase("squeezenet1_0"), TestCase("squeezenet1_1")]
    public void RunsAtItsMinimumSizeAndNotBelow(string name)
    {
        var info = ModelRegistry.Info(name);
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var model = ModelRegistry.Create(name, new ModelOptions(7, 3, g));
        model.Eval();
        using (Tensor.NoGrad())
        {
            var y = model.Call(Tensor.Randn([1, 3, info.MinSize, info.MinSize], DType.Float32, g));
            Assert.That(y.Shape, Is.EqualTo(new long[] { 1, 7 }));
            Assert.That(y.ToDoubleArray().All(double.IsFinite));
            Assert.Throws<ShapeException>(() => model.Call(Tensor.Randn([1, 3, info.MinSize - 1, info.MinSize - 1], DType.Float32, g)));
        }
    }

    [Test]
    public void DropoutOptionOverridesTheDefault()
    {
        using var standard = ModelRegistry.Create("squeezenet1_1", new ModelOptions(10, 3, TestUtil.Gen()));
        using var custom = ModelRegistry.Create("squeezenet1_1", new ModelOptions(10, 3, TestUtil.Gen()) { Dropout = 0.2 });
        Assert.That(standard.NamedModules().Select(m => m.Module).OfType<Dropout>().Single().P, Is.EqualTo(0.5));
        Assert.That(custom.NamedModules().Select(m => m.Module).OfType<Dropout>().Single().P, Is.EqualTo(0.2));
    }
}
