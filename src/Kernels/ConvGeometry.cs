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
    public int Out(int d) => (In[d] + PadBegin[d] + PadEnd[d] - Dilation[d] * (Kernel[d] - 1) - 1) / Stride[d] + 1;

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
