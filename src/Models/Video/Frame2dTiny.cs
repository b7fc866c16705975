using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// The single-frame baseline of <see cref="C3dTiny"/>: it takes clips [N, C, T, H, W] but looks only at the middle
/// frame T / 2 (the label frame of <see cref="Engine.Nn.Data.MovingFashionMnist"/>), through the same layout in 2-D:
/// three 3×3 convolutions (8, 16, 32 channels, batch norm, ReLU), max pooling 2×2 after the first two, a global
/// average pool and a linear classifier. What it cannot learn from one frame needs time. Names: features.K, classifier.
/// </summary>
public sealed class Frame2dTiny : Module
{
    /// <summary>The convolutional part: features.0, .4, .8 (convolutions) with their batch norms at .1, .5, .9.</summary>
    public Sequential Features { get; }

    /// <summary>The linear classifier.</summary>
    public Linear Classifier { get; }

    /// <summary>Creates the network for clips of <paramref name="inChannels"/> channels.</summary>
    public Frame2dTiny(int numClasses = 8, int inChannels = 1, Generator? generator = null)
    {
        Features = RegisterModule("features", new Sequential(
            new Conv2d(inChannels, 8, 3, padding: 1, bias: false, generator: generator), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 16, 3, padding: 1, bias: false, generator: generator), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
            new Conv2d(16, 32, 3, padding: 1, bias: false, generator: generator), new BatchNorm2d(32), new ReLU(), new AdaptiveAvgPool2d(1)));
        Classifier = RegisterModule("classifier", new Linear(32, numClasses, generator: generator));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 5) throw new ShapeException("frame2d_tiny", $"expected clips of shape (N, C, T, H, W), got {input.Describe()}");
        var frame = input.Select(2, input.Size(2) / 2);
        return Classifier.Call(Features.Call(frame).Flatten(1));
    }
}
