namespace Engine.Nn;

/// <summary>
/// The shared part of <see cref="Conv2d"/> and <see cref="Conv3d"/> (PyTorch's <c>_ConvNd</c>): the weight
/// [out, in/groups, kernel…] and bias [out] with PyTorch's default initialisation, the options and the printout;
/// a subclass only names its functional op.
/// </summary>
public abstract class ConvNd : Module
{
    /// <summary>Weight [out, in/groups, kernel…].</summary>
    public Tensor Weight => Param("weight")!;
    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias => Param("bias");
    /// <summary>Kernel size per spatial dim.</summary>
    public int[] KernelSize { get; }
    /// <summary>Stride per spatial dim.</summary>
    public int[] Stride { get; }
    /// <summary>Padding per spatial dim, or per side (before₀, after₀, before₁, after₁, …); for a <see cref="PaddingMode"/> the padding it resolves to.</summary>
    public int[] Padding { get; }
    /// <summary>Dilation per spatial dim.</summary>
    public int[] Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }
    /// <summary>The string padding the layer was created with ("same"/"valid"), or null for explicit padding.</summary>
    public ConvPadding? PaddingMode { get; }

    /// <summary>Checks the options and creates the parameters; <paramref name="op"/> names the layer in errors.</summary>
    private protected ConvNd(string op, int spatial, long inChannels, long outChannels, int[] kernelSize, int[] stride, int[]? padding, ConvPadding? paddingMode,
        int[] dilation, int groups, bool bias, DType dtype, Generator? generator)
    {
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ShapeException(op, $"groups={groups} must divide in_channels={inChannels} and out_channels={outChannels}");
        KernelSize = LayerOptions.PerDim(op, "kernel_size", kernelSize, spatial);
        Stride = LayerOptions.PerDim(op, "stride", stride, spatial);
        Dilation = LayerOptions.PerDim(op, "dilation", dilation, spatial);
        PaddingMode = paddingMode;
        Padding = paddingMode is { } mode ? Functional.PaddingFor(op, mode, KernelSize, Stride, Dilation)
            : padding!.Length == 2 * spatial ? padding : LayerOptions.PerDim(op, "padding", padding, spatial);
        Groups = groups;
        DefaultInit.WeightAndBias(this, RegisterParameter, inChannels, outChannels, KernelSize, groups, bias, dtype, generator);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{Weight.Size(1) * Groups}, {Weight.Size(0)}, kernel_size={LayerOptions.Tuple(KernelSize)}, stride={LayerOptions.Tuple(Stride)}" +
        (PaddingMode is { } mode ? $", padding={mode.ToString().ToLowerInvariant()}" : Padding.Any(p => p != 0) ? $", padding={LayerOptions.Tuple(Padding)}" : "") +
        (Dilation.Any(d => d != 1) ? $", dilation={LayerOptions.Tuple(Dilation)}" : "") +
        (Groups != 1 ? $", groups={Groups}" : "") + (Bias is null ? ", bias=False" : "");
}
