namespace Engine.Nn;

/// <summary>2-D convolution layer over (N, C, H, W), initialised as PyTorch (kaiming uniform, a = √5).</summary>
public sealed class Conv2d : Module
{
    /// <summary>Weight [out, in/groups, kH, kW].</summary>
    public Tensor Weight => Param("weight")!;
    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias => Param("bias");
    /// <summary>Stride (h, w).</summary>
    public int[] Stride { get; }
    /// <summary>Padding (h, w), or per side (top, bottom, left, right).</summary>
    public int[] Padding { get; }
    /// <summary>Dilation (h, w).</summary>
    public int[] Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Square kernel, scalar options.</summary>
    public Conv2d(long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
        : this(inChannels, outChannels, [kernelSize, kernelSize], [stride, stride], [padding, padding], [dilation, dilation], groups, bias, dtype, generator) { }

    /// <summary>Per-dim options.</summary>
    public Conv2d(long inChannels, long outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
    {
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ShapeException("Conv2d", $"groups={groups} must divide in_channels={inChannels} and out_channels={outChannels}");
        Stride = stride; Padding = padding; Dilation = dilation; Groups = groups;
        ConvInit.Create(this, RegisterParameter, inChannels, outChannels, kernelSize, groups, bias, dtype, generator);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{Weight.Size(1) * Groups}, {Weight.Size(0)}, kernel_size=({Weight.Size(2)}, {Weight.Size(3)}), stride=({string.Join(", ", Stride)})" +
        (Padding.Any(p => p != 0) ? $", padding=({string.Join(", ", Padding)})" : "") +
        (Dilation.Any(d => d != 1) ? $", dilation=({string.Join(", ", Dilation)})" : "") +
        (Groups != 1 ? $", groups={Groups}" : "") + (Bias is null ? ", bias=False" : "");
}

/// <summary>3-D convolution layer over (N, C, T, H, W).</summary>
public sealed class Conv3d : Module
{
    /// <summary>Weight [out, in/groups, kT, kH, kW].</summary>
    public Tensor Weight => Param("weight")!;
    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias => Param("bias");
    /// <summary>Stride (t, h, w).</summary>
    public int[] Stride { get; }
    /// <summary>Padding (t, h, w) or per side.</summary>
    public int[] Padding { get; }
    /// <summary>Dilation (t, h, w).</summary>
    public int[] Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Cubic kernel, scalar options.</summary>
    public Conv3d(long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
        : this(inChannels, outChannels, [kernelSize, kernelSize, kernelSize], [stride, stride, stride], [padding, padding, padding], [dilation, dilation, dilation],
            groups, bias, dtype, generator) { }

    /// <summary>Per-dim options.</summary>
    public Conv3d(long inChannels, long outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation, int groups = 1, bool bias = true,
        DType dtype = DType.Float32, Generator? generator = null)
    {
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ShapeException("Conv3d", $"groups={groups} must divide in_channels={inChannels} and out_channels={outChannels}");
        Stride = stride; Padding = padding; Dilation = dilation; Groups = groups;
        ConvInit.Create(this, RegisterParameter, inChannels, outChannels, kernelSize, groups, bias, dtype, generator);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv3d(input, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{Weight.Size(1) * Groups}, {Weight.Size(0)}, kernel_size=({Weight.Size(2)}, {Weight.Size(3)}, {Weight.Size(4)}), stride=({string.Join(", ", Stride)})" +
        (Groups != 1 ? $", groups={Groups}" : "") + (Bias is null ? ", bias=False" : "");
}

/// <summary>PyTorch's default convolution and linear initialisation.</summary>
internal static class ConvInit
{
    public static void Create(Module owner, Func<string, Tensor?, Tensor?> register, long inChannels, long outChannels, int[] kernel, int groups, bool bias,
        DType dtype, Generator? generator)
    {
        var shape = new long[] { outChannels, inChannels / groups }.Concat(kernel.Select(k => (long)k)).ToArray();
        var w = register("weight", Tensor.Empty(shape, dtype, Device.Cpu, op: owner.GetType().Name))!;
        Init.KaimingUniform(w, a: Math.Sqrt(5), generator: generator);
        if (!bias) return;
        var (fanIn, _) = Init.Fans(w);
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        var b = register("bias", Tensor.Empty([outChannels], dtype, Device.Cpu, op: owner.GetType().Name))!;
        Init.Uniform(b, -bound, bound, generator);
    }
}
