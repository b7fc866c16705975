using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// AlexNet (Krizhevsky, Sutskever &amp; Hinton 2012) in torchvision's layout: <c>features</c> (five convolutions with
/// ReLU, three 3×3/2 max pools), <c>avgpool</c> (adaptive 6×6), <c>classifier</c> (dropout, fc 4096, ReLU, dropout,
/// fc 4096, ReLU, fc classes). Weights initialise with PyTorch's layer defaults, as torchvision's does.
/// <para>
/// <c>alexnet</c> is torchvision's single-tower "one weird trick" variant (64/192/384/256/256 channels, no response
/// normalisation); its parameters are <c>features.{0,3,6,8,10}.{weight,bias}</c> and <c>classifier.{1,4,6}.{weight,bias}</c>.
/// </para>
/// <para>
/// <c>alexnet_lrn</c> is the 2012 paper's network on the same channels: local response normalisation (size 5,
/// α 1e-4, β 0.75, k 2) after the ReLU of conv1 and conv2, before their max pools. LRN has no parameters, so the
/// parameter shapes equal <c>alexnet</c>'s, but the two extra layers shift the <c>features</c> indices:
/// features.0 conv1, .1 ReLU, .2 LRN, .3 pool, .4 conv2, .5 ReLU, .6 LRN, .7 pool, .8 conv3, .10 conv4, .12 conv5,
/// .14 pool; i.e. parameters <c>features.{0,4,8,10,12}.{weight,bias}</c> and <c>classifier.{1,4,6}.{weight,bias}</c>
/// (the PyTorch twin is <c>tests/Engine.Tests/Models/Reference/ref_alexnet.py</c>).
/// </para>
/// </summary>
public sealed class AlexNet : Module
{
    /// <summary>One convolution of <c>features</c>, followed by ReLU, then (paper variant) LRN, then optionally a max pool.</summary>
    private readonly record struct ConvRow(int Out, int Kernel, int Stride, int Padding, bool Lrn = false, bool Pool = false);

    /// <summary>The five convolutions; Lrn marks where the 2012 paper normalises responses.</summary>
    private static readonly ConvRow[] s_features =
    [
        new(64, 11, 4, 2, Lrn: true, Pool: true),
        new(192, 5, 1, 2, Lrn: true, Pool: true),
        new(384, 3, 1, 1),
        new(256, 3, 1, 1),
        new(256, 3, 1, 1, Pool: true),
    ];

    /// <summary>The convolutional part.</summary>
    public Sequential Features { get; }

    /// <summary>Adaptive average pooling to 6×6, so any input of at least 63×63 reaches the classifier.</summary>
    public AdaptiveAvgPool2d AvgPool { get; }

    /// <summary>The fully connected part: classifier.1, .4, .6 are the linear layers.</summary>
    public Sequential Classifier { get; }

    /// <summary>Creates AlexNet; <paramref name="localResponseNorm"/> selects the 2012 paper's variant.</summary>
    public AlexNet(int numClasses = 1000, int inChannels = 3, double dropout = 0.5, bool localResponseNorm = false, Generator? generator = null)
    {
        var features = new List<Module>();
        long channels = inChannels;
        foreach (var row in s_features)
        {
            features.Add(new Conv2d(channels, row.Out, row.Kernel, row.Stride, row.Padding, generator: generator));
            features.Add(new ReLU());
            if (localResponseNorm && row.Lrn) features.Add(new LocalResponseNorm(5, alpha: 1e-4, beta: 0.75, k: 2));
            if (row.Pool) features.Add(new MaxPool2d(3, 2));
            channels = row.Out;
        }
        Features = RegisterModule("features", new Sequential(features.ToArray()));
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(6));
        Classifier = RegisterModule("classifier", new Sequential(
            new Dropout(dropout, generator),
            new Linear(channels * 6 * 6, 4096, generator: generator),
            new ReLU(),
            new Dropout(dropout, generator),
            new Linear(4096, 4096, generator: generator),
            new ReLU(),
            new Linear(4096, numClasses, generator: generator)));
    }

    /// <summary>The registered variants: torchvision's and the paper's.</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
    [
        new("alexnet", ModelFamily.AlexNet, 224, 63,
            "Krizhevsky 2014, One weird trick for parallelizing convolutional neural networks (torchvision's single-tower AlexNet, 64/192/384/256/256 channels)",
            o => new AlexNet(o.NumClasses, o.InChannels, o.Dropout ?? 0.5, localResponseNorm: false, o.Generator)),
        new("alexnet_lrn", ModelFamily.AlexNet, 224, 63,
            "Krizhevsky, Sutskever & Hinton 2012, ImageNet classification with deep convolutional neural networks (local response normalisation after conv1 and conv2)",
            o => new AlexNet(o.NumClasses, o.InChannels, o.Dropout ?? 0.5, localResponseNorm: true, o.Generator)),
    ];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(AvgPool.Call(Features.Call(input)).Flatten(1));
}
