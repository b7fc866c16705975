namespace Engine.Kernels.Cuda;

/// <summary>
/// How one operand of a strided-batched column-major GEMM is read: the op flag (0 = CUBLAS_OP_N, 1 = CUBLAS_OP_T), the
/// leading dimension and the stride between batch entries (0 repeats the matrix), all in elements.
/// </summary>
public readonly record struct GemmOperand(int Op, long Ld, long BatchStride);

/// <summary>
/// The cuBLAS call that computes the engine's row-major batched product dst[b] = x[b]·y[b] (x [B,M,K], y [B,K,N],
/// dst [B,M,N], any strides), planned without touching memory so it can be checked on the CPU.
/// </summary>
/// <remarks>
/// <para>A row-major matrix with row stride ld is the column-major matrix of its transpose with leading dimension ld. So
/// row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: cuBLAS gets m = N, n = M, k = K, its first operand is y and its second is
/// x. An operand whose elements along a row are adjacent (column stride 1) is read as stored (OP_N, ld = row stride); one
/// whose elements down a column are adjacent (row stride 1, e.g. a transposed view) is read transposed (OP_T, ld = column
/// stride). Any other layout (broadcast rows, both strides above 1, a leading dimension too small) is first copied to a
/// contiguous temporary (<see cref="CopyX"/>, <see cref="CopyY"/>), and the plan describes that copy. dst must be row-major
/// with column stride 1, or it is computed into a contiguous temporary and copied back (<see cref="CopyDst"/>).</para>
/// </remarks>
/// <param name="M">Rows of x and dst (cuBLAS n).</param>
/// <param name="N">Columns of y and dst (cuBLAS m).</param>
/// <param name="K">The contracted size (cuBLAS k).</param>
/// <param name="Batch">Number of products.</param>
/// <param name="A">cuBLAS's first operand: y, read as Bᵀ.</param>
/// <param name="B">cuBLAS's second operand: x, read as Aᵀ.</param>
/// <param name="Ldc">dst's leading dimension (its row stride).</param>
/// <param name="StrideC">dst's batch stride.</param>
/// <param name="CopyX">x is copied to a contiguous [B,M,K] temporary first.</param>
/// <param name="CopyY">y is copied to a contiguous [B,K,N] temporary first.</param>
/// <param name="CopyDst">The product goes to a contiguous [B,M,N] temporary, then is copied to dst.</param>
public sealed record GemmPlan(int M, int N, int K, int Batch, GemmOperand A, GemmOperand B, long Ldc, long StrideC, bool CopyX, bool CopyY, bool CopyDst)
{
    /// <summary>CUBLAS_OP_N.</summary>
    public const int OpN = 0;

    /// <summary>CUBLAS_OP_T.</summary>
    public const int OpT = 1;

    /// <summary>
    /// Plans the product for operands of shapes [B,M,K], [B,K,N], [B,M,N] with the given strides (elements).
    /// </summary>
    /// <exception cref="DeviceException">A size or leading dimension does not fit cuBLAS's 32-bit int.</exception>
    public static GemmPlan For(long[] xShape, long[] xStrides, long[] yShape, long[] yStrides, long[] dShape, long[] dStrides)
    {
        long batch = dShape[0], m = xShape[1], k = xShape[2], n = yShape[2];
        foreach (var (v, what) in new[] { (batch, "batch"), (m, "M"), (n, "N"), (k, "K") })
            if (v > int.MaxValue) throw new DeviceException("matmul", $"{what} = {v} exceeds cuBLAS's 32-bit sizes");

        var y = Operand(k, n, yStrides, batch, out bool copyY);
        var x = Operand(m, k, xStrides, batch, out bool copyX);

        // dst: row-major with unit column stride, rows not overlapping, batches not overlapping.
        long rs = dStrides[1], cs = dStrides[2], bs = dStrides[0];
        long ldc = m == 1 ? Math.Max(1, n) : rs;
        bool dstOk = (cs == 1 || n == 1) && ldc >= Math.Max(1, n) && ldc <= int.MaxValue
            && (batch == 1 || bs >= (m - 1) * ldc + n);
        if (!dstOk) { ldc = Math.Max(1, n); bs = m * n; }
        return new GemmPlan((int)m, (int)n, (int)k, (int)batch, y, x, ldc, batch == 1 ? 0 : bs, copyX, copyY, !dstOk);
    }

    // The operand [rows, cols] with strides [batch, row, col], or the contiguous copy of it when cuBLAS cannot read it.
    private static GemmOperand Operand(long rows, long cols, long[] strides, long batch, out bool copy)
    {
        copy = false;
        long bs = batch == 1 ? 0 : strides[0];
        if (bs >= 0 && Layout(rows, cols, strides[1], strides[2]) is { } l) return new GemmOperand(l.Op, l.Ld, bs);
        copy = true;
        return new GemmOperand(OpN, Math.Max(1, cols), batch == 1 ? 0 : rows * cols);
    }

    /// <summary>
    /// How cuBLAS reads a [rows, cols] matrix with element (r, c) at r·rs + c·cs: OP_N with ld = rs when it is row-major
    /// (cs = 1), OP_T with ld = cs when it is column-major (rs = 1), or null when neither (a copy is needed). Size-1 dims
    /// take any stride; the leading dimension must cover the matrix (cuBLAS checks ld ≥ the stored rows) and fit an int.
    /// </summary>
    public static (int Op, long Ld)? Layout(long rows, long cols, long rs, long cs)
    {
        if (cs == 1 || cols == 1)
        {
            long ld = rows == 1 ? Math.Max(1, cols) : rs;
            if (ld >= Math.Max(1, cols) && ld <= int.MaxValue) return (OpN, ld);
        }
        if (rs == 1 || rows == 1)
        {
            long ld = cols == 1 ? Math.Max(1, rows) : cs;
            if (ld >= Math.Max(1, rows) && ld <= int.MaxValue) return (OpT, ld);
        }
        return null;
    }
}
