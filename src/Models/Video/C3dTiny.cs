using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// A small 3-D CNN for short clips [N, C, T, H, W], in the manner of C3D (Tran et al. 2015) but three stages deep:
/// three 3×3×3 convolutions (8, 16, 32 channels, each with batch norm and ReLU), max pooling 1×2×2 after the first
/// (space only, as C3D's pool1, so early layers keep every frame) and 2×2×2 after the second, a global average pool
/// and a linear classifier. Its 3×3×3 kernels compare neighbouring frames, which is what motion needs; the
/// single-frame twin <see cref="Frame2dTiny"/> has the same layout in 2-D. Names: features.K, classifier.
/// </summary>
public sealed class C3dTiny : Module
{
    /// <summary>The convolutional part: features.0, .4, .8 (convolutions) with their batch norms at .1, .5, .9.</summary>
    public Sequential Features { get; }

    /// <summary>The linear classifier.</summary>
    public Linear Classifier { get; }

    /// <summary>Creates the network for clips of <paramref name="inChannels"/> channels.</summary>
    public C3dTiny(int numClasses = 8, int inChannels = 1, Generator? generator = null)
    {
        Features = RegisterModule("features", new Sequential(
            new Conv3d(inChannels, 8, 3, padding: 1, bias: false, generator: generator), new BatchNorm3d(8), new ReLU(), new MaxPool3d([1, 2, 2]),
            new Conv3d(8, 16, 3, padding: 1, bias: false, generator: generator), new BatchNorm3d(16), new ReLU(), new MaxPool3d(2),
            new Conv3d(16, 32, 3, padding: 1, bias: false, generator: generator), new BatchNorm3d(32), new ReLU(), new AdaptiveAvgPool3d(1)));
        Classifier = RegisterModule("classifier", new Linear(32, numClasses, generator: generator));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 5) throw new ShapeException("c3d_tiny", $"expected clips of shape (N, C, T, H, W), got {input.Describe()}");
        return Classifier.Call(Features.Call(input).Flatten(1));
    }
}
