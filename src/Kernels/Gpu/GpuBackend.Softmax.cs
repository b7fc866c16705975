namespace Engine.Kernels.Gpu;

/// <summary>Which kernel of <c>softmax.ptx</c> runs a softmax over rows (see <see cref="GpuBackend.Softmax(in StridedView, in StridedView, bool, double, SoftmaxKernel)"/>).</summary>
public enum SoftmaxKernel
{
    /// <summary>Chosen by row length: warp per row (n ≤ 1024; backward ≤ 512), cached block per row (fits in shared memory), else online.</summary>
    Auto,
    /// <summary>One thread per row, three passes (backward two): the teaching version, slow.</summary>
    Simple,
    /// <summary>One warp per row, the row in registers (n ≤ 1024; backward n ≤ 512).</summary>
    Warp,
    /// <summary>One block per row, the row cached in shared memory: one read and one write per element (n ≤ <see cref="GpuBackend.SoftmaxCachedMax"/>; backward half that).</summary>
    Block,
    /// <summary>One block per row, online max/sum in one read pass, a second read to write: any n.</summary>
    Online,
}

// Softmax and log-softmax of scale·x over the last dim: float32 runs the hand-written kernels of softmax.ptx; float64 falls back to
// the CPU kernel (on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    private const string SoftmaxModule = "softmax";

    /// <summary>Longest float32 row the forward block kernel caches in shared memory: 48 KiB (no opt-in) less room for the static shared variables.</summary>
    public const int SoftmaxCachedMax = (48 * 1024 - 512) / 4;

    /// <inheritdoc/>
    public void Softmax(in StridedView dst, in StridedView src, bool log, double scale) => Softmax(dst, src, log, scale, SoftmaxKernel.Auto);

    /// <inheritdoc/>
    public void SoftmaxBackward(in StridedView dst, in StridedView grad, in StridedView y, bool log, double scale) =>
        SoftmaxBackward(dst, grad, y, log, scale, SoftmaxKernel.Auto);

    /// <summary>
    /// <see cref="IBackend.Softmax"/> with the kernel chosen by the caller (tests and benchmarks compare them); float64
    /// always takes the CPU path.
    /// </summary>
    /// <exception cref="ArgumentValueException">The kernel cannot take rows of this length.</exception>
    public void Softmax(in StridedView dst, in StridedView src, bool log, double scale, SoftmaxKernel kernel)
    {
        const string op = "softmax";
        if (src.DType != DType.Float32)
        {
            Cpu(op).Softmax(dst, src, log, scale);
            return;
        }
        var (rows, n) = RowsOf(src, op);
        ulong pd = Addr(dst, op), ps = Addr(src, op);
        if (rows == 0 || n == 0) return;
        kernel = Pick(kernel, n, warpMax: 1024, cachedMax: SoftmaxCachedMax, op);
        float k2 = (float)(scale * 1.4426950408889634), k = (float)scale;
        uint lg = log ? 1u : 0u;
        var p = new ParamBuffer().U64(pd).U64(ps).U32((uint)rows).U32((uint)n).F32(k2).F32(k).U32(lg);
        switch (kernel)
        {
            case SoftmaxKernel.Simple:
                Launch(HandWritten(SoftmaxModule, "softmax_simple_f32"), Blocks(rows, 256), 256, 0, p);
                break;
            case SoftmaxKernel.Warp:
                Launch(HandWritten(SoftmaxModule, $"softmax_warp{WarpValues(n)}_f32"), Blocks(rows, 8), 256, 0, p);
                break;
            default:
                bool cached = kernel == SoftmaxKernel.Block;
                p.U32(cached ? 1u : 0u);
                Launch(HandWritten(SoftmaxModule, "softmax_block_f32"), (int)rows, RowBlock(n), cached ? n * 4 : 0, p);
                break;
        }
    }

    /// <summary><see cref="IBackend.SoftmaxBackward"/> with the kernel chosen by the caller; float64 always takes the CPU path.</summary>
    /// <exception cref="ArgumentValueException">The kernel cannot take rows of this length.</exception>
    public void SoftmaxBackward(in StridedView dst, in StridedView grad, in StridedView y, bool log, double scale, SoftmaxKernel kernel)
    {
        const string op = "softmax_backward";
        if (y.DType != DType.Float32)
        {
            Cpu(op).SoftmaxBackward(dst, grad, y, log, scale);
            return;
        }
        var (rows, n) = RowsOf(y, op);
        ulong pd = Addr(dst, op), pg = Addr(grad, op), py = Addr(y, op);
        if (rows == 0 || n == 0) return;
        kernel = Pick(kernel, n, warpMax: 512, cachedMax: SoftmaxCachedMax / 2, op);
        var p = new ParamBuffer().U64(pd).U64(pg).U64(py).U32((uint)rows).U32((uint)n).F32((float)scale).U32(log ? 1u : 0u);
        switch (kernel)
        {
            case SoftmaxKernel.Simple:
                Launch(HandWritten(SoftmaxModule, "softmax_backward_simple_f32"), Blocks(rows, 256), 256, 0, p);
                break;
            case SoftmaxKernel.Warp:
                Launch(HandWritten(SoftmaxModule, $"softmax_backward_warp{WarpValues(n)}_f32"), Blocks(rows, 8), 256, 0, p);
                break;
            default:
                bool cached = kernel == SoftmaxKernel.Block;
                p.U32(cached ? 1u : 0u);
                Launch(HandWritten(SoftmaxModule, "softmax_backward_block_f32"), (int)rows, RowBlock(n), cached ? n * 8 : 0, p);
                break;
        }
    }

    private static (long Rows, int N) RowsOf(in StridedView v, string op)
    {
        long n = v.Shape.Length == 0 ? 1 : v.Shape[^1];
        long rows = n == 0 ? 0 : v.NumEl / n;
        if (n > int.MaxValue / 8 || rows > int.MaxValue)
            throw new ShapeException(op, $"rows of {n} elements × {rows} rows exceed the GPU kernels' 32-bit indexing");
        return (rows, (int)n);
    }

    private static SoftmaxKernel Pick(SoftmaxKernel kernel, int n, int warpMax, int cachedMax, string op)
    {
        if (kernel == SoftmaxKernel.Auto) return n <= warpMax ? SoftmaxKernel.Warp : n <= cachedMax ? SoftmaxKernel.Block : SoftmaxKernel.Online;
        if (kernel == SoftmaxKernel.Warp && n > warpMax || kernel == SoftmaxKernel.Block && n > cachedMax)
            throw new ArgumentValueException(op, $"the {kernel} kernel takes rows of at most {(kernel == SoftmaxKernel.Warp ? warpMax : cachedMax)} elements, got {n}");
        return kernel;
    }

    // The smallest unrolled warp kernel that holds the row: values per lane.
    private static int WarpValues(int n) => n <= 128 ? 4 : n <= 512 ? 16 : 32;

    // Threads of a block-per-row launch: about 16 elements per thread, 128 to 1024 threads, whole warps.
    private static int RowBlock(int n) => Math.Clamp((n / 16 + 31) / 32 * 32, 128, 1024);

    private static int Blocks(long items, int perBlock) => (int)((items + perBlock - 1) / perBlock);
}
