using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// DenseNet-BC (Huang et al. 2016) in torchvision's layout: <c>features</c> = conv0 (7×7/2), norm0, relu0, pool0
/// (3×3/2 max), then denseblock1, transition1, …, denseblock4 and norm5; <c>classifier</c> is the linear head after
/// ReLU and global average pooling. A transition (norm, relu, conv 1×1, pool 2×2/2 average) halves channels and size.
/// The variants differ only by their row in <see cref="Variants"/>: growth rate, layers per block, stem width.
/// </summary>
public sealed class DenseNet : Module
{
    /// <summary>Stem, dense blocks, transitions and the final BatchNorm.</summary>
    public Sequential Features { get; }

    /// <summary>The linear classifier.</summary>
    public Linear Classifier { get; }

    /// <summary>
    /// Builds a DenseNet-BC: <paramref name="growthRate"/> channels per dense layer, <paramref name="blockConfig"/> layers
    /// per block, <paramref name="numInitFeatures"/> stem channels, bottleneck width bnSize·growth, dropout
    /// <paramref name="dropRate"/> after each dense layer. Initialised as torchvision: convolutions He-normal (fan-in),
    /// BatchNorm 1 and 0, classifier bias 0 (its weight keeps PyTorch's default).
    /// </summary>
    public DenseNet(int growthRate, int[] blockConfig, int numInitFeatures, int bnSize = 4, double dropRate = 0, int numClasses = 1000,
        int inChannels = 3, Generator? generator = null)
    {
        var features = new List<(string, Module)>
        {
            ("conv0", new Conv2d(inChannels, numInitFeatures, 7, stride: 2, padding: 3, bias: false, generator: generator)),
            ("norm0", new BatchNorm2d(numInitFeatures)),
            ("relu0", new ReLU()),
            ("pool0", new MaxPool2d(3, stride: 2, padding: 1)),
        };
        long channels = numInitFeatures;
        for (int i = 0; i < blockConfig.Length; i++)
        {
            features.Add(($"denseblock{i + 1}", new DenseBlock(blockConfig[i], channels, bnSize, growthRate, dropRate, generator)));
            channels += (long)blockConfig[i] * growthRate;
            if (i == blockConfig.Length - 1) break;
            features.Add(($"transition{i + 1}", new Sequential(
                ("norm", new BatchNorm2d(channels)),
                ("relu", new ReLU()),
                ("conv", new Conv2d(channels, channels / 2, 1, bias: false, generator: generator)),
                ("pool", new AvgPool2d(2, stride: 2)))));
            channels /= 2;
        }
        features.Add(("norm5", new BatchNorm2d(channels)));
        Features = RegisterModule("features", new Sequential([.. features]));
        Classifier = RegisterModule("classifier", new Linear(channels, numClasses, generator: generator));

        foreach (var (_, m) in NamedModules())
        {
            switch (m)
            {
                case Conv2d c: Init.KaimingNormal(c.Weight, generator: generator); break;
                case BatchNormBase bn: Init.Ones(bn.Weight!); Init.Zeros(bn.Bias!); break;
                case Linear l: Init.Zeros(l.Bias!); break;
            }
        }
    }

    /// <summary>torchvision's DenseNet table: (name, growth rate, layers per block, stem channels).</summary>
    private static readonly (string Name, int Growth, int[] Blocks, int Init)[] s_variants =
    [
        ("densenet121", 32, [6, 12, 24, 16], 64),
        ("densenet161", 48, [6, 12, 36, 24], 96),
        ("densenet169", 32, [6, 12, 32, 32], 64),
        ("densenet201", 32, [6, 12, 48, 32], 64),
    ];

    /// <summary>The registered variants. <see cref="ModelOptions.Dropout"/> sets the rate after each dense layer (default 0, as torchvision).</summary>
    internal static IEnumerable<ModelInfo> Variants() => s_variants.Select(v => new ModelInfo(v.Name, ModelFamily.DenseNet, 224, 29,
        $"Huang et al. 2016, Densely Connected Convolutional Networks (DenseNet-BC, growth rate {v.Growth}, blocks {string.Join("-", v.Blocks)})",
        o => new DenseNet(v.Growth, v.Blocks, v.Init, dropRate: o.Dropout ?? 0, numClasses: o.NumClasses, inChannels: o.InChannels, generator: o.Generator)));

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = Features.Call(input).Relu();
        return Classifier.Call(Functional.AdaptiveAvgPool2d(x, 1, 1).Flatten(1));
    }
}
