using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// SqueezeNet 1.0 and 1.1 (Iandola et al. 2016) as torchvision builds them: <c>features</c> (stem convolution, ReLU,
/// then <see cref="Fire"/> modules and 3×3/2 max pools with ceil mode), <c>classifier</c> (dropout, 1×1 convolution to
/// the classes, ReLU, global average pool). Parameter names are torchvision's (<c>features.3.squeeze.weight</c>,
/// <c>classifier.1.weight</c>, ...). Initialised as torchvision: the final convolution N(0, 0.01²), every other
/// convolution He-uniform (fan-in, gain √2), biases 0.
/// </summary>
public sealed class SqueezeNet : Module
{
    /// <summary>The pool marker in a version's layout (any other entry is a Fire module's squeeze width).</summary>
    private const int M = 0;

    /// <summary>
    /// One version: the stem convolution (channels, kernel; stride 2, no padding) and what follows its ReLU. In both
    /// published versions each expand branch of a Fire module has four times its squeeze width.
    /// </summary>
    private sealed record Version(string Name, int MinSize, int StemChannels, int StemKernel, int[] Layout, string Paper);

    private static readonly Version[] s_versions =
    [
        new("squeezenet1_0", 21, 96, 7, [M, 16, 16, 32, M, 32, 48, 48, 64, M, 64],
            "Iandola et al. 2016, SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size"),
        new("squeezenet1_1", 17, 64, 3, [M, 16, 16, M, 32, 32, M, 48, 48, 64, 64],
            "Iandola et al. 2016, SqueezeNet v1.1 (official repository: 3x3 stem with 64 channels, pools moved earlier; 2.4x less computation than 1.0)"),
    ];

    /// <summary>The convolutional part.</summary>
    public Sequential Features { get; }

    /// <summary>The head: classifier.1 is the final 1×1 convolution.</summary>
    public Sequential Classifier { get; }

    private SqueezeNet(Version version, int numClasses, int inChannels, double dropout, Generator? generator)
    {
        var features = new List<Module>
        {
            new Conv2d(inChannels, version.StemChannels, version.StemKernel, stride: 2, generator: generator),
            new ReLU(),
        };
        long channels = version.StemChannels;
        foreach (int squeeze in version.Layout)
        {
            if (squeeze == M) { features.Add(new MaxPool2d(3, 2, ceilMode: true)); continue; }
            var fire = new Fire(channels, squeeze, 4 * squeeze, 4 * squeeze, generator);
            features.Add(fire);
            channels = fire.OutChannels;
        }
        Features = RegisterModule("features", new Sequential(features.ToArray()));
        var finalConv = new Conv2d(channels, numClasses, 1, generator: generator);
        Classifier = RegisterModule("classifier", new Sequential(new Dropout(dropout, generator), finalConv, new ReLU(), new AdaptiveAvgPool2d(1)));

        foreach (var (_, m) in NamedModules())
        {
            if (m is not Conv2d c) continue;
            if (ReferenceEquals(c, finalConv)) Init.Normal(c.Weight, 0, 0.01, generator);
            else Init.KaimingUniform(c.Weight, generator: generator);
            if (c.Bias is { } b) Init.Zeros(b);
        }
    }

    /// <summary>squeezenet1_0 and squeezenet1_1.</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
        s_versions.Select(v => new ModelInfo(v.Name, ModelFamily.SqueezeNet, 224, v.MinSize, v.Paper,
            o => new SqueezeNet(v, o.NumClasses, o.InChannels, o.Dropout ?? 0.5, o.Generator)));

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(Features.Call(input)).Flatten(1);
}
