using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// VGG (Simonyan &amp; Zisserman 2014) as torchvision builds it: <c>features</c> from one of the paper's
/// configurations (3×3 convolutions with padding 1 and ReLU, optionally BatchNorm between them, 2×2 max pools),
/// <c>avgpool</c> (adaptive 7×7), <c>classifier</c> (fc 4096, ReLU, dropout, fc 4096, ReLU, dropout, fc classes).
/// Parameter names are torchvision's: <c>features.i</c> counts conv, [BN,] ReLU and pool layers in order, and the
/// linear layers are <c>classifier.{0,3,6}</c>. Initialised as torchvision: convolutions He-normal (fan-out, ReLU),
/// BatchNorm 1/0, linear N(0, 0.01²), biases 0.
/// </summary>
public sealed class Vgg : Module
{
    /// <summary>The pool marker in <see cref="Configs"/> (any other entry is a 3×3 convolution's output channels).</summary>
    public const int M = 0;

    /// <summary>The paper's configurations A, B, D, E (Table 1; torchvision's <c>cfgs</c>), giving VGG 11, 13, 16, 19.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<int>> Configs { get; } = new Dictionary<string, IReadOnlyList<int>>
    {
        ["A"] = [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
        ["B"] = [64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
        ["D"] = [64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M],
        ["E"] = [64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M],
    };

    /// <summary>The registered depths (weight layers: the configuration's convolutions plus three linear layers).</summary>
    private static readonly (int Depth, string Config)[] s_variants = [(11, "A"), (13, "B"), (16, "D"), (19, "E")];

    /// <summary>The convolutional part.</summary>
    public Sequential Features { get; }

    /// <summary>Adaptive average pooling to 7×7 (replicates the 1×1 map of a 32×32 input).</summary>
    public AdaptiveAvgPool2d AvgPool { get; }

    /// <summary>The fully connected part.</summary>
    public Sequential Classifier { get; }

    /// <summary>Creates VGG from configuration <paramref name="config"/> (entries: channels, or <see cref="M"/> for a pool).</summary>
    public Vgg(IReadOnlyList<int> config, bool batchNorm, int numClasses = 1000, int inChannels = 3, double dropout = 0.5, Generator? generator = null)
    {
        var features = new List<Module>();
        long channels = inChannels;
        foreach (int v in config)
        {
            if (v == M) { features.Add(new MaxPool2d(2, 2)); continue; }
            features.Add(new Conv2d(channels, v, 3, padding: 1, generator: generator));
            if (batchNorm) features.Add(new BatchNorm2d(v));
            features.Add(new ReLU());
            channels = v;
        }
        Features = RegisterModule("features", new Sequential(features.ToArray()));
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(7));
        Classifier = RegisterModule("classifier", new Sequential(
            new Linear(channels * 7 * 7, 4096, generator: generator),
            new ReLU(),
            new Dropout(dropout, generator),
            new Linear(4096, 4096, generator: generator),
            new ReLU(),
            new Dropout(dropout, generator),
            new Linear(4096, numClasses, generator: generator)));
        ModelInit.KaimingFanOut(this, generator, linearStd: 0.01);
    }

    /// <summary>vgg11 … vgg19 and their <c>_bn</c> twins, from <see cref="Configs"/>.</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
        from v in s_variants
        from bn in new[] { false, true }
        select new ModelInfo($"vgg{v.Depth}{(bn ? "_bn" : "")}", ModelFamily.Vgg, 224, 32,
            $"Simonyan & Zisserman 2014, Very deep convolutional networks for large-scale image recognition (configuration {v.Config}" +
            (bn ? ", with BatchNorm after every convolution as torchvision)" : ")"),
            o => new Vgg(Configs[v.Config], bn, o.NumClasses, o.InChannels, o.Dropout ?? 0.5, o.Generator));

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(AvgPool.Call(Features.Call(input)).Flatten(1));
}
