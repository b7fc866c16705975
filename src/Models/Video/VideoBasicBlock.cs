using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// torchvision's video <c>BasicBlock</c>: conv1 = Sequential(conv (stride), BN, ReLU), conv2 = Sequential(conv, BN),
/// relu, and the 1×1×1 projection <c>downsample</c> (conv, BN) when the stride or the width changes; output
/// relu(conv2(conv1(x)) + shortcut(x)). The convolutions are of the stage's <see cref="VideoConvKind"/>; for R(2+1)D
/// both use the block's one <see cref="VideoConv.MidPlanes"/> (computed from the block's input and output widths).
/// </summary>
public sealed class VideoBasicBlock : ResidualBlock
{
    private readonly Sequential _conv1, _conv2;
    private readonly BatchNorm3d _bn2;

    /// <summary>Creates the block from <paramref name="inPlanes"/> to <paramref name="planes"/> channels.</summary>
    public VideoBasicBlock(VideoConvKind conv, long inPlanes, long planes, int stride = 1, Generator? generator = null)
    {
        long mid = VideoConv.MidPlanes(inPlanes, planes);
        _conv1 = RegisterModule("conv1", new Sequential(VideoConv.Create(conv, inPlanes, planes, mid, stride, generator), new BatchNorm3d(planes), new ReLU()));
        _bn2 = new BatchNorm3d(planes);
        _conv2 = RegisterModule("conv2", new Sequential(VideoConv.Create(conv, planes, planes, mid, 1, generator), _bn2));
        RegisterModule("relu", new ReLU());
        if (stride != 1 || inPlanes != planes)
            SetDownsample(new Sequential(
                new Conv3d(inPlanes, planes, [1, 1, 1], VideoConv.DownsampleStride(conv, stride), [0, 0, 0], [1, 1, 1], bias: false, generator: generator),
                new BatchNorm3d(planes)));
    }

    /// <inheritdoc/>
    public override BatchNormBase LastNorm => _bn2;

    /// <inheritdoc/>
    public override Tensor Branch(Tensor input) => _conv2.Call(_conv1.Call(input));
}
