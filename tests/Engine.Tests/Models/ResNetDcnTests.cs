using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>
/// ResNet-DCN beyond the zoo checks (which compare it with its PyTorch twin, ref_resnet_dcn.py): exactly the 3×3 convs of
/// layer2..layer4 are deformable, the state dict is the plain ResNet's plus their offset predictors, which start at zero,
/// and the shape-only device gives the CPU's summary.
/// </summary>
[TestFixture]
public sealed class ResNetDcnTests
{
    // resnet50_dcn shares the code path (Bottleneck's conv2 instead of both BasicBlock convs); the zoo builds, trains and
    // compares it with PyTorch, so its 2 x 26M-parameter build is not repeated here
    [TestCase("resnet18_dcn", "resnet18", 2 + 2 + 2, 2)]
    public void ThreeByThreeConvsOfLayer2To4AreDeformable(string name, string plainName, int blocks, int perBlock)
    {
        using var model = ModelRegistry.Create(name, new ModelOptions(10, 3, new Generator(0)));
        using var plain = ModelRegistry.Create(plainName, new ModelOptions(10, 3, new Generator(0)));
        var packs = model.NamedModules().Where(m => m.Module is DeformConv2dPack).ToList();
        Assert.That(packs, Has.Count.EqualTo(blocks * perBlock));
        Assert.That(packs.All(p => p.Name.StartsWith("layer2.", StringComparison.Ordinal) || p.Name.StartsWith("layer3.", StringComparison.Ordinal)
            || p.Name.StartsWith("layer4.", StringComparison.Ordinal)));
        foreach (var (pname, m) in packs)
        {
            var pack = (DeformConv2dPack)m;
            Assert.That(pack.Modulated && pack.KernelSize.SequenceEqual([3, 3]), $"{pname}: modulated 3x3");
            Assert.That(pack.ConvOffset.Weight.ToDoubleArray().All(v => v == 0) && pack.ConvOffset.Bias!.ToDoubleArray().All(v => v == 0),
                $"{pname}: the offset predictor starts at zero");
            Assert.That(pack.Weight.ToDoubleArray().Any(v => v != 0), $"{pname}: He-initialised weight");
        }
        var expected = plain.StateDict().Select(kv => kv.Key).ToList();
        var actual = model.StateDict().Select(kv => kv.Key).Where(k => !k.Contains(".conv_offset.", StringComparison.Ordinal)).ToList();
        Assert.That(actual, Is.EqualTo(expected), "the plain ResNet's keys, in order, plus conv_offset.*");
        Assert.That(model.ParameterCount() - plain.ParameterCount(), Is.EqualTo(packs.Sum(p => ((DeformConv2dPack)p.Module).ConvOffset.ParameterCount())));
    }

    [Test]
    public void TheShapeOnlyDeviceGivesTheCpuSummary()
    {
        using var model = ModelRegistry.Create("resnet18_dcn", new ModelOptions(10, 3, new Generator(0)));
        var cpu = ModelInspector.Inspect(model, [1, 3, 32, 32]);
        model.To(Device.Meta);
        var meta = ModelInspector.Inspect(model, [1, 3, 32, 32]);
        Assert.That(meta.Format(), Is.EqualTo(cpu.Format()));
        var deform = cpu.Layers.Where(l => l.Type == nameof(DeformConv2dPack)).ToList();
        Assert.That(deform, Has.Count.EqualTo(12), "a row per deformable conv: both 3x3 convs of the six blocks of layer2..layer4");
        Assert.That(deform.All(l => l.Macs > 0), "their GEMMs count as MACs");
    }
}
