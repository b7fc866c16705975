using Engine.Nn;

namespace Engine.Models;

/// <summary>The 3×3×3-class convolution a video ResNet stage is built from (torchvision's <c>conv_makers</c>).</summary>
public enum VideoConvKind
{
    /// <summary>A full 3×3×3 convolution, stride s in time and space (torchvision's <c>Conv3DSimple</c>; R3D).</summary>
    Conv3DSimple,
    /// <summary>A 1×3×3 convolution, stride (1, s, s): no temporal extent (torchvision's <c>Conv3DNoTemporal</c>; the 2-D stages of MC3).</summary>
    Conv3DNoTemporal,
    /// <summary>
    /// A 1×3×3 spatial convolution to <c>midplanes</c> channels, BatchNorm, ReLU, then a 3×1×1 temporal convolution
    /// (torchvision's <c>Conv2Plus1D</c>; R(2+1)D): the factorisation of a 3×3×3 kernel with about its parameter count.
    /// </summary>
    Conv2Plus1D,
}

/// <summary>torchvision's <c>Conv3DSimple</c>, <c>Conv3DNoTemporal</c> and <c>Conv2Plus1D</c> as factories of engine modules with the same state-dict names.</summary>
public static class VideoConv
{
    /// <summary>
    /// R(2+1)D's intermediate width for a block from <paramref name="inPlanes"/> to <paramref name="planes"/>:
    /// ⌊(in·planes·27) / (in·9 + 3·planes)⌋, chosen so the (2+1)D pair has about the parameters of a 3×3×3 conv
    /// (Tran et al. 2018, eq. 5; torchvision computes it once per block and uses it for both of its convs).
    /// </summary>
    public static long MidPlanes(long inPlanes, long planes) => inPlanes * planes * 3 * 3 * 3 / (inPlanes * 3 * 3 + 3 * planes);

    /// <summary>
    /// The convolution of <paramref name="kind"/> from <paramref name="inPlanes"/> to <paramref name="outPlanes"/>
    /// with stride <paramref name="stride"/> and padding 1 (no bias: a BatchNorm follows). A
    /// <see cref="VideoConvKind.Conv2Plus1D"/> is a Sequential "0" conv 1×3×3, "1" BN, "2" ReLU, "3" conv 3×1×1.
    /// </summary>
    public static Module Create(VideoConvKind kind, long inPlanes, long outPlanes, long midPlanes, int stride, Generator? generator) => kind switch
    {
        VideoConvKind.Conv3DSimple => new Conv3d(inPlanes, outPlanes, [3, 3, 3], [stride, stride, stride], [1, 1, 1], [1, 1, 1], bias: false, generator: generator),
        VideoConvKind.Conv3DNoTemporal => new Conv3d(inPlanes, outPlanes, [1, 3, 3], [1, stride, stride], [0, 1, 1], [1, 1, 1], bias: false, generator: generator),
        VideoConvKind.Conv2Plus1D => new Sequential(
            new Conv3d(inPlanes, midPlanes, [1, 3, 3], [1, stride, stride], [0, 1, 1], [1, 1, 1], bias: false, generator: generator),
            new BatchNorm3d(midPlanes),
            new ReLU(),
            new Conv3d(midPlanes, outPlanes, [3, 1, 1], [stride, 1, 1], [1, 0, 0], [1, 1, 1], bias: false, generator: generator)),
        _ => throw new ArgumentValueException("video_resnet", $"unknown convolution kind {kind}"),
    };

    /// <summary>The stride (t, h, w) of the 1×1×1 projection shortcut of a block of stride <paramref name="stride"/> (torchvision's <c>get_downsample_stride</c>).</summary>
    public static int[] DownsampleStride(VideoConvKind kind, int stride) =>
        kind == VideoConvKind.Conv3DNoTemporal ? [1, stride, stride] : [stride, stride, stride];
}
