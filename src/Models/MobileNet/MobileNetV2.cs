using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// MobileNet v2 (Sandler et al. 2018) as torchvision builds it: <c>features.0</c> a 3×3 stride-2 stem
/// (<see cref="ConvNormActivation"/>, ReLU6), <c>features.1</c>–<c>features.17</c> the <see cref="LinearBottleneck"/>
/// blocks of the (t, c, n, s) table, <c>features.18</c> a 1×1 conv to 1280 channels, global average pooling, and
/// <c>classifier</c> = Dropout (0) + Linear (1). A width multiplier scales every width (rounded to multiples of 8;
/// the last width never shrinks below 1280).
/// </summary>
public sealed class MobileNetV2 : Module
{
    // Sandler et al. 2018, Table 2: expansion t, output channels c, repeats n, stride s of the first repeat.
    private static readonly (int T, int C, int N, int S)[] s_rows =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    /// <summary>Stem, bottleneck blocks and the last 1×1 conv.</summary>
    public Sequential Features { get; }

    /// <summary>Dropout and the linear classifier.</summary>
    public Sequential Classifier { get; }

    /// <summary>Creates the network.</summary>
    public MobileNetV2(int numClasses = 1000, int inChannels = 3, double widthMult = 1.0, double dropout = 0.2, Generator? generator = null)
    {
        int input = Channels.MakeDivisible(32 * widthMult);
        int last = Channels.MakeDivisible(1280 * Math.Max(1.0, widthMult));
        var features = new Sequential(ConvNormActivation.Create(inChannels, input, 3, 2, activation: Activation.ReLU6, generator: generator));
        foreach (var (t, c, n, s) in s_rows)
        {
            int output = Channels.MakeDivisible(c * widthMult);
            for (int i = 0; i < n; i++, input = output)
                features.Append(new LinearBottleneck(input, output, i == 0 ? s : 1, t, generator));
        }
        features.Append(ConvNormActivation.Create(input, last, 1, activation: Activation.ReLU6, generator: generator));
        Features = RegisterModule("features", features);
        Classifier = RegisterModule("classifier", new Sequential(new Dropout(dropout, generator), new Linear(last, numClasses, generator: generator)));
        ModelInit.KaimingFanOut(this, generator);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(Functional.AdaptiveAvgPool2d(Features.Call(input), 1, 1).Flatten(1));
}
