namespace Engine.Kernels;

/// <summary>
/// The geometry of a 2-D or 3-D convolution, always stored as 3 spatial dims (a 2-D convolution has depth 1
/// with kernel 1, stride 1, no padding), so one set of kernels serves conv2d and conv3d. Padding may differ
/// on the two sides of each dim. Sizes are validated by the tensor layer before a kernel sees them.
/// </summary>
public sealed record ConvGeometry(
    int Batch, int InChannels, int OutChannels, int Groups,
    int[] In, int[] Kernel, int[] Stride, int[] PadBegin, int[] PadEnd, int[] Dilation)
{
    /// <summary>Output size of spatial dim d.</summary>
    public int Out(int d) => (int)(((long)In[d] + PadBegin[d] + PadEnd[d] - (long)Dilation[d] * (Kernel[d] - 1) - 1) / Stride[d] + 1);

    /// <summary>
    /// Checks that every size the kernels form in 32-bit ints fits: padded extents, dilated kernel extents, output
    /// sizes, input and output planes, kernel volume and im2col rows; a <see cref="ShapeException"/> naming
    /// <paramref name="op"/> otherwise. Called by the tensor layer before the output is allocated.
    /// </summary>
    public void Validate(string op)
    {
        long inPlane = 1, outPlane = 1, volume = 1;
        for (int d = 0; d < 3; d++)
        {
            ShapeUtil.ToInt(op, (long)In[d] + PadBegin[d] + PadEnd[d], $"the padded input extent of spatial dim {d}");
            ShapeUtil.ToInt(op, (long)Dilation[d] * (Kernel[d] - 1) + 1, $"the dilated kernel extent of spatial dim {d}");
            inPlane = ShapeUtil.ToInt(op, inPlane * In[d], "the input plane (spatial elements per channel)");
            outPlane = ShapeUtil.ToInt(op, outPlane * Out(d), "the output plane (spatial elements per channel)");
            volume = ShapeUtil.ToInt(op, volume * Kernel[d], "the kernel volume");
        }
        ShapeUtil.ToInt(op, (long)InPerGroup * volume, "the im2col rows (input channels per group × kernel volume)");
    }

    /// <summary>Output spatial sizes.</summary>
    public int[] OutSizes => [Out(0), Out(1), Out(2)];

    /// <summary>Input channels per group.</summary>
    public int InPerGroup => InChannels / Groups;

    /// <summary>Output channels per group.</summary>
    public int OutPerGroup => OutChannels / Groups;

    /// <summary>Input spatial elements per channel.</summary>
    public int InPlane => In[0] * In[1] * In[2];

    /// <summary>Output spatial elements per channel.</summary>
    public int OutPlane => Out(0) * Out(1) * Out(2);

    /// <summary>Kernel elements per channel.</summary>
    public int KernelVolume => Kernel[0] * Kernel[1] * Kernel[2];

    /// <summary>A 1×1 (×1), stride-1, unpadded convolution: each output position is a GEMM over the input's channels.</summary>
    public bool IsPointwise
    {
        get
        {
            for (int d = 0; d < 3; d++)
                if (Kernel[d] != 1 || Stride[d] != 1 || PadBegin[d] != 0 || PadEnd[d] != 0) return false;
            return true;
        }
    }
}

/// <summary>
/// The geometry of a 2-D or 3-D pooling over [N·C planes, D, H, W], as 3 spatial dims (depth 1 for 2-D).
/// Each output index o of dim d pools the input window [WinStart[d][o], WinEnd[d][o]) with step Dilation[d];
/// the window tables cover both ordinary pooling (kernel, stride, padding, ceil mode) and adaptive pooling.
/// <see cref="Divisor"/>[d][o] is the window length that average pooling divides by along d.
/// </summary>
public sealed record PoolGeometry(int Planes, int[] In, int[] OutSize, int[][] WinStart, int[][] WinEnd, int[][] Divisor, int[] Dilation)
{
    /// <summary>Input spatial elements per plane.</summary>
    public int InPlane => In[0] * In[1] * In[2];

    /// <summary>Output spatial elements per plane.</summary>
    public int OutPlane => OutSize[0] * OutSize[1] * OutSize[2];
}
