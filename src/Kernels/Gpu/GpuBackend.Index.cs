namespace Engine.Kernels.Gpu;

// Index ops: gather, scatter_add, index_select, index_add as PTX. Generated kernels (IndexPtxGen): gather_* for gather
// and index_select, scatter_add_* for scatter_add and index_add (the 1-D index of the latter two is a broadcast view of
// the iteration shape). Hand-written (Kernels/index_rows.ptx): index_select of whole contiguous rows along dim 0.
public sealed partial class GpuBackend
{
    /// <summary>Threads per block of the row-copy index_select kernel.</summary>
    private const int IndexRowBlock = 256;

    /// <summary>Use the 64-bit element index kernels even when 32 bits suffice (so tests run them on small tensors).</summary>
    internal bool WideIndexKernels { get; set; }

    /// <inheritdoc/>
    public void Gather(in StridedView dst, in StridedView src, in StridedView index, int dim)
    {
        if (!GatherKernel("gather", dst, src, index, dim)) Cpu("gather").Gather(dst, src, index, dim);
    }

    /// <inheritdoc/>
    /// <remarks>float32/float64 sums use atomics, so their order (and last bits) varies between runs on a real GPU.</remarks>
    public void ScatterAdd(in StridedView dst, in StridedView index, in StridedView src, int dim)
    {
        if (!ScatterKernel("scatter_add", dst, index, src, dim)) Cpu("scatter_add").ScatterAdd(dst, index, src, dim);
    }

    /// <inheritdoc/>
    public void IndexSelect(in StridedView dst, in StridedView src, in StridedView index, int dim)
    {
        if (RowSelect(dst, src, index, dim) != 0) return;
        if (!GatherKernel("index_select", dst, src, AlongDim(index, dst.Shape, dim), dim)) Cpu("index_select").IndexSelect(dst, src, index, dim);
    }

    /// <inheritdoc/>
    /// <remarks>float32/float64 sums use atomics, so their order (and last bits) varies between runs on a real GPU.</remarks>
    public void IndexAdd(in StridedView dst, in StridedView index, in StridedView src, int dim)
    {
        if (!ScatterKernel("index_add", dst, AlongDim(index, src.Shape, dim), src, dim)) Cpu("index_add").IndexAdd(dst, index, src, dim);
    }

    /// <summary>The 1-D <paramref name="index"/> seen as a tensor of <paramref name="shape"/> that varies only along <paramref name="dim"/>.</summary>
    private static StridedView AlongDim(in StridedView index, long[] shape, int dim)
    {
        var strides = new long[shape.Length];
        strides[dim] = index.Strides[0];
        return index.With(shape, strides);
    }

    private bool GatherKernel(string op, in StridedView dst, in StridedView src, in StridedView index, int dim)
    {
        if (src.DType != dst.DType) throw new DTypeException(op, $"dst is {dst.DType.Name()} but src is {src.DType.Name()}");
        int bytes = src.DType.ElementSize();
        return IndexLaunch(op, dst, index, src, indexDst: false, dim, (rank, wide) => $"gather_b{bytes * 8}_r{rank}_{(wide ? "w64" : "w32")}",
            (name, rank, wide) => IndexPtxGen.Gather(name, rank, bytes, wide));
    }

    private bool ScatterKernel(string op, in StridedView dst, in StridedView index, in StridedView src, int dim)
    {
        if (src.DType != dst.DType) throw new DTypeException(op, $"dst is {dst.DType.Name()} but src is {src.DType.Name()}");
        if (dst.DType is not (DType.Float32 or DType.Float64 or DType.Int64 or DType.Int32 or DType.UInt8))
            throw new DTypeException(op, $"dtype {dst.DType.Name()} is not supported (float32, float64, int64, int32, uint8)");
        var t = PtxGen.Of(dst.DType);
        return IndexLaunch(op, dst, index, src, indexDst: true, dim, (rank, wide) => $"scatter_add_{PtxGen.TypeSuffix(t)}_r{rank}_{(wide ? "w64" : "w32")}",
            (name, rank, wide) => IndexPtxGen.ScatterAdd(name, rank, t, wide));
    }

    /// <summary>
    /// Launches a generated index kernel over the shape of <paramref name="index"/> (which is the shape of the
    /// non-indexed operand): operands dst, index, src; dst (<paramref name="indexDst"/>) or src is the one addressed
    /// through the index along <paramref name="dim"/>. False when the coalesced rank exceeds <see cref="PtxGen.MaxRank"/>.
    /// </summary>
    private bool IndexLaunch(string op, in StridedView dst, in StridedView index, in StridedView src, bool indexDst, int dim,
        Func<int, bool, string> nameOf, Func<string, int, bool, string> generate)
    {
        if (index.DType != DType.Int64) throw new DTypeException(op, $"index must be int64, got {index.DType.Name()}");
        ulong pd = Addr(dst, op), pi = Addr(index, op), ps = Addr(src, op);
        long total = index.NumEl;
        if (total == 0) return true;
        var dS = (long[])dst.Strides.Clone();
        var sS = (long[])src.Strides.Clone();
        (indexDst ? dS : sS)[dim] = 0;   // the indexed operand moves by index·sdim, not by its coordinate along dim
        var (dims, strides) = Coalesce(index.Shape, [dS, index.Strides, sS]);
        if (dims.Length > PtxGen.MaxRank) return false;
        int rank = dims.Length;
        long blocks = Math.Min((total + BlockSize - 1) / BlockSize, MaxBlocks);
        bool wide = WideIndexKernels || total + blocks * BlockSize > uint.MaxValue;
        string name = nameOf(rank, wide);
        var fn = _functions.GetOrAdd(name, n => _runtime.LoadModule(n, generate(n, rank, wide)).GetFunction(n));
        var p = new ParamBuffer().U64((ulong)total).U64(pd).U64(pi).U64(ps);
        foreach (var d in dims) p.U64((ulong)d);
        foreach (var s in strides)
            foreach (var st in s) p.S64(st);
        var indexed = indexDst ? dst : src;
        p.S64(indexed.Strides[dim]).U64((ulong)indexed.Shape[dim]);
        Launch(fn, (int)blocks, BlockSize, 0, p);
        return true;
    }

    /// <summary>
    /// index_select along a dim with only size-1 dims before it, of rows (everything after dim) contiguous in both src and
    /// dst: the hand-written row copy with 16- or 4-byte accesses. Returns the access width used (16 or 4; also when there was
    /// nothing to copy), or 0 (nothing launched) when the layout or alignment does not allow it.
    /// </summary>
    internal int RowSelect(in StridedView dst, in StridedView src, in StridedView index, int dim)
    {
        const string op = "index_select";
        if (index.DType != DType.Int64 || src.DType != dst.DType) return 0;
        for (int d = 0; d < dim; d++) if (src.Shape[d] != 1) return 0;
        if (!ShapeUtil.IsContiguous(src.Shape.AsSpan(dim + 1), src.Strides.AsSpan(dim + 1))
            || !ShapeUtil.IsContiguous(dst.Shape.AsSpan(dim + 1), dst.Strides.AsSpan(dim + 1))) return 0;
        int es = src.DType.ElementSize();
        long rowBytes = es;
        for (int d = dim + 1; d < src.Rank; d++) rowBytes *= src.Shape[d];
        long rows = index.Shape[0];
        ulong pd = Addr(dst, op), ps = Addr(src, op), pi = Addr(index, op);
        long sStride = src.Strides[dim] * es, dStride = dst.Strides[dim] * es;
        bool Fits(int unit) => rowBytes % unit == 0 && pd % (ulong)unit == 0 && ps % (ulong)unit == 0 && sStride % unit == 0 && dStride % unit == 0;
        int chunk = Fits(16) ? 16 : Fits(4) ? 4 : 0;
        if (chunk == 0 || rowBytes / chunk > int.MaxValue) return 0;
        if (rows == 0 || rowBytes == 0) return chunk;
        int chunks = (int)(rowBytes / chunk);
        int tx = (int)Math.Min(IndexRowBlock, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)chunks));
        int ty = IndexRowBlock / tx;
        long blocks = Math.Min((rows + ty - 1) / ty, 8 * (long)MaxBlocks);
        var fn = EmbeddedKernel("index_rows", chunk == 16 ? "index_rows_v4" : "index_rows_b32");
        var p = new ParamBuffer().U64(pd).U64(ps).U64(pi).U64((ulong)rows).S64(index.Strides[0]).U64((ulong)src.Shape[dim])
            .S64(sStride).S64(dStride).U32((uint)chunks);
        Launch(fn, (int)blocks, (tx, ty), 0, p);
        return chunk;
    }
}
