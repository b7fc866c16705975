using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>
/// Family facts of the video ResNets beyond the zoo checks: R(2+1)D's mid-planes per block from the paper's formula,
/// where each kind puts its temporal stride, the initialisation torchvision uses, zero-init residual, and clear errors
/// for image-shaped inputs and bad clip sizes.
/// </summary>
[TestFixture]
public sealed class VideoResNetTests
{
    [Test]
    public void MidPlanesFollowTheParameterMatchingFormula()
    {
        // ⌊27·in·out / (9·in + 3·out)⌋ for each stage's first and later blocks, computed here by hand.
        Assert.That(VideoConv.MidPlanes(64, 64), Is.EqualTo(144));
        Assert.That(VideoConv.MidPlanes(64, 128), Is.EqualTo(230));
        Assert.That(VideoConv.MidPlanes(128, 128), Is.EqualTo(288));
        Assert.That(VideoConv.MidPlanes(256, 512), Is.EqualTo(921));
        using var meta = Tensor.OnMetaDevice();
        using var model = ModelRegistry.Create("r2plus1d_18", new ModelOptions(400, 3));
        var shapes = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
        Assert.That(shapes["layer2.0.conv1.0.0.weight"], Is.EqualTo(new long[] { 230, 64, 1, 3, 3 }));
        Assert.That(shapes["layer2.0.conv2.0.0.weight"], Is.EqualTo(new long[] { 230, 128, 1, 3, 3 }), "the block's one mid-planes for both convs");
        Assert.That(shapes["layer2.0.conv2.0.3.weight"], Is.EqualTo(new long[] { 128, 230, 3, 1, 1 }));
    }

    [TestCase("r3d_18", new long[] { 2, 512, 1, 2, 2 })]
    [TestCase("mc3_18", new long[] { 2, 512, 8, 2, 2 })]
    [TestCase("r2plus1d_18", new long[] { 2, 512, 1, 2, 2 })]
    public void TemporalStridesSitWhereEachKindPutsThem(string name, long[] lastMap)
    {
        // 8 frames of 32×32: the stem halves space only; R3D and R(2+1)D halve time in layers 2–4, MC3 never does.
        using var meta = Tensor.OnMetaDevice();
        using var model = ModelRegistry.Create(name, new ModelOptions(10, 3));
        long[]? seen = null;
        using var hook = model.NamedModules().Single(m => m.Name == "layer4").Module.RegisterForwardHook((_, _, y) => seen = y.Shape);
        Assert.That(model.Call(Tensor.Randn([2, 3, 8, 32, 32], DType.Float32, new Generator(0))).Shape, Is.EqualTo(new long[] { 2, 10 }));
        Assert.That(seen, Is.EqualTo(lastMap));
    }

    [Test]
    public void InitialisedAsTorchvisionWithOptionalZeroInitResidual()
    {
        var g = TestUtil.Gen();
        using var model = ModelRegistry.Create("mc3_18", new ModelOptions(10, 3, g) { ZeroInitResidual = true });
        var p = model.StateDict();
        // He-normal, fan-out, ReLU gain: std √(2 / (out · kt·kh·kw)).
        var w = p["layer3.1.conv1.0.weight"].ToDoubleArray();
        double std = Math.Sqrt(w.Sum(v => v * v) / w.Length), expected = Math.Sqrt(2.0 / (256 * 9));
        Assert.That(std, Is.EqualTo(expected).Within(0.02 * expected));
        var fc = p["fc.weight"].ToDoubleArray();
        Assert.That(Math.Sqrt(fc.Sum(v => v * v) / fc.Length), Is.EqualTo(0.01).Within(0.001), "fc ~ N(0, 0.01²)");
        Assert.That(p["fc.bias"].ToDoubleArray(), Is.All.EqualTo(0));
        Assert.That(p["layer1.0.conv1.1.weight"].ToDoubleArray(), Is.All.EqualTo(1), "BN weight 1");
        Assert.That(p["layer1.0.conv2.1.weight"].ToDoubleArray(), Is.All.EqualTo(0), "zero-init residual: each block's last BN");
    }

    [Test]
    public void ImageInputsAndEmptyClipsAreRejectedByName()
    {
        using var meta = Tensor.OnMetaDevice();
        using var model = ModelRegistry.Create("r3d_18", new ModelOptions(10, 3));
        var ex = Assert.Throws<ShapeException>(() => model.Call(Tensor.Zeros(2, 3, 32, 32)));
        Assert.That(ex!.Message, Does.StartWith("video_resnet:").And.Contain("[2, 3, 32, 32]"));
        var info = ModelRegistry.Info("r3d_18");
        Assert.That(info.InputShape(32, 4), Is.EqualTo(new long[] { 3, 4, 32, 32 }));
        Assert.That(Assert.Throws<ArgumentValueException>(() => info.InputShape(32, 0))!.Message, Does.Contain("r3d_18"));
        Assert.That(ModelRegistry.Info("resnet18").InputShape(32, 4), Is.EqualTo(new long[] { 3, 32, 32 }), "an image model ignores the clip length");
    }
}
