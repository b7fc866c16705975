namespace Engine.Nn;

/// <summary>2-D max pooling.</summary>
public sealed class MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, kernelSize, stride, padding, dilation, ceilMode);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride ?? kernelSize}, padding={padding}, dilation={dilation}, ceil_mode={(ceilMode ? "True" : "False")}";
}

/// <summary>3-D max pooling.</summary>
public sealed class MaxPool3d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool3d(input, kernelSize, stride, padding, dilation, ceilMode);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride ?? kernelSize}, padding={padding}";
}

/// <summary>2-D average pooling.</summary>
public sealed class AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool2d(input, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride ?? kernelSize}, padding={padding}";
}

/// <summary>3-D average pooling.</summary>
public sealed class AvgPool3d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool3d(input, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride ?? kernelSize}, padding={padding}";
}

/// <summary>Average pooling to a fixed output size.</summary>
public sealed class AdaptiveAvgPool2d(int outH, int outW) : Module
{
    /// <summary>Square output.</summary>
    public AdaptiveAvgPool2d(int outputSize) : this(outputSize, outputSize) { }
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool2d(input, outH, outW);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size=({outH}, {outW})";
}

/// <summary>Local response normalisation across channels (AlexNet).</summary>
public sealed class LocalResponseNorm(int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LocalResponseNorm(input, size, alpha, beta, k);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{size}, alpha={alpha}, beta={beta}, k={k}";
}
