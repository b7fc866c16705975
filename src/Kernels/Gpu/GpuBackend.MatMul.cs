using Engine.Kernels.Cuda;

namespace Engine.Kernels.Gpu;

// Matrix products: cuBLAS on a real GPU (the row-major/column-major transposition identity, one strided-batched GEMM per
// call, see GemmPlan); the CPU kernel on the emulator's host-mapped memory.
public sealed unsafe partial class GpuBackend
{
    /// <inheritdoc/>
    public void MatMul(in StridedView dst, in StridedView x, in StridedView y)
    {
        if (CudaRuntimeOrNull is { } cuda) CublasMatMul(cuda, dst, x, y);
        else Cpu("matmul").MatMul(dst, x, y);
    }

    private void CublasMatMul(CudaRuntime cuda, in StridedView dst, in StridedView x, in StridedView y)
    {
        const string op = "matmul";
        var dt = dst.DType;
        if (dt is not (DType.Float32 or DType.Float64) || x.DType != dt || y.DType != dt)
            throw new DTypeException(op, $"cuBLAS multiplies float32 or float64 matrices on {Device}, got {x.DType.Name()} and {y.DType.Name()}");
        Cublas.Require(op);
        var plan = GemmPlan.For(x.Shape, x.Strides, y.Shape, y.Strides, dst.Shape, dst.Strides);
        _ = Addr(dst, op); _ = Addr(x, op); _ = Addr(y, op);   // device checks before any work
        if (plan.Batch == 0 || plan.M == 0 || plan.N == 0) return;
        if (plan.K == 0) { Fill(dst, 0); return; }   // an empty sum: cuBLAS is not asked to handle k = 0

        GpuStorage? xs = null, ys = null, ds = null;
        try
        {
            StridedView xv = x, yv = y, dv = dst;
            if (plan.CopyX) { xs = Scratch(x.NumEl * dt.ElementSize()); xv = ViewOf(xs, x.Shape, dt); Copy(xv, x); }
            if (plan.CopyY) { ys = Scratch(y.NumEl * dt.ElementSize()); yv = ViewOf(ys, y.Shape, dt); Copy(yv, y); }
            if (plan.CopyDst) { ds = Scratch(dst.NumEl * dt.ElementSize()); dv = ViewOf(ds, dst.Shape, dt); }
            Gemm(cuda, plan, Addr(yv, op), Addr(xv, op), Addr(dv, op), dt);
            if (plan.CopyDst) Copy(dst, dv);
        }
        finally
        {
            xs?.Release(); ys?.Release(); ds?.Release();
        }
    }

    // One cuBLAS call for the plan: a = y (cuBLAS's A), b = x (cuBLAS's B), c = dst.
    private void Gemm(CudaRuntime cuda, GemmPlan p, ulong a, ulong b, ulong c, DType dt)
    {
        bool f64 = dt == DType.Float64;
        int type = f64 ? Cublas.CUDA_R_64F : Cublas.CUDA_R_32F;
        int compute = f64 ? Cublas.CUBLAS_COMPUTE_64F : AllowTf32 ? Cublas.CUBLAS_COMPUTE_32F_FAST_TF32 : Cublas.CUBLAS_COMPUTE_32F;
        byte* sc = stackalloc byte[16];
        Scalars(sc, dt);
        void* one = sc, zero = sc + 8;
        using (var lib = cuda.EnterCublas())
        {
            if (p.Batch == 1)
                Cublas.Check(Cublas.cublasGemmEx(lib.Handle, p.A.Op, p.B.Op, p.N, p.M, p.K, one, a, type, (int)p.A.Ld, b, type, (int)p.B.Ld,
                    zero, c, type, (int)p.Ldc, compute, Cublas.CUBLAS_GEMM_DEFAULT), nameof(Cublas.cublasGemmEx), Describe(p));
            else
                Cublas.Check(Cublas.cublasGemmStridedBatchedEx(lib.Handle, p.A.Op, p.B.Op, p.N, p.M, p.K, one, a, type, (int)p.A.Ld, p.A.BatchStride,
                    b, type, (int)p.B.Ld, p.B.BatchStride, zero, c, type, (int)p.Ldc, p.StrideC, p.Batch, compute, Cublas.CUBLAS_GEMM_DEFAULT),
                    nameof(Cublas.cublasGemmStridedBatchedEx), Describe(p));
        }
        CountLibraryCall();
    }

    private static string Describe(GemmPlan p) =>
        $"matmul [{p.Batch}, {p.M}, {p.K}]·[{p.Batch}, {p.K}, {p.N}] as column-major m={p.N} n={p.M} k={p.K}, ops ({p.A.Op}, {p.B.Op}), ld ({p.A.Ld}, {p.B.Ld}, {p.Ldc})";
}
