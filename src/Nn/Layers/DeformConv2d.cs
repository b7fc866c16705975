namespace Engine.Nn;

/// <summary>
/// Deformable 2-D convolution layer (torchvision.ops.DeformConv2d): parameters <c>weight</c> [out, in/groups, kH, kW] and
/// <c>bias</c> [out] with PyTorch's default convolution initialisation; the offsets (and the DCNv2 modulation mask) are
/// inputs of <see cref="Forward(Tensor, Tensor, Tensor?)"/>, as in torchvision. A layer that predicts them itself is
/// <see cref="DeformConv2dPack"/>.
/// </summary>
public class DeformConv2d : ConvNd
{
    /// <summary>Square kernel, scalar options.</summary>
    public DeformConv2d(long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
        : this(inChannels, outChannels, [kernelSize], [stride], [padding], [dilation], groups, bias, dtype, generator) { }

    /// <summary>Per-dim options as one value or (h, w); padding is symmetric (top = bottom, left = right), as in torchvision.</summary>
    public DeformConv2d(long inChannels, long outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
        : base("DeformConv2d", 2, inChannels, outChannels, kernelSize, stride, LayerOptions.PerDim("DeformConv2d", "padding", padding, 2), null, dilation,
            groups, bias, dtype, generator) { }

    /// <summary>
    /// The deformable convolution of <paramref name="input"/> [N, C, H, W] with <paramref name="offset"/>
    /// [N, 2·offsetGroups·kH·kW, Ho, Wo] and, for DCNv2, <paramref name="mask"/> [N, offsetGroups·kH·kW, Ho, Wo]
    /// (<see cref="Functional.DeformConv2d(Tensor, Tensor, Tensor, Tensor?, int[], int[], int[], Tensor?)"/>).
    /// </summary>
    public Tensor Forward(Tensor input, Tensor offset, Tensor? mask = null) =>
        Functional.DeformConv2d(input, offset, Weight, Bias, Stride, Padding, Dilation, mask);
}
