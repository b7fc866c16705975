using Engine.Kernels.Fused;
using Engine.Kernels.Ptx;

namespace Engine.Kernels.Gpu;

/// <summary>Which hand-written deformable-convolution kernels <see cref="GpuBackend"/> launches (src/Kernels/Gpu/Kernels/deform_conv.ptx).</summary>
public enum DeformKernels
{
    /// <summary>A thread per (column, offset group, tap) computing the sample point once for a chunk of channels (the default).</summary>
    PerTap,

    /// <summary>A thread per output element, as torchvision's kernels: the baseline.</summary>
    Simple,
}

// Deformable convolution (torchvision.ops.deform_conv2d): the hand-written kernels of Kernels/deform_conv.ptx,
// float32 and float64, behind FusedOps.DeformIm2Col, DeformCol2Im and DeformCol2ImCoord.
public sealed partial class GpuBackend
{
    private const string DeformModule = "deform_conv";
    private const int DeformBlock = 256;
    private const int DeformMaxGrid = 65535;
    private const int DeformChunk = 16;   // channels per thread in the per-tap im2col and col2im

    /// <summary>The deformable-convolution kernels to launch: <see cref="DeformKernels.PerTap"/> (the default) or the simple baseline.</summary>
    public DeformKernels DeformKernels { get; set; } = DeformKernels.PerTap;

    /// <summary>The GPU implementation of <see cref="FusedOps.DeformIm2Col"/>.</summary>
    internal void DeformIm2Col(in DeformIm2ColArgs a) =>
        DeformImageAndColumns("deform_conv2d", "deform_im2col", a.Geometry, a.Input, a.Columns, "columns", a.Offset, a.Mask, columnsFirst: true,
            (long)a.Geometry.C * a.Geometry.N * a.Geometry.OutH * a.Geometry.OutW);

    /// <summary>The GPU implementation of <see cref="FusedOps.DeformCol2Im"/> (accumulates into GradInput with atomics).</summary>
    internal void DeformCol2Im(in DeformCol2ImArgs a) =>
        DeformImageAndColumns("deform_conv2d_backward", "deform_col2im", a.Geometry, a.GradInput, a.GradColumns, "gradient of the columns",
            a.Offset, a.Mask, columnsFirst: false, ColumnCount(a.Geometry));

    // im2col and col2im: an image-shaped operand, a column-shaped one (the kernel takes them in that order, or the
    // columns first), offsets and mask; `items` is the simple kernel's thread count.
    private void DeformImageAndColumns(string op, string kernel, in DeformGeometry g, in StridedView image, in StridedView columns,
        string columnsWhat, in StridedView offset, StridedView? mask, bool columnsFirst, long items)
    {
        bool f32 = CheckDeform(op, g, image, offset, mask, (columns, columnsWhat, ColumnCount(g)));
        ulong img = Addr(image, op), cols = Addr(columns, op), off = Addr(offset, op);
        ulong m = g.HasMask ? Addr(mask!.Value, op) : 0;
        var p = columnsFirst ? new ParamBuffer().U64(cols).U64(img) : new ParamBuffer().U64(img).U64(cols);
        LaunchDeform(kernel, f32, items, p.U64(off).U64(m), g, DeformChunk);
    }

    /// <summary>The GPU implementation of <see cref="FusedOps.DeformCol2ImCoord"/> (GradMask is written only with a mask).</summary>
    internal void DeformCol2ImCoord(in DeformCol2ImCoordArgs a)
    {
        const string op = "deform_conv2d_backward";
        var g = a.Geometry;
        long offsetCount = (long)g.N * 2 * g.OffsetGroups * g.KH * g.KW * g.OutH * g.OutW;
        bool f32 = CheckDeform(op, g, a.Input, a.Offset, a.Mask, (a.GradColumns, "gradient of the columns", ColumnCount(g)),
            (a.GradOffset, "offset gradient", offsetCount));
        bool gradMask = g.HasMask && a.GradMask is not null;
        if (gradMask) CheckDeformOperand(op, a.GradMask!.Value, "mask gradient", offsetCount / 2, a.Input.DType);
        ulong goff = Addr(a.GradOffset, op), gmask = gradMask ? Addr(a.GradMask!.Value, op) : 0;
        ulong gcols = Addr(a.GradColumns, op), input = Addr(a.Input, op), offset = Addr(a.Offset, op);
        ulong mask = g.HasMask ? Addr(a.Mask!.Value, op) : 0;
        LaunchDeform("deform_col2im_coord", f32, offsetCount,
            new ParamBuffer().U64(goff).U64(gmask).U64(gcols).U64(input).U64(offset).U64(mask), g, 0);
    }

    private static long ColumnCount(in DeformGeometry g) => (long)g.C * g.KH * g.KW * g.N * g.OutH * g.OutW;

    // Simple kernels: one thread per work item with a grid-stride loop; the kernels' 32-bit indices need every count
    // below 2^31 (checked by CheckDeform), so t + gridDim·blockDim never wraps. Per-tap kernels: grid (columns,
    // OG·KK taps, channel chunks of the group; 1 for col2im_coord, chunk 0), one thread per (column, tap, chunk).
    private void LaunchDeform(string kernel, bool f32, long items, ParamBuffer p, in DeformGeometry g, int chunk)
    {
        if (items == 0) return;
        p.U32((uint)g.N).U32((uint)g.C).U32((uint)g.H).U32((uint)g.W).U32((uint)g.KH).U32((uint)g.KW)
            .U32((uint)g.OutH).U32((uint)g.OutW).U32((uint)g.StrideH).U32((uint)g.StrideW).U32((uint)g.PadH).U32((uint)g.PadW)
            .U32((uint)g.DilationH).U32((uint)g.DilationW).U32((uint)g.OffsetGroups);
        long columns = (long)g.N * g.OutH * g.OutW, taps = (long)g.OffsetGroups * g.KH * g.KW;
        int cpg = g.C / g.OffsetGroups, c = chunk == 0 ? cpg : Math.Min(chunk, cpg);
        bool perTap = DeformKernels == DeformKernels.PerTap && taps <= DeformMaxGrid && (cpg + c - 1) / c <= DeformMaxGrid;
        Dim3 grid;
        if (perTap)
        {
            if (chunk != 0) p.U32((uint)c);
            grid = new Dim3((int)((columns + DeformBlock - 1) / DeformBlock), (int)taps, (cpg + c - 1) / c);
            kernel += "_tap";
        }
        else grid = new Dim3((int)Math.Min((items + DeformBlock - 1) / DeformBlock, DeformMaxGrid), 1, 1);
        Launch(EmbeddedKernel(DeformModule, kernel + (f32 ? "_f32" : "_f64")), grid, new Dim3(DeformBlock, 1, 1), 0, p);
    }

    // What the kernels assume, checked before any launch: a valid geometry, float32 or float64 throughout, contiguous
    // operands of the geometry's sizes (a mask exactly when HasMask), every index within 31 bits. Returns true for float32.
    private static bool CheckDeform(string op, in DeformGeometry g, in StridedView image, in StridedView offset, StridedView? mask,
        params (StridedView View, string What, long Count)[] columns)
    {
        if (g.N < 0 || g.C < 1 || g.H < 1 || g.W < 1 || g.KH < 1 || g.KW < 1 || g.OutH < 0 || g.OutW < 0)
            throw new ShapeException(op, $"bad geometry {g}");
        if (g.StrideH < 1 || g.StrideW < 1 || g.DilationH < 1 || g.DilationW < 1 || g.PadH < 0 || g.PadW < 0)
            throw new ArgumentValueException(op, $"stride and dilation must be positive and padding non-negative, got {g}");
        if (g.OffsetGroups < 1 || g.C % g.OffsetGroups != 0)
            throw new ArgumentValueException(op, $"{g.C} channels do not split into {g.OffsetGroups} offset groups");
        if (g.HasMask != mask.HasValue)
            throw new ArgumentValueException(op, g.HasMask ? "the geometry says a mask is given but none was passed" : "a mask was passed but the geometry has none");
        var dt = image.DType;
        if (dt is not (DType.Float32 or DType.Float64)) throw new DTypeException(op, $"expected float32 or float64, got {dt.Name()}");
        long plane = (long)g.OutH * g.OutW, taps = (long)g.OffsetGroups * g.KH * g.KW;
        CheckDeformOperand(op, image, "input", (long)g.N * g.C * g.H * g.W, dt);
        CheckDeformOperand(op, offset, "offset", g.N * 2 * taps * plane, dt);
        if (mask is { } m) CheckDeformOperand(op, m, "mask", g.N * taps * plane, dt);
        foreach (var (v, what, count) in columns) CheckDeformOperand(op, v, what, count, dt);
        // the largest 32-bit quantities the kernels form: column and offset element counts, input and one (oy·stride + i·dilation)
        long reach = (long)Math.Max(g.OutH, g.OutW) * Math.Max(g.StrideH, g.StrideW) + (long)Math.Max(g.KH, g.KW) * Math.Max(g.DilationH, g.DilationW);
        long largest = Math.Max(Math.Max(ColumnCount(g), (long)g.N * g.C * g.H * g.W), Math.Max(g.N * 2 * taps * plane, reach));
        if (largest > int.MaxValue - (long)DeformMaxGrid * DeformBlock)
            throw new ShapeException(op, $"geometry {g} is too large for the kernels' 32-bit indices");
        return dt == DType.Float32;
    }

    private static void CheckDeformOperand(string op, in StridedView v, string what, long count, DType dt)
    {
        if (v.DType != dt) throw new DTypeException(op, $"{what} is {v.DType.Name()} but the input is {dt.Name()}");
        if (!v.IsContiguous) throw new ShapeException(op, $"{what} must be contiguous, got shape {ShapeUtil.Format(v.Shape)} with strides {ShapeUtil.Format(v.Strides)}");
        if (v.NumEl != count) throw new ShapeException(op, $"{what} of shape {ShapeUtil.Format(v.Shape)} has {v.NumEl} elements; the geometry needs {count}");
    }
}
