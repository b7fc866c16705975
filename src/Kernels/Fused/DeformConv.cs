using System.Numerics;
using Engine.Kernels.Cpu;
using Engine.Kernels.Gpu;

namespace Engine.Kernels.Fused;

/// <summary>
/// Geometry of a deformable convolution (torchvision.ops.deform_conv2d): input [N, C, H, W], kernel KH×KW,
/// output OutH×OutW, offset [N, 2·OffsetGroups·KH·KW, OutH, OutW] as (dy, dx) pairs ordered
/// ((g·KH + i)·KW + j)·2 + {0: dy, 1: dx}, mask [N, OffsetGroups·KH·KW, OutH, OutW] (when HasMask).
/// Channel c uses offset group c / (C / OffsetGroups).
/// </summary>
/// <param name="N">Batch size.</param>
/// <param name="C">Input channels.</param>
/// <param name="H">Input height.</param>
/// <param name="W">Input width.</param>
/// <param name="KH">Kernel height.</param>
/// <param name="KW">Kernel width.</param>
/// <param name="OutH">Output height.</param>
/// <param name="OutW">Output width.</param>
/// <param name="StrideH">Vertical stride.</param>
/// <param name="StrideW">Horizontal stride.</param>
/// <param name="PadH">Zero padding above and below.</param>
/// <param name="PadW">Zero padding left and right.</param>
/// <param name="DilationH">Vertical dilation.</param>
/// <param name="DilationW">Horizontal dilation.</param>
/// <param name="OffsetGroups">Number of offset groups (C is a multiple of it).</param>
/// <param name="HasMask">Whether a modulation mask is given (DCNv2).</param>
public readonly record struct DeformGeometry(int N, int C, int H, int W, int KH, int KW, int OutH, int OutW,
    int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int OffsetGroups, bool HasMask);

/// <summary>
/// Operands of <see cref="FusedOps.DeformIm2Col"/>: columns [C·KH·KW, N·OutH·OutW] (row (c·KH + i)·KW + j, column
/// (n·OutH + y)·OutW + x) = mask · bilinear(input[n, c], py, px), py = y·StrideH − PadH + i·DilationH + dy, px likewise;
/// bilinear reads 0 outside the image (torchvision's bilinear_interpolate: a point with py &lt;= -1, py &gt;= H,
/// px &lt;= -1 or px &gt;= W is 0; otherwise the 4 neighbours, each 0 when outside).
/// </summary>
/// <param name="Columns">Output columns, contiguous.</param>
/// <param name="Input">Input [N, C, H, W], contiguous.</param>
/// <param name="Offset">Offsets, contiguous.</param>
/// <param name="Mask">Modulation mask, contiguous, or null.</param>
/// <param name="Geometry">The convolution's geometry.</param>
public readonly record struct DeformIm2ColArgs(StridedView Columns, StridedView Input, StridedView Offset,
    StridedView? Mask, DeformGeometry Geometry);

/// <summary>
/// Operands of <see cref="FusedOps.DeformCol2Im"/>: gradInput [N, C, H, W] += the transpose of DeformIm2Col applied to
/// gradColumns (caller zero-fills gradInput).
/// </summary>
/// <param name="GradInput">Input gradient [N, C, H, W], contiguous, accumulated into.</param>
/// <param name="GradColumns">Column gradient [C·KH·KW, N·OutH·OutW], contiguous.</param>
/// <param name="Offset">Offsets, contiguous.</param>
/// <param name="Mask">Modulation mask, contiguous, or null.</param>
/// <param name="Geometry">The convolution's geometry.</param>
public readonly record struct DeformCol2ImArgs(StridedView GradInput, StridedView GradColumns, StridedView Offset,
    StridedView? Mask, DeformGeometry Geometry);

/// <summary>
/// Operands of <see cref="FusedOps.DeformCol2ImCoord"/>: gradOffset [N, 2·OG·KH·KW, OutH, OutW] and gradMask
/// [N, OG·KH·KW, OutH, OutW] (written, not accumulated) from gradColumns, input, offset and mask: torchvision's
/// deformable_col2im_coord (gradients of the bilinear weights, one-sided at integer positions exactly as torchvision's
/// get_coordinate_weight).
/// </summary>
/// <param name="GradOffset">Offset gradient, contiguous, written.</param>
/// <param name="GradMask">Mask gradient, contiguous, written, or null (no mask, or its gradient not needed).</param>
/// <param name="GradColumns">Column gradient [C·KH·KW, N·OutH·OutW], contiguous.</param>
/// <param name="Input">Input [N, C, H, W], contiguous.</param>
/// <param name="Offset">Offsets, contiguous.</param>
/// <param name="Mask">Modulation mask, contiguous, or null.</param>
/// <param name="Geometry">The convolution's geometry.</param>
public readonly record struct DeformCol2ImCoordArgs(StridedView GradOffset, StridedView? GradMask, StridedView GradColumns,
    StridedView Input, StridedView Offset, StridedView? Mask, DeformGeometry Geometry);

public static partial class FusedOps
{
    /// <summary>Deformable im2col (see <see cref="DeformIm2ColArgs"/>).</summary>
    public static readonly CustomOp<DeformIm2ColArgs> DeformIm2Col = new DeformIm2ColOp();

    /// <summary>Deformable col2im: the input gradient of <see cref="DeformIm2Col"/> (see <see cref="DeformCol2ImArgs"/>).</summary>
    public static readonly CustomOp<DeformCol2ImArgs> DeformCol2Im = new DeformCol2ImOp();

    /// <summary>The offset and mask gradients of <see cref="DeformIm2Col"/> (see <see cref="DeformCol2ImCoordArgs"/>).</summary>
    public static readonly CustomOp<DeformCol2ImCoordArgs> DeformCol2ImCoord = new DeformCol2ImCoordOp();
}

internal sealed class DeformIm2ColOp : CustomOp<DeformIm2ColArgs>
{
    public override string Name => "deform_conv2d";

    protected override void Cpu(CpuBackend cpu, in DeformIm2ColArgs a) => DTypeDispatch.Float(a.Input.DType, Name, new Kernel(a));

    protected override void Gpu(GpuBackend gpu, in DeformIm2ColArgs a) => gpu.DeformIm2Col(a);

    private readonly struct Kernel(DeformIm2ColArgs a) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> => CpuDeformConv.Im2Col<T>(a);
    }
}

internal sealed class DeformCol2ImOp : CustomOp<DeformCol2ImArgs>
{
    public override string Name => "deform_conv2d";

    protected override void Cpu(CpuBackend cpu, in DeformCol2ImArgs a) => DTypeDispatch.Float(a.GradInput.DType, Name, new Kernel(a));

    protected override void Gpu(GpuBackend gpu, in DeformCol2ImArgs a) => gpu.DeformCol2Im(a);

    private readonly struct Kernel(DeformCol2ImArgs a) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> => CpuDeformConv.Col2Im<T>(a);
    }
}

internal sealed class DeformCol2ImCoordOp : CustomOp<DeformCol2ImCoordArgs>
{
    public override string Name => "deform_conv2d";

    protected override void Cpu(CpuBackend cpu, in DeformCol2ImCoordArgs a) => DTypeDispatch.Float(a.Input.DType, Name, new Kernel(a));

    protected override void Gpu(GpuBackend gpu, in DeformCol2ImCoordArgs a) => gpu.DeformCol2ImCoord(a);

    private readonly struct Kernel(DeformCol2ImCoordArgs a) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> => CpuDeformConv.Col2ImCoord<T>(a);
    }
}
