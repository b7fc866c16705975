using Engine.Kernels.Ptx;

namespace Engine.Kernels.Gpu;

/// <summary>Which hand-written LRN kernels <see cref="GpuBackend"/> launches (src/Kernels/Gpu/Kernels/lrn.ptx).</summary>
public enum LrnKernels
{
    /// <summary>One thread per (sample, spatial) column sliding the window along the channels: each element read once per pass.</summary>
    Sliding,

    /// <summary>One thread per output recomputing its whole window (size loads forward, size² backward): the baseline.</summary>
    Simple,
}

// Local response normalisation across channels: the hand-written kernels of lrn.ptx (float32 and float64).
public sealed partial class GpuBackend
{
    private const string LrnModule = "lrn";
    private const int LrnBlock = 256;
    private const int LrnMaxGridY = 65535;
    private const int LrnMaxShared = 48 * 1024;   // dynamic shared memory without an opt-in attribute

    /// <summary>The LRN kernels to launch: <see cref="LrnKernels.Sliding"/> (the default) or the simple baseline.</summary>
    public LrnKernels LrnKernels { get; set; } = LrnKernels.Sliding;

    /// <inheritdoc/>
    public void LrnForward(LrnParams args, in StridedView y, in StridedView x)
    {
        var (n, c, s, size, alpha, beta, k) = args;
        const string op = "local_response_norm";
        bool f32 = CheckLrn(op, n, c, s, size, [y, x]);
        ulong xa = Addr(x, op), ya = Addr(y, op);
        if ((long)n * c * s == 0) return;
        bool simple = LrnKernels == LrnKernels.Simple;
        var p = new ParamBuffer().U64(xa).U64(ya).U32((uint)n).U32((uint)c).U32((uint)s).U32((uint)LrnWindow(size, c));
        LrnScalars(p, f32, alpha / size, k, -beta);
        int block = LrnBlockFor(s);
        LaunchLrn(simple ? "lrn_forward_simple" : "lrn_forward", f32, s, block, simple ? (long)n * c : n, 0, p);
    }

    /// <inheritdoc/>
    public void LrnBackward(LrnParams args, in StridedView dx, in StridedView dy, in StridedView x, in StridedView y)
    {
        var (n, c, s, size, alpha, beta, k) = args;
        const string op = "local_response_norm_backward";
        bool f32 = CheckLrn(op, n, c, s, size, [dx, dy, x, y]);
        ulong xa = Addr(x, op), ya = Addr(y, op), dya = Addr(dy, op), dxa = Addr(dx, op);
        if ((long)n * c * s == 0) return;
        int elem = f32 ? 4 : 8;
        int block = LrnBlockFor(s);
        // The sliding kernel keeps a ring of 2·size values per thread in shared memory: fewer threads per block for
        // a wide window, and the simple kernel beyond what 32 threads can hold (size > 192 in float32, > 96 in float64).
        int win = LrnWindow(size, c);
        int fit = (int)Math.Min(LrnBlock, LrnMaxShared / (2L * win * elem) / 32 * 32);
        bool simple = LrnKernels == LrnKernels.Simple || fit < 32;
        var p = new ParamBuffer().U64(xa);
        if (simple) p.U64(ya);
        p.U64(dya).U64(dxa).U32((uint)n).U32((uint)c).U32((uint)s).U32((uint)win);
        LrnScalars(p, f32, alpha / size, k, -beta);
        double coef = -2 * alpha * beta / size;
        if (f32) p.F32((float)coef); else p.F64(coef);
        if (simple) LaunchLrn("lrn_backward_simple", f32, s, block, (long)n * c, 0, p);
        else
        {
            block = Math.Min(block, fit);
            LaunchLrn("lrn_backward", f32, s, block, n, 2 * win * block * elem, p);
        }
    }

    // The window the kernels walk: past 2C + 2 channels every window already covers all C, so a wider one is cut to
    // 2C + 1 (odd) or 2C + 2 (even), which keeps lo, hi ≥ C and the parity (α/size keeps the caller's size).
    private static int LrnWindow(int size, int c) => size <= 2L * c + 2 ? size : size % 2 == 1 ? 2 * c + 1 : 2 * c + 2;

    // Float32 kernels take the scalars as the CPU op rounds them (T.CreateTruncating of the double).
    private static void LrnScalars(ParamBuffer p, bool f32, double alphaN, double k, double negBeta)
    {
        if (f32) p.F32((float)alphaN).F32((float)k).F32((float)negBeta);
        else p.F64(alphaN).F64(k).F64(negBeta);
    }

    // Threads along the spatial axis: 256, or the spatial size rounded up to a warp when smaller.
    private static int LrnBlockFor(int s) => Math.Min(LrnBlock, (s + 31) / 32 * 32);

    private void LaunchLrn(string kernel, bool f32, int s, int block, long rows, int sharedBytes, ParamBuffer p)
    {
        var fn = EmbeddedKernel(LrnModule, kernel + (f32 ? "_f32" : "_f64"));
        Dim3 grid = ((s + block - 1) / block, (int)Math.Min(rows, LrnMaxGridY));
        Launch(fn, grid, block, sharedBytes, p);
    }

    // What the kernels assume, checked before any launch: float32 or float64 throughout, contiguous [N, C, S] views,
    // a window of at least one channel, and N·C within the kernels' 32-bit row index. Returns true for float32.
    private static bool CheckLrn(string op, int n, int c, int s, int size, StridedView[] views)
    {
        if (size < 1) throw new ArgumentValueException(op, $"size must be at least 1, got {size}");
        if (n < 0 || c < 0 || s < 0) throw new ShapeException(op, $"negative extent in [N, C, S] = [{n}, {c}, {s}]");
        if ((long)n * c > int.MaxValue) throw new ShapeException(op, $"N·C = {(long)n * c} exceeds {int.MaxValue}");
        var dt = views[0].DType;
        if (dt != DType.Float32 && dt != DType.Float64) throw new DTypeException(op, $"expected float32 or float64, got {dt.Name()}");
        foreach (var v in views)
        {
            if (v.DType != dt) throw new DTypeException(op, $"mixed dtypes {dt.Name()} and {v.DType.Name()}");
            if (!v.IsContiguous) throw new ShapeException(op, $"expects contiguous operands, got shape {ShapeUtil.Format(v.Shape)} with strides {ShapeUtil.Format(v.Strides)}");
            if (v.NumEl != (long)n * c * s) throw new ShapeException(op, $"operand of {v.NumEl} elements for [N, C, S] = [{n}, {c}, {s}]");
        }
        return dt == DType.Float32;
    }
}
