namespace Engine.Models;

/// <summary>
/// One row of the video ResNet table (torchvision's <c>VideoResNet</c> arguments): the convolution of each of the four
/// stages (<c>conv_makers</c>), the blocks per stage (<c>layers</c>) and the stem. The block is always torchvision's
/// video <c>BasicBlock</c> (<see cref="VideoBasicBlock"/>), as in every builder torchvision has.
/// </summary>
public sealed record VideoResNetSpec(VideoConvKind[] ConvMakers, int[] Layers, VideoStemKind Stem)
{
    /// <summary>Planes of stage <paramref name="stage"/>: 64, 128, 256, 512.</summary>
    public static int Planes(int stage) => VideoStem.Channels << stage;
}
