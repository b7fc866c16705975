namespace Engine.Kernels.Cuda;

/// <summary>
/// The cuDNN descriptors' numbers for a <see cref="ConvGeometry"/>, planned without touching memory so it can be checked
/// on the CPU. A convolution whose depth is trivial (input depth 1, kernel depth 1, no depth padding) is a 2-D one and
/// gets 4-D descriptors (cuDNN has more and faster 2-D kernels); otherwise 5-D.
/// </summary>
/// <remarks>
/// cuDNN pads both sides of a dim by the same amount. Asymmetric padding (begin b, end e) is mapped onto it exactly:
/// the convolution runs with padding b on both sides over an input extended by max(0, e − b) zeros at the end
/// (<see cref="PadsInput"/>), and, when e &lt; b, produces a few extra trailing outputs that are dropped
/// (<see cref="CropsOutput"/>): output o reads the window starting at o·stride − b either way, so the outputs wanted are a
/// prefix of those computed.
/// </remarks>
/// <param name="XDims">Input dims given to cuDNN: [N, C, spatial...] (extended when <see cref="PadsInput"/>).</param>
/// <param name="WDims">Filter dims [O, C/groups, kernel...].</param>
/// <param name="YDims">Output dims cuDNN computes: [N, O, spatial...] (larger than the geometry's when <see cref="CropsOutput"/>).</param>
/// <param name="Pad">Symmetric padding per spatial dim.</param>
/// <param name="Stride">Stride per spatial dim.</param>
/// <param name="Dilation">Dilation per spatial dim.</param>
/// <param name="Groups">Group count.</param>
/// <param name="PadsInput">The input is copied into a zero-extended temporary of <see cref="XDims"/>.</param>
/// <param name="CropsOutput">The output is computed into a temporary of <see cref="YDims"/> and its leading part kept.</param>
public sealed record CudnnConvPlan(int[] XDims, int[] WDims, int[] YDims, int[] Pad, int[] Stride, int[] Dilation, int Groups, bool PadsInput, bool CropsOutput)
{
    /// <summary>Spatial dims given to cuDNN (2 or 3).</summary>
    public int Spatial => Pad.Length;

    /// <summary>The first geometry dim (0 = depth) that the descriptors cover: 1 for a 2-D convolution.</summary>
    public int FirstDim => 3 - Spatial;

    /// <summary>Plans <paramref name="g"/>.</summary>
    public static CudnnConvPlan For(ConvGeometry g)
    {
        bool is2d = g.In[0] == 1 && g.Kernel[0] == 1 && g.PadBegin[0] == 0 && g.PadEnd[0] == 0;
        int first = is2d ? 1 : 0, sp = 3 - first;
        var x = new int[sp + 2]; var w = new int[sp + 2]; var y = new int[sp + 2];
        var pad = new int[sp]; var stride = new int[sp]; var dil = new int[sp];
        x[0] = g.Batch; x[1] = g.InChannels;
        w[0] = g.OutChannels; w[1] = g.InPerGroup;
        y[0] = g.Batch; y[1] = g.OutChannels;
        bool padsInput = false, crops = false;
        for (int i = 0; i < sp; i++)
        {
            int d = first + i;
            int extra = Math.Max(0, g.PadEnd[d] - g.PadBegin[d]);
            int inExt = g.In[d] + extra;
            pad[i] = g.PadBegin[d];
            stride[i] = g.Stride[d];
            dil[i] = g.Dilation[d];
            x[2 + i] = inExt;
            w[2 + i] = g.Kernel[d];
            y[2 + i] = (inExt + 2 * pad[i] - dil[i] * (g.Kernel[d] - 1) - 1) / stride[i] + 1;
            padsInput |= extra > 0;
            crops |= y[2 + i] != g.Out(d);
        }
        return new CudnnConvPlan(x, w, y, pad, stride, dil, g.Groups, padsInput, crops);
    }
}
