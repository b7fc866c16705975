using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// MobileNet v1 (Howard et al. 2017, Table 1). torchvision has no twin, so the names follow its style (the PyTorch
/// definition in tests' <c>ref_mobilenet.py</c> uses the same): <c>features.0</c> the 3×3 stride-2 stem to 32
/// channels (<see cref="ConvNormActivation"/>: <c>features.0.0.weight</c>, <c>features.0.1.*</c>), <c>features.1</c>–
/// <c>features.13</c> the <see cref="DepthwiseSeparable"/> blocks (<c>features.N.dw.0.weight</c>, <c>features.N.dw.1.*</c>,
/// <c>features.N.pw.0.weight</c>, <c>features.N.pw.1.*</c>), global average pooling, and <c>classifier</c> = Dropout (0)
/// + Linear (1). Activations are ReLU as in the paper (some implementations use ReLU6). The paper has no dropout
/// rate; the default 0.2 is torchvision's for MobileNet v2/v3. The width multiplier α scales every width, rounded to
/// multiples of 8 as MobileNet v2 does (α = 1 gives the paper's widths). Initialised like torchvision's MobileNets.
/// </summary>
public sealed class MobileNetV1 : Module
{
    // Table 1: output width and stride of each depthwise separable block. The paper lists the 13th block with stride 2,
    // but its output stays 7×7; the reference implementations use stride 1, as here.
    private static readonly (int Out, int Stride)[] s_blocks =
        [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)];

    /// <summary>Stem and depthwise separable blocks.</summary>
    public Sequential Features { get; }

    /// <summary>Dropout and the linear classifier.</summary>
    public Sequential Classifier { get; }

    /// <summary>Creates the network.</summary>
    public MobileNetV1(int numClasses = 1000, int inChannels = 3, double widthMult = 1.0, double dropout = 0.2, Generator? generator = null)
    {
        int input = Channels.MakeDivisible(32 * widthMult);
        var features = new Sequential(ConvNormActivation.Create(inChannels, input, 3, 2, generator: generator));
        foreach (var (c, s) in s_blocks)
        {
            int output = Channels.MakeDivisible(c * widthMult);
            features.Append(new DepthwiseSeparable(input, output, s, generator));
            input = output;
        }
        Features = RegisterModule("features", features);
        Classifier = RegisterModule("classifier", new Sequential(new Dropout(dropout, generator), new Linear(input, numClasses, generator: generator)));
        ModelInit.KaimingFanOut(this, generator);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(Functional.AdaptiveAvgPool2d(Features.Call(input), 1, 1).Flatten(1));
}
