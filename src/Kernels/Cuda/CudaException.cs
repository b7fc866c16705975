namespace Engine.Kernels.Cuda;

/// <summary>
/// A CUDA driver call that returned an error status: carries the function, the CUresult code and its name and, for
/// module loads, the JIT compiler's error log. <see cref="EngineException.Op"/> is the driver function's name.
/// </summary>
public sealed class CudaException : EngineException
{
    /// <summary>The driver function that failed (e.g. cuMemAlloc_v2).</summary>
    public string Function { get; }

    /// <summary>The CUresult it returned.</summary>
    public int Code { get; }

    /// <summary>The code's name (e.g. CUDA_ERROR_OUT_OF_MEMORY).</summary>
    public string CodeName { get; }

    /// <summary>The JIT error log of a failed module load, or null.</summary>
    public string? JitLog { get; }

    /// <summary>Creates the exception; <paramref name="detail"/> (if any) is appended to the message, then the JIT log.</summary>
    public CudaException(string function, int code, string codeName, string? detail = null, string? jitLog = null)
        : base(function, Format(code, codeName, detail, jitLog))
    {
        Function = function;
        Code = code;
        CodeName = codeName;
        JitLog = string.IsNullOrWhiteSpace(jitLog) ? null : jitLog;
    }

    private static string Format(int code, string codeName, string? detail, string? jitLog)
    {
        var msg = $"failed with {codeName} ({code})";
        if (!string.IsNullOrEmpty(detail)) msg += ": " + detail;
        if (!string.IsNullOrWhiteSpace(jitLog)) msg += $"{Environment.NewLine}JIT log:{Environment.NewLine}{jitLog.TrimEnd()}";
        return msg;
    }
}

/// <summary>
/// A cuBLAS or cuDNN call that returned an error status: carries the library, the function, the status code and its
/// name (from cublasGetStatusName / cudnnGetErrorString when the library answers, else from a built-in table).
/// <see cref="EngineException.Op"/> is the library function's name.
/// </summary>
public sealed class CudaLibraryException : EngineException
{
    /// <summary>"cuBLAS" or "cuDNN".</summary>
    public string Library { get; }

    /// <summary>The library function that failed (e.g. cudnnConvolutionForward).</summary>
    public string Function { get; }

    /// <summary>The status it returned (cublasStatus_t or cudnnStatus_t).</summary>
    public int Code { get; }

    /// <summary>The status's name (e.g. CUDNN_STATUS_BAD_PARAM).</summary>
    public string CodeName { get; }

    /// <summary>Creates the exception; <paramref name="detail"/> (if any) is appended to the message.</summary>
    public CudaLibraryException(string library, string function, int code, string codeName, string? detail = null)
        : base(function, $"{library} failed with {codeName} ({code})" + (string.IsNullOrEmpty(detail) ? "" : ": " + detail))
    {
        Library = library;
        Function = function;
        Code = code;
        CodeName = codeName;
    }
}
