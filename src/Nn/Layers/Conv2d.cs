namespace Engine.Nn;

/// <summary>2-D convolution layer over (N, C, H, W), initialised as PyTorch (kaiming uniform, a = √5).</summary>
public sealed class Conv2d : ConvNd
{
    /// <summary>Square kernel, scalar options.</summary>
    public Conv2d(long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
        : base("Conv2d", 2, inChannels, outChannels, [kernelSize], [stride], [padding], null, [dilation], groups, bias, dtype, generator) { }

    /// <summary>Per-dim options (h, w); padding as (h, w) or per side (top, bottom, left, right).</summary>
    public Conv2d(long inChannels, long outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
        : base("Conv2d", 2, inChannels, outChannels, kernelSize, stride, padding, null, dilation, groups, bias, dtype, generator) { }

    /// <summary>
    /// PyTorch's <c>padding="same"</c> / <c>"valid"</c>; kernel, stride and dilation as one value or (h, w). Same padding
    /// needs stride 1 (else <see cref="ArgumentValueException"/>); an even kernel pads one more at the bottom and right.
    /// </summary>
    public Conv2d(long inChannels, long outChannels, int[] kernelSize, ConvPadding padding, int[]? stride = null, int[]? dilation = null, int groups = 1,
        bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
        : base("Conv2d", 2, inChannels, outChannels, kernelSize, stride ?? [1], null, padding, dilation ?? [1], groups, bias, dtype, generator) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
}
