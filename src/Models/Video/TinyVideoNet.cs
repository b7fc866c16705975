using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// The small video classifiers of the Moving Fashion-MNIST experiment (docs/video.md), both taking clips
/// [N, C, T, H, W]. <c>c3d_tiny</c> (<see cref="TinyVideoNetKind.Conv3d"/>) is a 3-D CNN in the manner of C3D (Tran et
/// al. 2015) but three stages deep: 3×3×3 convolutions of 8, 16 and 32 channels, each with batch norm and ReLU, max
/// pooling 1×2×2 after the first (space only, as C3D's pool1, so the early layers keep every frame) and 2×2×2 after the
/// second, a global average pool and a linear classifier. <c>frame2d_tiny</c> (<see cref="TinyVideoNetKind.MiddleFrame2d"/>)
/// is its single-frame twin: the same layers in 2-D (3×3 convolutions, 2×2 pools) applied to the middle frame T / 2
/// only, the label frame of <see cref="Engine.Nn.Data.MovingFashionMnist"/>; what it cannot learn needs time.
/// Names: features.0/.4/.8 (convolutions), features.1/.5/.9 (batch norms), classifier.
/// </summary>
public sealed class TinyVideoNet : Module
{
    /// <summary>Which network this is.</summary>
    public TinyVideoNetKind Kind { get; }

    /// <summary>The convolutional part.</summary>
    public Sequential Features { get; }

    /// <summary>The linear classifier.</summary>
    public Linear Classifier { get; }

    /// <summary>Creates the network for clips of <paramref name="inChannels"/> channels.</summary>
    public TinyVideoNet(TinyVideoNetKind kind, int numClasses = 8, int inChannels = 1, Generator? generator = null)
    {
        Kind = kind;
        bool video = kind == TinyVideoNetKind.Conv3d;
        Module Conv(long i, long o) => video ? new Conv3d(i, o, 3, padding: 1, bias: false, generator: generator) : new Conv2d(i, o, 3, padding: 1, bias: false, generator: generator);
        Module Norm(long c) => video ? new BatchNorm3d(c) : new BatchNorm2d(c);
        Features = RegisterModule("features", new Sequential(
            Conv(inChannels, 8), Norm(8), new ReLU(), video ? new MaxPool3d([1, 2, 2]) : new MaxPool2d(2),
            Conv(8, 16), Norm(16), new ReLU(), video ? new MaxPool3d(2) : new MaxPool2d(2),
            Conv(16, 32), Norm(32), new ReLU(), video ? new AdaptiveAvgPool3d(1) : new AdaptiveAvgPool2d(1)));
        Classifier = RegisterModule("classifier", new Linear(32, numClasses, generator: generator));
    }

    /// <summary>The registered variants: grey clips of 8 frames of 32×32, 8 classes (the motion directions).</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
    [
        new("c3d_tiny", ModelFamily.Video, 32, 8, "A small C3D-style 3-D CNN (Tran et al. 2015, Learning spatiotemporal features with 3D convolutional networks): 3 Conv3d-BN-ReLU stages",
            o => new TinyVideoNet(TinyVideoNetKind.Conv3d, o.NumClasses, o.InChannels, o.Generator), DefaultChannels: 1, DefaultClasses: 8) { Frames = 8 },
        new("frame2d_tiny", ModelFamily.Video, 32, 8, "Single-frame baseline of c3d_tiny: the same 3 stages in 2-D on the middle frame only",
            o => new TinyVideoNet(TinyVideoNetKind.MiddleFrame2d, o.NumClasses, o.InChannels, o.Generator), DefaultChannels: 1, DefaultClasses: 8) { Frames = 8 },
    ];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        string op = Kind == TinyVideoNetKind.Conv3d ? "c3d_tiny" : "frame2d_tiny";
        if (input.Rank != 5) throw new ShapeException(op, $"expected clips of shape (N, C, T, H, W), got {input.Describe()}");
        var x = Kind == TinyVideoNetKind.Conv3d ? input : input.Select(2, input.Size(2) / 2);
        return Classifier.Call(Features.Call(x).Flatten(1));
    }
}
