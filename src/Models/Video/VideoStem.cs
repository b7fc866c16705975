using Engine.Nn;

namespace Engine.Models;

/// <summary>The first layers of a video ResNet, to 64 channels at half the spatial resolution.</summary>
public enum VideoStemKind
{
    /// <summary>conv 3×7×7, stride (1, 2, 2), padding (1, 3, 3) – BN – ReLU (torchvision's <c>BasicStem</c>; R3D, MC3).</summary>
    Basic,
    /// <summary>
    /// conv 1×7×7 to 45 channels, stride (1, 2, 2) – BN – ReLU – conv 3×1×1 to 64 – BN – ReLU (torchvision's
    /// <c>R2Plus1dStem</c>; R(2+1)D).
    /// </summary>
    R2Plus1d,
}

/// <summary>torchvision's video stems as engine Sequentials with the same child names ("0", "1", …).</summary>
public static class VideoStem
{
    /// <summary>Channels every stem ends with (the first stage's planes).</summary>
    public const int Channels = 64;

    /// <summary>The stem of <paramref name="kind"/> from <paramref name="inChannels"/> input channels (3 for RGB clips).</summary>
    public static Sequential Create(VideoStemKind kind, long inChannels, Generator? generator) => kind switch
    {
        VideoStemKind.Basic => new Sequential(
            new Conv3d(inChannels, Channels, [3, 7, 7], [1, 2, 2], [1, 3, 3], [1, 1, 1], bias: false, generator: generator),
            new BatchNorm3d(Channels),
            new ReLU()),
        VideoStemKind.R2Plus1d => new Sequential(
            new Conv3d(inChannels, 45, [1, 7, 7], [1, 2, 2], [0, 3, 3], [1, 1, 1], bias: false, generator: generator),
            new BatchNorm3d(45),
            new ReLU(),
            new Conv3d(45, Channels, [3, 1, 1], [1, 1, 1], [1, 0, 0], [1, 1, 1], bias: false, generator: generator),
            new BatchNorm3d(Channels),
            new ReLU()),
        _ => throw new ArgumentValueException("video_resnet", $"unknown stem {kind}"),
    };
}
