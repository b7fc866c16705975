namespace Engine.Nn;

/// <summary>The shared part of the adaptive pooling layers: the fixed output size and the printout.</summary>
public abstract class AdaptivePoolNd : Module
{
    /// <summary>The output size per spatial dim, whatever the input size.</summary>
    public int[] OutputSize { get; }

    private protected AdaptivePoolNd(string op, int spatial, int[] outputSize)
    {
        OutputSize = LayerOptions.PerDim(op, "output_size", outputSize, spatial);
        if (OutputSize.Any(o => o < 1)) throw new ArgumentValueException(op, $"output size must be positive, got {LayerOptions.Tuple(OutputSize)}");
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={LayerOptions.Tuple(OutputSize)}";
}

/// <summary>Average pooling of (N, C, H, W) to a fixed H×W.</summary>
public sealed class AdaptiveAvgPool2d(int outH, int outW) : AdaptivePoolNd("AdaptiveAvgPool2d", 2, [outH, outW])
{
    /// <summary>Square output.</summary>
    public AdaptiveAvgPool2d(int outputSize) : this(outputSize, outputSize) { }
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool2d(input, OutputSize[0], OutputSize[1]);
}

/// <summary>Max pooling of (N, C, H, W) to a fixed H×W.</summary>
public sealed class AdaptiveMaxPool2d(int outH, int outW) : AdaptivePoolNd("AdaptiveMaxPool2d", 2, [outH, outW])
{
    /// <summary>Square output.</summary>
    public AdaptiveMaxPool2d(int outputSize) : this(outputSize, outputSize) { }
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveMaxPool2d(input, OutputSize[0], OutputSize[1]);
}

/// <summary>Average pooling of (N, C, T, H, W) to a fixed T×H×W (video models).</summary>
public sealed class AdaptiveAvgPool3d(int outT, int outH, int outW) : AdaptivePoolNd("AdaptiveAvgPool3d", 3, [outT, outH, outW])
{
    /// <summary>Cubic output.</summary>
    public AdaptiveAvgPool3d(int outputSize) : this(outputSize, outputSize, outputSize) { }
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool3d(input, OutputSize[0], OutputSize[1], OutputSize[2]);
}
