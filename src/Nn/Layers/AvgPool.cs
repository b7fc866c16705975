namespace Engine.Nn;

/// <summary>The shared part of <see cref="AvgPool2d"/> and <see cref="AvgPool3d"/>: options per spatial dim and the printout.</summary>
public abstract class AvgPoolNd : Module
{
    /// <summary>Window size per spatial dim.</summary>
    public int[] KernelSize { get; }
    /// <summary>Stride per spatial dim (the kernel size unless given).</summary>
    public int[] Stride { get; }
    /// <summary>Implicit zero padding per spatial dim.</summary>
    public int[] Padding { get; }
    /// <summary>Rounds the output size up.</summary>
    public bool CeilMode { get; }
    /// <summary>Divide by the padded window size (PyTorch's default) rather than the count of real elements.</summary>
    public bool CountIncludePad { get; }
    /// <summary>A fixed divisor instead of the window size, or null.</summary>
    public int? DivisorOverride { get; }

    private protected AvgPoolNd(string op, int spatial, int[] kernelSize, int[]? stride, int[]? padding, bool ceilMode, bool countIncludePad, int? divisorOverride)
    {
        KernelSize = LayerOptions.PerDim(op, "kernel_size", kernelSize, spatial);
        Stride = stride is null ? KernelSize : LayerOptions.PerDim(op, "stride", stride, spatial);
        Padding = LayerOptions.PerDim(op, "padding", padding ?? [0], spatial);
        CeilMode = ceilMode; CountIncludePad = countIncludePad; DivisorOverride = divisorOverride;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={LayerOptions.Compact(KernelSize)}, stride={LayerOptions.Compact(Stride)}, padding={LayerOptions.Compact(Padding)}";
}

/// <summary>2-D average pooling over (N, C, H, W).</summary>
public sealed class AvgPool2d : AvgPoolNd
{
    /// <summary>Square window, scalar options; stride defaults to the kernel size.</summary>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
        : base("AvgPool2d", 2, [kernelSize], stride is int s ? [s] : null, [padding], ceilMode, countIncludePad, divisorOverride) { }

    /// <summary>Per-dim options, each one value or (h, w).</summary>
    public AvgPool2d(int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
        : base("AvgPool2d", 2, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool2d(input, KernelSize, Stride, Padding, CeilMode, CountIncludePad, DivisorOverride);
}

/// <summary>3-D average pooling over (N, C, T, H, W).</summary>
public sealed class AvgPool3d : AvgPoolNd
{
    /// <summary>Cubic window, scalar options; stride defaults to the kernel size.</summary>
    public AvgPool3d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
        : base("AvgPool3d", 3, [kernelSize], stride is int s ? [s] : null, [padding], ceilMode, countIncludePad, divisorOverride) { }

    /// <summary>Per-dim options, each one value or (t, h, w).</summary>
    public AvgPool3d(int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
        : base("AvgPool3d", 3, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool3d(input, KernelSize, Stride, Padding, CeilMode, CountIncludePad, DivisorOverride);
}
