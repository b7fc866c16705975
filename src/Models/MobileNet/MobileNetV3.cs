using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// MobileNet v3 Large and Small (Howard et al. 2019) as torchvision builds them: <c>features.0</c> a 3×3 stride-2 stem
/// (Hardswish), one <see cref="InvertedResidual"/> per row of the architecture table (<c>features.N.block.K</c>),
/// a 1×1 conv to 6× the last width (Hardswish), global average pooling (<c>avgpool</c>), and <c>classifier</c> =
/// Linear (0), Hardswish (1), Dropout (2), Linear (3). BatchNorm uses ε = 0.001 and momentum 0.01 (the TensorFlow
/// values); SE blocks squeeze to the multiple of 8 nearest a quarter of the expanded width and gate with a hard sigmoid.
/// </summary>
public sealed class MobileNetV3 : Module
{
    /// <summary>
    /// One row of Tables 1 and 2 of the paper: input width, depthwise kernel, expanded width, output width, whether it
    /// has SE, whether it uses Hardswish ("HS") rather than ReLU ("RE"), stride and dilation.
    /// </summary>
    public readonly record struct Row(int In, int Kernel, int Expanded, int Out, bool SE, bool HS, int Stride, int Dilation = 1);

    private const bool RE = false, HS = true;

    /// <summary>MobileNetV3-Large (Table 1); the head's hidden width is 1280.</summary>
    public static IReadOnlyList<Row> Large { get; } =
    [
        new(16, 3, 16, 16, false, RE, 1), new(16, 3, 64, 24, false, RE, 2), new(24, 3, 72, 24, false, RE, 1),
        new(24, 5, 72, 40, true, RE, 2), new(40, 5, 120, 40, true, RE, 1), new(40, 5, 120, 40, true, RE, 1),
        new(40, 3, 240, 80, false, HS, 2), new(80, 3, 200, 80, false, HS, 1), new(80, 3, 184, 80, false, HS, 1),
        new(80, 3, 184, 80, false, HS, 1), new(80, 3, 480, 112, true, HS, 1), new(112, 3, 672, 112, true, HS, 1),
        new(112, 5, 672, 160, true, HS, 2), new(160, 5, 960, 160, true, HS, 1), new(160, 5, 960, 160, true, HS, 1),
    ];

    /// <summary>MobileNetV3-Small (Table 2); the head's hidden width is 1024.</summary>
    public static IReadOnlyList<Row> Small { get; } =
    [
        new(16, 3, 16, 16, true, RE, 2), new(16, 3, 72, 24, false, RE, 2), new(24, 3, 88, 24, false, RE, 1),
        new(24, 5, 96, 40, true, HS, 2), new(40, 5, 240, 40, true, HS, 1), new(40, 5, 240, 40, true, HS, 1),
        new(40, 5, 120, 48, true, HS, 1), new(48, 5, 144, 48, true, HS, 1), new(48, 5, 288, 96, true, HS, 2),
        new(96, 5, 576, 96, true, HS, 1), new(96, 5, 576, 96, true, HS, 1),
    ];

    private const double BnEps = 0.001, BnMomentum = 0.01;

    /// <summary>Stem, inverted residual blocks and the last 1×1 conv.</summary>
    public Sequential Features { get; }

    /// <summary>Linear, Hardswish, Dropout, Linear.</summary>
    public Sequential Classifier { get; }

    /// <summary>Creates the network from <paramref name="rows"/> (<see cref="Large"/> or <see cref="Small"/>).</summary>
    /// <param name="rows">The architecture table.</param>
    /// <param name="lastChannel">The classifier's hidden width before the width multiplier (1280 Large, 1024 Small).</param>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="widthMult">Scales every width (to multiples of 8).</param>
    /// <param name="dropout">Dropout rate in the classifier.</param>
    /// <param name="generator">Draws the initial weights and dropout masks.</param>
    public MobileNetV3(IReadOnlyList<Row> rows, int lastChannel, int numClasses = 1000, int inChannels = 3, double widthMult = 1.0,
        double dropout = 0.2, Generator? generator = null)
    {
        int Adjust(int c) => Channels.MakeDivisible(c * widthMult);
        var features = new Sequential(ConvNormActivation.Create(inChannels, Adjust(rows[0].In), 3, 2, activation: Activation.Hardswish,
            bnEps: BnEps, bnMomentum: BnMomentum, generator: generator));
        foreach (var r in rows)
        {
            int expanded = Adjust(r.Expanded);
            features.Append(new InvertedResidual(Adjust(r.In), expanded, Adjust(r.Out), r.Kernel, r.Stride, r.HS ? Activation.Hardswish : Activation.ReLU,
                r.SE ? Channels.MakeDivisible(expanded / 4) : 0, Activation.ReLU, Activation.Hardsigmoid, BnEps, BnMomentum, r.Dilation, generator: generator));
        }
        int lastIn = Adjust(rows[^1].Out), lastOut = 6 * lastIn, hidden = Adjust(lastChannel);
        features.Append(ConvNormActivation.Create(lastIn, lastOut, 1, activation: Activation.Hardswish, bnEps: BnEps, bnMomentum: BnMomentum, generator: generator));
        Features = RegisterModule("features", features);
        RegisterModule("avgpool", new AdaptiveAvgPool2d(1, 1));
        Classifier = RegisterModule("classifier", new Sequential(new Linear(lastOut, hidden, generator: generator), new Hardswish(),
            new Dropout(dropout, generator), new Linear(hidden, numClasses, generator: generator)));
        ModelInit.KaimingFanOut(this, generator);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(Functional.AdaptiveAvgPool2d(Features.Call(input), 1, 1).Flatten(1));
}
