namespace Engine.Nn;

/// <summary>3-D convolution layer over (N, C, T, H, W), initialised as PyTorch (kaiming uniform, a = √5).</summary>
public sealed class Conv3d : ConvNd
{
    /// <summary>Cubic kernel, scalar options.</summary>
    public Conv3d(long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
        : base("Conv3d", 3, inChannels, outChannels, [kernelSize], [stride], [padding], null, [dilation], groups, bias, dtype, generator) { }

    /// <summary>Per-dim options (t, h, w); padding as (t, h, w) or per side (front, back, top, bottom, left, right).</summary>
    public Conv3d(long inChannels, long outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
        : base("Conv3d", 3, inChannels, outChannels, kernelSize, stride, padding, null, dilation, groups, bias, dtype, generator) { }

    /// <summary>PyTorch's <c>padding="same"</c> / <c>"valid"</c>; see <see cref="Conv2d"/>'s overload.</summary>
    public Conv3d(long inChannels, long outChannels, int[] kernelSize, ConvPadding padding, int[]? stride = null, int[]? dilation = null, int groups = 1,
        bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
        : base("Conv3d", 3, inChannels, outChannels, kernelSize, stride ?? [1], null, padding, dilation ?? [1], groups, bias, dtype, generator) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv3d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
}
