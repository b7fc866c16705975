namespace Engine.Kernels.Cpu;

/// <summary>A kernel's work on one row: n elements starting at each operand's offset.</summary>
public interface IRowOp
{
    /// <summary>Processes one row. <paramref name="offsets"/> and <paramref name="strides"/> hold one entry per operand.</summary>
    void Row(ReadOnlySpan<long> offsets, long n, ReadOnlySpan<long> strides);
}

/// <summary>
/// Walks several strided operands of one shape (broadcast operands carry stride 0) as a sequence of rows.
/// Adjacent dimensions that are laid out compatibly in every operand are merged first, so a contiguous
/// or simply broadcast operation becomes one long row (or a few), which the row kernels vectorise.
/// </summary>
public sealed class RowPlan
{
    private const long ParallelThreshold = 1 << 15;
    private readonly long[] _outerShape;
    private readonly long[][] _outerStrides; // [dim][operand]

    /// <summary>Elements per row.</summary>
    public long RowLength { get; }
    /// <summary>Number of rows.</summary>
    public long Rows { get; }
    /// <summary>Stride of each operand along the row.</summary>
    public long[] InnerStrides { get; }
    /// <summary>Number of operands.</summary>
    public int Operands { get; }

    private RowPlan(long[] outerShape, long[][] outerStrides, long rowLength, long[] innerStrides)
    {
        _outerShape = outerShape; _outerStrides = outerStrides; RowLength = rowLength; InnerStrides = innerStrides;
        Operands = innerStrides.Length;
        long rows = 1;
        foreach (var s in outerShape) rows *= s;
        Rows = rows;
    }

    /// <summary>Plans a walk over <paramref name="shape"/> for operands with the given strides.</summary>
    public static RowPlan Create(ReadOnlySpan<long> shape, params long[][] strides)
    {
        int ops = strides.Length;
        var dims = new List<long>(shape.Length);
        var st = new List<long[]>(shape.Length);
        bool empty = false;
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 0) empty = true;
            if (shape[d] == 1) continue;
            var s = new long[ops];
            for (int o = 0; o < ops; o++) s[o] = strides[o][d];
            if (dims.Count > 0)
            {
                var prev = st[^1];
                bool merge = true;
                for (int o = 0; o < ops; o++) if (prev[o] != s[o] * shape[d]) { merge = false; break; }
                if (merge) { dims[^1] *= shape[d]; for (int o = 0; o < ops; o++) prev[o] = s[o]; continue; }
            }
            dims.Add(shape[d]); st.Add(s);
        }
        if (empty) return new RowPlan([0], [new long[ops]], 0, new long[ops]);
        if (dims.Count == 0) return new RowPlan([], [], 1, new long[ops]);
        long rowLen = dims[^1];
        var inner = st[^1];
        dims.RemoveAt(dims.Count - 1); st.RemoveAt(st.Count - 1);
        return new RowPlan(dims.ToArray(), st.ToArray(), rowLen, inner);
    }

    /// <summary>
    /// Runs <paramref name="op"/> over every row. Large work is split over cores: by rows, or, when there are
    /// fewer rows than cores, by chunks within each row (the op must then treat its elements independently;
    /// callers that accumulate across a row pass <paramref name="allowParallel"/> = false).
    /// </summary>
    public void Run<TOp>(TOp op, bool allowParallel = true) where TOp : struct, IRowOp
    {
        if (Rows == 0 || RowLength == 0) return;
        long total = Rows * RowLength;
        int cores = Environment.ProcessorCount;
        if (!allowParallel || total < ParallelThreshold || cores == 1) { RunRange(op, 0, Rows); return; }
        if (Rows >= cores)
        {
            int workers = (int)Math.Min(cores, Rows);
            long per = (Rows + workers - 1) / workers;
            Parallel.For(0, workers, w =>
            {
                long b = w * per, e = Math.Min(Rows, b + per);
                if (b < e) RunRange(op, b, e);
            });
            return;
        }
        // Few long rows (a contiguous tensor is one row): cut each row into chunks of at least 16K elements.
        long chunks = Math.Max(1, Math.Min((cores * 2 + Rows - 1) / Rows, RowLength / (1 << 14)));
        long chunkLen = (RowLength + chunks - 1) / chunks;
        Parallel.For(0, Rows * chunks, t =>
        {
            long r = t / chunks, c = t % chunks;
            long start = c * chunkLen, len = Math.Min(chunkLen, RowLength - start);
            if (len <= 0) return;
            Span<long> off = stackalloc long[Operands];
            RowOffsets(r, off);
            for (int o = 0; o < Operands; o++) off[o] += start * InnerStrides[o];
            op.Row(off, len, InnerStrides);
        });
    }

    private void RowOffsets(long row, Span<long> off)
    {
        off.Clear();
        long rem = row;
        for (int d = _outerShape.Length - 1; d >= 0; d--)
        {
            long i = rem % _outerShape[d]; rem /= _outerShape[d];
            for (int o = 0; o < Operands; o++) off[o] += i * _outerStrides[d][o];
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void RunRange<TOp>(TOp op, long begin, long end) where TOp : struct, IRowOp
    {
        int nd = _outerShape.Length, ops = Operands;
        Span<long> idx = stackalloc long[Math.Max(nd, 1)];
        Span<long> off = stackalloc long[ops];
        RowOffsets(begin, off);
        long rem = begin;
        for (int d = nd - 1; d >= 0; d--) { idx[d] = rem % _outerShape[d]; rem /= _outerShape[d]; }
        ReadOnlySpan<long> inner = InnerStrides;
        for (long r = begin; r < end; r++)
        {
            op.Row(off, RowLength, inner);
            for (int d = nd - 1; d >= 0; d--)
            {
                var s = _outerStrides[d];
                if (++idx[d] < _outerShape[d]) { for (int o = 0; o < ops; o++) off[o] += s[o]; break; }
                for (int o = 0; o < ops; o++) off[o] -= s[o] * (_outerShape[d] - 1);
                idx[d] = 0;
            }
        }
    }
}
