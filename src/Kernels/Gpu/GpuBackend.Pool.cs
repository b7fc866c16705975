using System.Runtime.InteropServices;
using Engine.Kernels.Cuda;

namespace Engine.Kernels.Gpu;

// Pooling. Average pooling (ordinary, and adaptive when its windows are uniform) runs through cuDNN on a real GPU when
// CudnnPoolPlan maps the window tables onto a cuDNN pooling descriptor; every other geometry (ceil-mode partial windows,
// divisor_override, uneven adaptive windows, ...) and every geometry on the emulator runs the hand-written kernels of
// avg_pool.ptx, which follow the CPU kernel exactly (the backward gathers per input: deterministic, no atomics). Max pooling does not use cuDNN: cuDNN produces no argmax indices, and the engine's max-pool backward scatters
// through the int64 indices of the forward (the IBackend contract; cuDNN's backward would need x and y instead). So max
// pooling runs the hand-written kernels of max_pool.ptx, on the GPU and on the emulator alike: the forward walks the
// geometry's window tables (any padding, dilation, ceil mode, adaptive windows) and records the first maximum's index,
// the backward zeroes dx and adds each dy at its index atomically.
public sealed unsafe partial class GpuBackend
{
    private const int PoolBlock = 256, PoolMaxBlocks = 4096;

    // The window tables of pooling geometries on the device, uploaded once per distinct geometry and released by the
    // cache itself (bounded, least recently used), never left to the garbage collector.
    private DeviceTableCache? _tableCache;
    private DeviceTableCache Tables => LazyInitializer.EnsureInitialized(ref _tableCache, () => new DeviceTableCache(this));

    /// <summary>Pooling window tables held on the device (for tests).</summary>
    internal int CachedPoolTables => _tableCache?.Count ?? 0;

    /// <summary>A device copy of <paramref name="table"/> (int32), from the caching allocator.</summary>
    internal GpuStorage Upload(int[] table)
    {
        var s = Scratch(table.Length * 4L);
        if (table.Length > 0) _runtime.CopyHostToDevice(s.Address, MemoryMarshal.AsBytes(table.AsSpan()));
        return s;
    }

    // A key naming a table's content: kind, then every int.
    private static string TableKey(string kind, int[][] parts)
    {
        var sb = new System.Text.StringBuilder(kind);
        foreach (var part in parts)
        {
            sb.Append('|');
            foreach (int v in part) sb.Append(v).Append(',');
        }
        return sb.ToString();
    }

    /// <inheritdoc/>
    public void MaxPoolForward(PoolGeometry g, in StridedView y, in StridedView indices, in StridedView x)
    {
        const string op = "max_pool";
        string t = PoolType(x.DType, op);
        ulong xa = Addr(x, op), ya = Addr(y, op), ia = Addr(indices, op);
        long total = (long)g.Planes * g.OutPlane;
        if (total == 0) return;
        CheckPoolSize(total, g.InPlane, op);
        var tables = MaxPoolTables(g);
        var p = new ParamBuffer().U64(xa).U64(ya).U64(ia).U64(tables[0].Address).U64(tables[1].Address).U64(tables[2].Address)
            .U32((uint)total).U32((uint)g.OutSize[0]).U32((uint)g.OutSize[1]).U32((uint)g.OutSize[2])
            .U32((uint)g.In[1]).U32((uint)g.In[2]).U32((uint)g.InPlane)
            .U32((uint)g.Dilation[0]).U32((uint)g.Dilation[1]).U32((uint)g.Dilation[2]);
        Launch(EmbeddedKernel("max_pool", "max_pool_fwd_" + t), PoolBlocks(total), PoolBlock, 0, p);
    }

    /// <inheritdoc/>
    public void MaxPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy, in StridedView indices)
    {
        const string op = "max_pool_backward";
        string t = PoolType(dy.DType, op);
        ulong dxa = Addr(dx, op), dya = Addr(dy, op), ia = Addr(indices, op);
        Fill(dx, 0);
        long total = (long)g.Planes * g.OutPlane;
        if (total == 0) return;
        CheckPoolSize(total, g.InPlane, op);
        var p = new ParamBuffer().U64(dxa).U64(dya).U64(ia).U32((uint)total).U32((uint)g.OutPlane).U32((uint)g.InPlane);
        Launch(EmbeddedKernel("max_pool", "max_pool_bwd_" + t), PoolBlocks(total), PoolBlock, 0, p);
    }

    private static string PoolType(DType dt, string op) => dt switch
    {
        DType.Float32 => "f32",
        DType.Float64 => "f64",
        _ => throw new DTypeException(op, $"pooling runs float32 and float64, got {dt.Name()}"),
    };

    private static void CheckPoolSize(long total, long inPlane, string op)
    {
        // The kernels' grid-stride loop adds the grid size to a 32-bit index: keep index + stride below 2^32, or the
        // index wraps to a small value and the loop processes elements again (or never ends).
        if (total > uint.MaxValue - (long)PoolMaxBlocks * PoolBlock || inPlane > int.MaxValue)
            throw new DeviceException(op, $"{total} outputs exceed the kernel's 32-bit indexing");
    }

    private static int PoolBlocks(long total) => (int)Math.Min((total + PoolBlock - 1) / PoolBlock, PoolMaxBlocks);

    private GpuStorage[] MaxPoolTables(PoolGeometry g)
    {
        var host = new int[3][];
        for (int d = 0; d < 3; d++) host[d] = [.. g.WinStart[d], .. g.WinEnd[d]];
        return Tables.Get(TableKey("max", host), () => host);
    }

    /// <inheritdoc/>
    public void AvgPoolForward(PoolGeometry g, in StridedView y, in StridedView x)
    {
        const string op = "avg_pool";
        // cuDNN rejects zero dims, so an empty pooling (no planes) stays on the kernel path, which returns at once.
        if (CudaRuntimeOrNull is { } cuda && (long)g.Planes * g.OutPlane > 0 && CudnnPoolPlan.For(g, out _) is { } plan)
        {
            var (xdims, ydims, cdt) = PoolDims(plan, g, x.DType, op);
            ulong xa = Addr(x, op), ya = Addr(y, op);
            using var pd = CudnnDescriptor.Pooling(plan.Mode, plan.Window, plan.Pad, plan.Stride);
            using var xd = CudnnDescriptor.Tensor(cdt, xdims);
            using var yd = CudnnDescriptor.Tensor(cdt, ydims);
            byte* sc = stackalloc byte[16];
            Scalars(sc, x.DType);
            using var lib = cuda.EnterCudnn();
            Cudnn.Check(Cudnn.cudnnPoolingForward(lib.Handle, pd.Handle, sc, xd.Handle, xa, sc + 8, yd.Handle, ya), nameof(Cudnn.cudnnPoolingForward));
            CountLibraryCall();
            return;
        }
        string t = PoolType(x.DType, op);
        ulong xp = Addr(x, op), yp = Addr(y, op);
        long total = (long)g.Planes * g.OutPlane;
        if (total == 0) return;
        CheckPoolSize(total, g.InPlane, op);
        var tables = AvgPoolTables(g);
        var p = new ParamBuffer().U64(xp).U64(yp).U64(tables[0].Address).U64(tables[1].Address).U64(tables[2].Address)
            .U32((uint)total).U32((uint)g.OutSize[0]).U32((uint)g.OutSize[1]).U32((uint)g.OutSize[2])
            .U32((uint)g.In[1]).U32((uint)g.In[2]).U32((uint)g.InPlane)
            .U32((uint)g.Dilation[0]).U32((uint)g.Dilation[1]).U32((uint)g.Dilation[2]);
        Launch(EmbeddedKernel("avg_pool", "avg_pool_fwd_" + t), PoolBlocks(total), PoolBlock, 0, p);
    }

    /// <inheritdoc/>
    public void AvgPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy)
    {
        const string op = "avg_pool_backward";
        if (CudaRuntimeOrNull is { } cuda && (long)g.Planes * g.InPlane > 0 && CudnnPoolPlan.For(g, out _) is { } plan)
        {
            var (xdims, ydims, cdt) = PoolDims(plan, g, dy.DType, op);
            ulong dxa = Addr(dx, op), dya = Addr(dy, op);
            using var pd = CudnnDescriptor.Pooling(plan.Mode, plan.Window, plan.Pad, plan.Stride);
            using var xd = CudnnDescriptor.Tensor(cdt, xdims);
            using var yd = CudnnDescriptor.Tensor(cdt, ydims);
            byte* sc = stackalloc byte[16];
            Scalars(sc, dy.DType);
            using var lib = cuda.EnterCudnn();
            // Average pooling's gradient depends on dy only: the forward y and x that cudnnPoolingBackward takes (for max
            // pooling) are not read, so dy and dx stand in for them with the matching descriptors.
            Cudnn.Check(Cudnn.cudnnPoolingBackward(lib.Handle, pd.Handle, sc, yd.Handle, dya, yd.Handle, dya, xd.Handle, dxa, sc + 8, xd.Handle, dxa),
                nameof(Cudnn.cudnnPoolingBackward));
            CountLibraryCall();
            return;
        }
        string t = PoolType(dy.DType, op);
        ulong dxp = Addr(dx, op), dyp = Addr(dy, op);
        // One thread per input element gathers from the outputs whose windows hold it and writes dx once (no zeroing,
        // no atomics); inputs no window covers get 0.
        long total = (long)g.Planes * g.InPlane;
        if (total == 0) return;
        CheckPoolSize(total, g.InPlane, op);
        var tables = AvgPoolTables(g);
        var p = new ParamBuffer().U64(dxp).U64(dyp).U64(tables[0].Address).U64(tables[1].Address).U64(tables[2].Address)
            .U32((uint)total).U32((uint)g.In[0]).U32((uint)g.In[1]).U32((uint)g.In[2])
            .U32((uint)g.OutSize[0]).U32((uint)g.OutSize[1]).U32((uint)g.OutSize[2]).U32((uint)g.OutPlane)
            .U32((uint)g.Dilation[0]).U32((uint)g.Dilation[1]).U32((uint)g.Dilation[2]);
        Launch(EmbeddedKernel("avg_pool", "avg_pool_bwd_" + t), PoolBlocks(total), PoolBlock, 0, p);
    }

    // avg_pool.ptx's per-dim tables (int32 [start[out], end[out], divisor[out], lo[in], hi[in]]), uploaded once per
    // geometry like the max-pool tables. lo/hi bound the outputs whose windows contain each input (the backward's
    // gather range); the kernel re-checks each candidate against start/end/dilation, so the bounds need only enclose.
    private GpuStorage[] AvgPoolTables(PoolGeometry g)
    {
        var host = new int[3][];
        for (int d = 0; d < 3; d++) host[d] = AvgPoolTable(g.WinStart[d], g.WinEnd[d], g.Divisor[d], g.In[d]);
        return Tables.Get(TableKey("avg", host), () => host);
    }

    /// <summary>One dim's average-pooling table: start, end, divisor per output, then per input the half-open range
    /// [lo, hi) of outputs whose windows contain it (lo = hi = 0 where none does).</summary>
    internal static int[] AvgPoolTable(int[] start, int[] end, int[] divisor, int inSize)
    {
        int outs = start.Length;
        var table = new int[3 * outs + 2 * inSize];
        start.CopyTo(table, 0);
        end.CopyTo(table, outs);
        divisor.CopyTo(table, 2 * outs);
        Span<int> lo = table.AsSpan(3 * outs, inSize), hi = table.AsSpan(3 * outs + inSize, inSize);
        lo.Fill(int.MaxValue);
        for (int o = 0; o < outs; o++)
            for (int i = Math.Max(start[o], 0); i < Math.Min(end[o], inSize); i++)
            {
                lo[i] = Math.Min(lo[i], o);
                hi[i] = Math.Max(hi[i], o + 1);
            }
        for (int i = 0; i < inSize; i++) if (hi[i] == 0) lo[i] = 0;
        return table;
    }

    // The [planes, 1, spatial...] dims of x and y for cuDNN (each plane pooled on its own) and its data type.
    private static (int[] X, int[] Y, int DataType) PoolDims(CudnnPoolPlan plan, PoolGeometry g, DType dt, string op)
    {
        int cdt = CudnnDescriptor.DataType(dt, op);
        int first = 3 - plan.Spatial;
        var x = new int[plan.Spatial + 2];
        var y = new int[plan.Spatial + 2];
        x[0] = y[0] = g.Planes;
        x[1] = y[1] = 1;
        for (int i = 0; i < plan.Spatial; i++) { x[2 + i] = g.In[first + i]; y[2 + i] = g.OutSize[first + i]; }
        return (x, y, cdt);
    }
}
