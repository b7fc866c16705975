using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>
/// Family facts of the ResNets beyond the zoo checks: zero-init residual makes every block relu(shortcut), the tables
/// give the published depths, widths and parameter counts, the stride sits where v1.5 puts it, and SE adds its gate
/// after each bottleneck's other children.
/// </summary>
[TestFixture]
public sealed class ResNetTests
{
    private static ResNet Create(string name, ModelOptions options) => (ResNet)ModelRegistry.Create(name, options);

    /// <summary>Weighted layers on the main path (convs outside the shortcuts, and fc): the depth in the model's name.</summary>
    private static int Depth(ResNet model) =>
        model.NamedModules().Count(m => (m.Module is Conv2d && !m.Name.Contains("downsample", StringComparison.Ordinal) && !m.Name.Contains(".se.", StringComparison.Ordinal))
            || m.Module is Linear);

    /// <summary>A small SE-bottleneck net (CIFAR stem, one block per stage), to cover Bottleneck and SE cheaply.</summary>
    private static readonly ResNetSpec s_tinySeBottleneck = new(ResidualBlockKind.Bottleneck, [1, 1, 1], CifarStem: true, SqueezeExcitation: true);

    [TestCase("resnet20", true)]
    [TestCase("resnet20", false)]
    [TestCase("tiny SE bottleneck", true)]
    [TestCase("tiny SE bottleneck", false)]
    public void ZeroInitResidualMakesEveryBlockReluOfItsShortcut(string name, bool zeroInit)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var options = new ModelOptions(10, 3, g) { ZeroInitResidual = zeroInit };
        using var model = name == "resnet20" ? Create(name, options) : new ResNet(s_tinySeBottleneck, options);
        model.Eval();
        int blocks = 0, identities = 0;
        var hooks = model.Blocks.Select(b => b.RegisterForwardHook((m, input, output) =>
        {
            var block = (ResidualBlock)m;
            blocks++;
            if (block.LastNorm.Weight!.ToDoubleArray().Any(w => w != 0)) return;
            var branch = block.Branch(input).ToDoubleArray();
            Assert.That(branch.All(v => v == 0), $"{name}: a zero-initialised block's branch is not zero");
            TestUtil.AssertClose(output, (block.Downsample?.Call(input) ?? input).Relu(), atol: 0, rtol: 0);
            identities++;
        })).ToList();
        using (Tensor.NoGrad()) model.Call(Tensor.Randn([2, 3, 32, 32], DType.Float32, g));
        foreach (var h in hooks) h.Dispose();
        Assert.That(blocks, Is.EqualTo(model.Spec.Layers.Sum()));
        Assert.That(identities, Is.EqualTo(zeroInit ? blocks : 0), "blocks starting as relu(shortcut)");
    }

    [TestCase("resnet20", 3, 0.27)]
    [TestCase("resnet32", 5, 0.46)]
    [TestCase("resnet44", 7, 0.66)]
    [TestCase("resnet56", 9, 0.85)]
    [TestCase("resnet110", 18, 1.7)]
    public void CifarDepthTableGivesThePapersSizes(string name, int n, double paperMillions)
    {
        // He et al. 2015, table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M parameters (10 classes, option A shortcuts).
        using var model = Create(name, new ModelOptions(10, 3, new Generator(0)));
        Assert.That(model.Spec.Layers, Is.EqualTo(new[] { n, n, n }));
        Assert.That(Depth(model), Is.EqualTo(6 * n + 2), "6n + 2 weighted layers");
        long shortcuts = model.NamedParameters().Where(p => p.Name.Contains("downsample", StringComparison.Ordinal)).Sum(p => p.Parameter.NumEl);
        Assert.That(shortcuts, Is.EqualTo(16 * 32 + 2 * 32 + 32 * 64 + 2 * 64), "option B's two projections (1x1 conv + BN)");
        int digits = paperMillions < 1 ? 2 : 1;
        Assert.That(Math.Round((model.ParameterCount() - shortcuts) / 1e6, digits), Is.EqualTo(paperMillions), "option A (no shortcut parameters)");
        double unit = Math.Pow(10, -digits);
        Assert.That(Math.Round(model.ParameterCount() / 1e6, digits), Is.EqualTo(paperMillions).Within(unit * 1.001), "with the projections (resnet32: 0.467M)");
    }

    [Test]
    public void CifarStagesHalveTheMapAndDoubleTheChannels()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var model = Create("resnet20", new ModelOptions(10, 3, g));
        var shapes = new List<long[]>();
        var hooks = model.NamedChildren().Where(c => c.Name.StartsWith("layer", StringComparison.Ordinal))
            .Select(c => c.Module.RegisterForwardHook((_, _, o) => shapes.Add(o.Shape.ToArray()))).ToList();
        var logits = model.Call(Tensor.Randn([2, 3, 32, 32], DType.Float32, g));
        foreach (var h in hooks) h.Dispose();
        Assert.That(shapes, Is.EqualTo(new[] { new long[] { 2, 16, 32, 32 }, [2, 32, 16, 16], [2, 64, 8, 8] }));
        Assert.That(logits.Shape, Is.EqualTo(new long[] { 2, 10 }));
    }

    [TestCase("resnet18", 18)]
    [TestCase("resnet50", 50)]
    public void ImageNetDepthIsTheWeightedLayerCount(string name, int depth)
    {
        using var model = Create(name, new ModelOptions(10, 3, new Generator(0)));
        Assert.That(Depth(model), Is.EqualTo(depth));
        Assert.That(model.Spec, Is.SameAs(ResNet.ImageNet[name]));
    }

    [TestCase("resnet34", 34)]
    [TestCase("resnet101", 101)]
    [TestCase("resnet152", 152)]
    public void ImageNetTableRowsGiveTheirDepth(string name, int depth)
    {
        // Convs per block (2 basic, 3 bottleneck) times blocks, plus the stem conv and fc (the builds above count them).
        var spec = ResNet.ImageNet[name];
        int convsPerBlock = spec.Block == ResidualBlockKind.Basic ? 2 : 3;
        Assert.That(convsPerBlock * spec.Layers.Sum() + 2, Is.EqualTo(depth));
    }

    [TestCase("resnet50", 64, 1)]
    [TestCase("resnext50_32x4d", 128, 32)]
    [TestCase("resnext101_32x8d", 256, 32)]
    [TestCase("wide_resnet50_2", 128, 1)]
    public void BottleneckWidthIsPlanesTimesWidthPerGroupOver64TimesGroups(string name, int width, int groups)
    {
        var spec = ResNet.ImageNet[name];
        Assert.That(spec.Groups, Is.EqualTo(groups));
        // layer1's first block: planes 64, in 64; conv2 is width x width/groups x 3 x 3, conv3 widens to 4 planes.
        using var block = new Bottleneck(64, 64, 1, spec.Groups, spec.WidthPerGroup);
        var sd = block.StateDict();
        Assert.That(sd["conv1.weight"].Shape, Is.EqualTo(new long[] { width, 64, 1, 1 }));
        Assert.That(sd["conv2.weight"].Shape, Is.EqualTo(new long[] { width, width / groups, 3, 3 }));
        Assert.That(sd["conv3.weight"].Shape, Is.EqualTo(new long[] { 256, width, 1, 1 }));
        Assert.That(sd["downsample.0.weight"].Shape, Is.EqualTo(new long[] { 256, 64, 1, 1 }), "64 -> 256 channels needs a projection");
    }

    [Test]
    public void BottleneckStridesOnThe3x3ConvAsV15()
    {
        using var block = new Bottleneck(256, 128, stride: 2);
        var strides = block.NamedModules().Where(m => m.Module is Conv2d).ToDictionary(m => m.Name, m => ((Conv2d)m.Module).Stride[0]);
        Assert.That(strides, Is.EqualTo(new Dictionary<string, int> { ["conv1"] = 1, ["conv2"] = 2, ["conv3"] = 1, ["downsample.0"] = 2 }));
        using var x = Tensor.Randn([1, 256, 8, 8], DType.Float32, TestUtil.Gen());
        Assert.That(block.Call(x).Shape, Is.EqualTo(new long[] { 1, 512, 4, 4 }));
    }

    [Test]
    public void InputChannelsAndClassesComeFromTheOptions()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var model = Create("resnet18", new ModelOptions(7, 1, g));
        Assert.That(model.StateDict()["conv1.weight"].Shape, Is.EqualTo(new long[] { 64, 1, 7, 7 }));
        Assert.That(model.Call(Tensor.Randn([2, 1, 32, 32], DType.Float32, g)).Shape, Is.EqualTo(new long[] { 2, 7 }));
    }

    [Test]
    public void SeResNetIsResNetPlusOneGatePerBottleneckAfterItsShortcut()
    {
        using var se = Create("se_resnet50", new ModelOptions(1000, 3, new Generator(0)));
        var seKeys = se.StateDict().Keys.ToList();
        var resnet50 = TorchReference.TorchvisionKeys("resnet50")!.Select(k => k.Key);
        Assert.That(seKeys.Where(k => !k.Contains(".se.", StringComparison.Ordinal)), Is.EqualTo(resnet50), "torchvision's ResNet-50 keys, in order");
        // Each gate on C = 4·planes channels: fc1 C -> C/16 and fc2 back, both with bias.
        long gates = se.Blocks.Sum(b => { long c = b.LastNorm.NumFeatures, s = c / 16; return c * s + s + s * c + c; });
        Assert.That(se.ParameterCount() - gates, Is.EqualTo(TorchReference.TorchvisionParamCount("resnet50")));
        Assert.That(Math.Round(se.ParameterCount() / 1e6, 1), Is.EqualTo(28.1), "SE-ResNet-50 (Hu et al. 2017, table 2: 28.1M)");
        int i = seKeys.IndexOf("layer1.0.se.fc1.weight");
        Assert.That(seKeys[i - 1], Is.EqualTo("layer1.0.downsample.1.num_batches_tracked"), "se follows downsample");
        Assert.That(seKeys[i + 4], Is.EqualTo("layer1.1.conv1.weight"));
    }
}
