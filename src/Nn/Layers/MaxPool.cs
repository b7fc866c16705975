namespace Engine.Nn;

/// <summary>The shared part of <see cref="MaxPool2d"/> and <see cref="MaxPool3d"/> (PyTorch's <c>_MaxPoolNd</c>): options per spatial dim and the printout.</summary>
public abstract class MaxPoolNd : Module
{
    /// <summary>Window size per spatial dim.</summary>
    public int[] KernelSize { get; }
    /// <summary>Stride per spatial dim (the kernel size unless given).</summary>
    public int[] Stride { get; }
    /// <summary>Implicit −∞ padding per spatial dim.</summary>
    public int[] Padding { get; }
    /// <summary>Dilation per spatial dim.</summary>
    public int[] Dilation { get; }
    /// <summary>Rounds the output size up (a last partial window that starts inside the input counts).</summary>
    public bool CeilMode { get; }

    private protected MaxPoolNd(string op, int spatial, int[] kernelSize, int[]? stride, int[]? padding, int[]? dilation, bool ceilMode)
    {
        KernelSize = LayerOptions.PerDim(op, "kernel_size", kernelSize, spatial);
        Stride = stride is null ? KernelSize : LayerOptions.PerDim(op, "stride", stride, spatial);
        Padding = LayerOptions.PerDim(op, "padding", padding ?? [0], spatial);
        Dilation = LayerOptions.PerDim(op, "dilation", dilation ?? [1], spatial);
        CeilMode = ceilMode;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={LayerOptions.Compact(KernelSize)}, stride={LayerOptions.Compact(Stride)}, padding={LayerOptions.Compact(Padding)}, " +
        $"dilation={LayerOptions.Compact(Dilation)}, ceil_mode={(CeilMode ? "True" : "False")}";
}

/// <summary>2-D max pooling over (N, C, H, W).</summary>
public sealed class MaxPool2d : MaxPoolNd
{
    /// <summary>Square window, scalar options; stride defaults to the kernel size.</summary>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
        : base("MaxPool2d", 2, [kernelSize], stride is int s ? [s] : null, [padding], [dilation], ceilMode) { }

    /// <summary>Per-dim options, each one value or (h, w).</summary>
    public MaxPool2d(int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
        : base("MaxPool2d", 2, kernelSize, stride, padding, dilation, ceilMode) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);
}

/// <summary>3-D max pooling over (N, C, T, H, W).</summary>
public sealed class MaxPool3d : MaxPoolNd
{
    /// <summary>Cubic window, scalar options; stride defaults to the kernel size.</summary>
    public MaxPool3d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
        : base("MaxPool3d", 3, [kernelSize], stride is int s ? [s] : null, [padding], [dilation], ceilMode) { }

    /// <summary>Per-dim options, each one value or (t, h, w).</summary>
    public MaxPool3d(int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
        : base("MaxPool3d", 3, kernelSize, stride, padding, dilation, ceilMode) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool3d(input, KernelSize, Stride, Padding, Dilation, CeilMode);
}
