namespace Engine.Nn;

/// <summary>
/// A deformable convolution that predicts its own sampling offsets: the names and layout of the DCN reference
/// implementations (mmcv's <c>DeformConv2dPack</c> and, when <see cref="Modulated"/>, <c>ModulatedDeformConv2dPack</c>,
/// from the authors' DCNv2 code). Parameters <c>weight</c> and <c>bias</c> (the <see cref="DeformConv2d"/> it is) and a
/// child <c>conv_offset</c>, a plain <see cref="Conv2d"/> with the same kernel, stride, padding and dilation and a bias,
/// from the input to 2·offsetGroups·kH·kW offset channels (DCNv1, Dai et al. 2017) or 3·offsetGroups·kH·kW channels
/// (DCNv2, Zhu et al. 2019): the first 2·offsetGroups·kH·kW are the (dy, dx) offsets, the rest the mask logits, passed
/// through a sigmoid. <c>conv_offset</c> starts at zero (<see cref="ResetOffsetPredictor"/>): the layer starts as a plain
/// convolution (DCNv1) or as the plain convolution times 0.5, the sigmoid of 0 (DCNv2, the paper's initial Δm = 0.5;
/// a following BatchNorm normalises the factor away).
/// </summary>
public sealed class DeformConv2dPack : DeformConv2d
{
    /// <summary>The offset (and mask) predictor.</summary>
    public Conv2d ConvOffset { get; }

    /// <summary>Offset groups: channel c uses the offsets of group c / (C / OffsetGroups).</summary>
    public int OffsetGroups { get; }

    /// <summary>Whether the layer also predicts a modulation mask (DCNv2).</summary>
    public bool Modulated { get; }

    /// <summary>Square kernel, scalar options.</summary>
    public DeformConv2dPack(long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1,
        int offsetGroups = 1, bool modulated = false, bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
        : this(inChannels, outChannels, [kernelSize], [stride], [padding], [dilation], groups, offsetGroups, modulated, bias, dtype, generator) { }

    /// <summary>Per-dim options as one value or (h, w).</summary>
    public DeformConv2dPack(long inChannels, long outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation, int groups = 1,
        int offsetGroups = 1, bool modulated = false, bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
        : base(inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, dtype, generator)
    {
        if (offsetGroups < 1 || inChannels % offsetGroups != 0)
            throw new ShapeException("DeformConv2dPack", $"offset groups {offsetGroups} must divide in_channels={inChannels}");
        OffsetGroups = offsetGroups;
        Modulated = modulated;
        long taps = (long)KernelSize[0] * KernelSize[1] * offsetGroups;
        ConvOffset = RegisterModule("conv_offset", new Conv2d(inChannels, (modulated ? 3 : 2) * taps, KernelSize, Stride, Padding, Dilation, bias: true,
            dtype: dtype, generator: generator));
        ResetOffsetPredictor();
    }

    /// <summary>Zeroes <c>conv_offset</c>, so every sampling point sits on the regular grid (and the mask is 0.5).</summary>
    public void ResetOffsetPredictor()
    {
        Init.Zeros(ConvOffset.Weight);
        Init.Zeros(ConvOffset.Bias!);
    }

    /// <summary>The predicted offsets [N, 2·offsetGroups·kH·kW, Ho, Wo] and, when <see cref="Modulated"/>, the mask (after the sigmoid).</summary>
    public (Tensor Offset, Tensor? Mask) PredictOffsets(Tensor input)
    {
        var o = ConvOffset.Call(input);
        if (!Modulated) return (o, null);
        long taps = o.Size(1) / 3;
        return (o.Narrow(1, 0, 2 * taps), o.Narrow(1, 2 * taps, taps).Sigmoid());
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var (offset, mask) = PredictOffsets(input);
        return Forward(input, offset, mask);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        base.ExtraRepr() + (OffsetGroups != 1 ? $", deform_groups={OffsetGroups}" : "") + (Modulated ? ", modulated=True" : "");
}
