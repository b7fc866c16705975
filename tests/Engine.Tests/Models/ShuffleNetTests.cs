using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>The ShuffleNet v2 unit's split/shuffle behaviour and the stage layout from the table.</summary>
public class ShuffleNetTests
{
    [Test]
    public void StrideOneUnitPassesTheFirstHalfThroughToTheEvenChannels()
    {
        // After concat(x1, branch2(x2)) and a 2-group shuffle, output channel 2j is input channel j.
        var g = TestUtil.Gen();
        using var unit = new ShuffleUnit(8, 8, 1, g);
        unit.Eval();
        var x = TestUtil.RandnF(g, 2, 8, 5, 5);
        var y = unit.Call(x);
        Assert.That(y.Shape, Is.EqualTo(x.Shape));
        for (int j = 0; j < 4; j++) TestUtil.AssertClose(y.Narrow(1, 2 * j, 1), x.Narrow(1, j, 1), 0, 0);
        Assert.That(unit.NamedParameters().Any(p => p.Name.StartsWith("branch1", StringComparison.Ordinal)), Is.False, "stride 1 has an empty branch1");
    }

    [Test]
    public void StrideTwoUnitHalvesTheSizeWithBothBranches()
    {
        var g = TestUtil.Gen();
        using var unit = new ShuffleUnit(6, 10, 2, g);
        var y = unit.Call(TestUtil.RandnF(g, 1, 6, 7, 8));
        Assert.That(y.Shape, Is.EqualTo(new long[] { 1, 10, 4, 4 }));
        Assert.Throws<ArgumentValueException>(() => new ShuffleUnit(6, 10, 1, g));
    }

    [Test]
    public void StagesFollowTheTable()
    {
        using var model = ModelRegistry.Create("shufflenet_v2_x1_0", new ModelOptions(10, 3, new Generator(0)));
        var children = model.NamedChildren().ToDictionary(c => c.Name, c => c.Module);
        Assert.That(children.Keys, Is.EqualTo(new[] { "conv1", "maxpool", "stage2", "stage3", "stage4", "conv5", "fc" }));
        Assert.That(new[] { "stage2", "stage3", "stage4" }.Select(s => ((Sequential)children[s]).Count), Is.EqualTo(new[] { 4, 8, 4 }));
        model.Eval();
        var y = model.Call(TestUtil.RandnF(TestUtil.Gen(), 1, 3, 1, 1));
        Assert.That(y.Shape, Is.EqualTo(new long[] { 1, 10 }), "torchvision's min_size 1 runs");
    }
}
