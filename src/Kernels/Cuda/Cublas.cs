using System.Runtime.InteropServices;

namespace Engine.Kernels.Cuda;

/// <summary>
/// Source-generated P/Invoke bindings for the subset of cuBLAS (libcublas.so.13, else .so.12; the v2 API of cublas_api.h)
/// that the GPU backend uses. The library name "cublas" is mapped by <see cref="NativeResolver"/>. Handles are
/// <see cref="nint"/>, device pointers <see cref="ulong"/>; alpha and beta are host pointers (the handle's default
/// CUBLAS_POINTER_MODE_HOST). Every function returns its cublasStatus_t as an int: callers pass it to <see cref="Check"/>.
/// </summary>
internal static unsafe partial class Cublas
{
    private const string Lib = NativeResolver.CublasName;

    static Cublas() => NativeResolver.Ensure();

    // cublasOperation_t
    internal const int CUBLAS_OP_N = 0;
    internal const int CUBLAS_OP_T = 1;

    // cublasMath_t
    internal const int CUBLAS_DEFAULT_MATH = 0;
    internal const int CUBLAS_PEDANTIC_MATH = 2;
    internal const int CUBLAS_TF32_TENSOR_OP_MATH = 3;

    // cudaDataType_t (library_types.h)
    internal const int CUDA_R_32F = 0;
    internal const int CUDA_R_64F = 1;

    // cublasComputeType_t
    internal const int CUBLAS_COMPUTE_32F = 68;
    internal const int CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
    internal const int CUBLAS_COMPUTE_64F = 70;

    // cublasGemmAlgo_t
    internal const int CUBLAS_GEMM_DEFAULT = -1;

    internal const int CUBLAS_STATUS_SUCCESS = 0;

    [LibraryImport(Lib)] internal static partial int cublasCreate_v2(out nint handle);
    [LibraryImport(Lib)] internal static partial int cublasDestroy_v2(nint handle);
    [LibraryImport(Lib)] internal static partial int cublasSetStream_v2(nint handle, nint stream);
    [LibraryImport(Lib)] internal static partial int cublasSetMathMode(nint handle, int mode);
    [LibraryImport(Lib)] internal static partial int cublasGetVersion_v2(nint handle, out int version);
    [LibraryImport(Lib)] internal static partial nint cublasGetStatusName(int status);

    [LibraryImport(Lib)] internal static partial int cublasSgemm_v2(nint handle, int transa, int transb, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);
    [LibraryImport(Lib)] internal static partial int cublasDgemm_v2(nint handle, int transa, int transb, int m, int n, int k,
        double* alpha, ulong a, int lda, ulong b, int ldb, double* beta, ulong c, int ldc);
    [LibraryImport(Lib)] internal static partial int cublasSgemmStridedBatched(nint handle, int transa, int transb, int m, int n, int k,
        float* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount);
    [LibraryImport(Lib)] internal static partial int cublasDgemmStridedBatched(nint handle, int transa, int transb, int m, int n, int k,
        double* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, double* beta, ulong c, int ldc, long strideC, int batchCount);
    [LibraryImport(Lib)] internal static partial int cublasGemmEx(nint handle, int transa, int transb, int m, int n, int k,
        void* alpha, ulong a, int aType, int lda, ulong b, int bType, int ldb, void* beta, ulong c, int cType, int ldc, int computeType, int algo);
    [LibraryImport(Lib)] internal static partial int cublasGemmStridedBatchedEx(nint handle, int transa, int transb, int m, int n, int k,
        void* alpha, ulong a, int aType, int lda, long strideA, ulong b, int bType, int ldb, long strideB, void* beta,
        ulong c, int cType, int ldc, long strideC, int batchCount, int computeType, int algo);

    /// <summary>The cublasStatus_t names of cublas_api.h (used when the library cannot be asked).</summary>
    public static string StatusName(int code) => code switch
    {
        0 => "CUBLAS_STATUS_SUCCESS",
        1 => "CUBLAS_STATUS_NOT_INITIALIZED",
        3 => "CUBLAS_STATUS_ALLOC_FAILED",
        7 => "CUBLAS_STATUS_INVALID_VALUE",
        8 => "CUBLAS_STATUS_ARCH_MISMATCH",
        11 => "CUBLAS_STATUS_MAPPING_ERROR",
        13 => "CUBLAS_STATUS_EXECUTION_FAILED",
        14 => "CUBLAS_STATUS_INTERNAL_ERROR",
        15 => "CUBLAS_STATUS_NOT_SUPPORTED",
        16 => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => $"cublasStatus_t {code}",
    };

    /// <summary>The status's name from cublasGetStatusName (cuBLAS 11.4+), else from <see cref="StatusName"/>.</summary>
    internal static string ErrorName(int code)
    {
        try
        {
            if (cublasGetStatusName(code) is var p && p != 0 && Marshal.PtrToStringUTF8(p) is { Length: > 0 } s && s.StartsWith("CUBLAS_", StringComparison.Ordinal))
                return s;
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return StatusName(code);
    }

    private static readonly Lazy<string?> s_missing = new(() =>
    {
        try { _ = cublasGetStatusName(0); return null; }
        catch (DllNotFoundException e) { return e.Message; }
        catch (EntryPointNotFoundException e) { return e.Message; }
    });

    /// <summary>Throws a <see cref="DeviceException"/> naming <paramref name="op"/> when the library cannot be loaded (checked once).</summary>
    internal static void Require(string op)
    {
        if (s_missing.Value is { } why)
            throw new DeviceException(op, $"libcublas.so.13 or .so.12 is not available ({why}); set ENGINE_CUDA_LIBRARY_PATH to the directory holding it");
    }

    /// <summary>Throws a <see cref="CudaLibraryException"/> naming <paramref name="function"/> unless <paramref name="rc"/> is CUBLAS_STATUS_SUCCESS.</summary>
    internal static void Check(int rc, string function, string? detail = null)
    {
        if (rc != CUBLAS_STATUS_SUCCESS) throw new CudaLibraryException("cuBLAS", function, rc, ErrorName(rc), detail);
    }
}
