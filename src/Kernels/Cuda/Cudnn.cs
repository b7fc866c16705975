using System.Runtime.InteropServices;

namespace Engine.Kernels.Cuda;

/// <summary>
/// Source-generated P/Invoke bindings for the subset of cuDNN 9 (libcudnn.so.9: cudnn_graph.h, cudnn_ops.h, cudnn_cnn.h)
/// that the GPU backend uses: the legacy descriptor API for tensors, filters, convolutions (with algorithm search and
/// workspace), pooling, batch normalisation and LRN. The library name "cudnn" is mapped by <see cref="NativeResolver"/>.
/// Handles and descriptors are <see cref="nint"/>, device pointers <see cref="ulong"/> (0 is NULL); alpha and beta are
/// host pointers to float for float data and to double for double data. Every function returns its cudnnStatus_t as an
/// int: callers pass it to <see cref="Check"/>.
/// </summary>
internal static unsafe partial class Cudnn
{
    private const string Lib = NativeResolver.CudnnName;

    static Cudnn() => NativeResolver.Ensure();

    // cudnnDataType_t
    internal const int CUDNN_DATA_FLOAT = 0;
    internal const int CUDNN_DATA_DOUBLE = 1;

    // cudnnTensorFormat_t
    internal const int CUDNN_TENSOR_NCHW = 0;

    // cudnnMathType_t: DEFAULT lets float use TF32 tensor cores on Ampere and later; FMA forbids them.
    internal const int CUDNN_DEFAULT_MATH = 0;
    internal const int CUDNN_TENSOR_OP_MATH = 1;
    internal const int CUDNN_FMA_MATH = 3;

    // cudnnConvolutionMode_t: deep-learning "convolution" is cross-correlation.
    internal const int CUDNN_CROSS_CORRELATION = 1;

    // cudnnPoolingMode_t
    internal const int CUDNN_POOLING_MAX = 0;
    internal const int CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING = 1;
    internal const int CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING = 2;

    // cudnnNanPropagation_t
    internal const int CUDNN_PROPAGATE_NAN = 1;

    // cudnnBatchNormMode_t
    internal const int CUDNN_BATCHNORM_SPATIAL = 1;

    // cudnnLRNMode_t
    internal const int CUDNN_LRN_CROSS_CHANNEL_DIM1 = 0;

    // Limits from cudnn_ops.h / cudnn_graph.h
    internal const int CUDNN_DIM_MAX = 8;
    internal const int CUDNN_LRN_MIN_N = 1;
    internal const int CUDNN_LRN_MAX_N = 16;
    internal const double CUDNN_LRN_MIN_K = 1e-5;
    internal const double CUDNN_LRN_MIN_BETA = 0.01;

    // Algorithm counts (cudnnConvolution*Algo_t *_COUNT)
    internal const int FwdAlgoCount = 8;
    internal const int BwdDataAlgoCount = 6;
    internal const int BwdFilterAlgoCount = 7;

    internal const int CUDNN_STATUS_SUCCESS = 0;

    /// <summary>
    /// cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionBwdDataAlgoPerf_t and cudnnConvolutionBwdFilterAlgoPerf_t share this
    /// layout: algo, status, time (float), memory (size_t, 8-aligned), determinism, mathType, reserved[3]; 48 bytes.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct AlgoPerf
    {
        public int Algo;
        public int Status;
        public float Time;
        public nuint Memory;
        public int Determinism;
        public int MathType;
        public int Reserved0, Reserved1, Reserved2;
    }

    [LibraryImport(Lib)] internal static partial nuint cudnnGetVersion();
    [LibraryImport(Lib)] internal static partial nint cudnnGetErrorString(int status);
    [LibraryImport(Lib)] internal static partial int cudnnCreate(out nint handle);
    [LibraryImport(Lib)] internal static partial int cudnnDestroy(nint handle);
    [LibraryImport(Lib)] internal static partial int cudnnSetStream(nint handle, nint stream);

    [LibraryImport(Lib)] internal static partial int cudnnCreateTensorDescriptor(out nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnDestroyTensorDescriptor(nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnSetTensorNdDescriptor(nint desc, int dataType, int nbDims, int* dims, int* strides);

    [LibraryImport(Lib)] internal static partial int cudnnCreateFilterDescriptor(out nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnDestroyFilterDescriptor(nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnSetFilterNdDescriptor(nint desc, int dataType, int format, int nbDims, int* dims);

    [LibraryImport(Lib)] internal static partial int cudnnCreateConvolutionDescriptor(out nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnDestroyConvolutionDescriptor(nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnSetConvolutionNdDescriptor(nint desc, int arrayLength, int* pads, int* strides, int* dilations, int mode, int computeType);
    [LibraryImport(Lib)] internal static partial int cudnnSetConvolutionMathType(nint desc, int mathType);
    [LibraryImport(Lib)] internal static partial int cudnnSetConvolutionGroupCount(nint desc, int groups);
    [LibraryImport(Lib)] internal static partial int cudnnGetConvolutionNdForwardOutputDim(nint convDesc, nint xDesc, nint wDesc, int nbDims, int* dims);

    [LibraryImport(Lib)] internal static partial int cudnnFindConvolutionForwardAlgorithm(nint handle, nint xDesc, nint wDesc, nint convDesc, nint yDesc,
        int requested, out int returned, AlgoPerf* results);
    [LibraryImport(Lib)] internal static partial int cudnnFindConvolutionBackwardDataAlgorithm(nint handle, nint wDesc, nint dyDesc, nint convDesc, nint dxDesc,
        int requested, out int returned, AlgoPerf* results);
    [LibraryImport(Lib)] internal static partial int cudnnFindConvolutionBackwardFilterAlgorithm(nint handle, nint xDesc, nint dyDesc, nint convDesc, nint dwDesc,
        int requested, out int returned, AlgoPerf* results);

    [LibraryImport(Lib)] internal static partial int cudnnGetConvolutionForwardWorkspaceSize(nint handle, nint xDesc, nint wDesc, nint convDesc, nint yDesc, int algo, out nuint bytes);
    [LibraryImport(Lib)] internal static partial int cudnnGetConvolutionBackwardDataWorkspaceSize(nint handle, nint wDesc, nint dyDesc, nint convDesc, nint dxDesc, int algo, out nuint bytes);
    [LibraryImport(Lib)] internal static partial int cudnnGetConvolutionBackwardFilterWorkspaceSize(nint handle, nint xDesc, nint dyDesc, nint convDesc, nint dwDesc, int algo, out nuint bytes);

    [LibraryImport(Lib)] internal static partial int cudnnConvolutionForward(nint handle, void* alpha, nint xDesc, ulong x, nint wDesc, ulong w, nint convDesc, int algo,
        ulong workspace, nuint workspaceBytes, void* beta, nint yDesc, ulong y);
    [LibraryImport(Lib)] internal static partial int cudnnConvolutionBackwardData(nint handle, void* alpha, nint wDesc, ulong w, nint dyDesc, ulong dy, nint convDesc, int algo,
        ulong workspace, nuint workspaceBytes, void* beta, nint dxDesc, ulong dx);
    [LibraryImport(Lib)] internal static partial int cudnnConvolutionBackwardFilter(nint handle, void* alpha, nint xDesc, ulong x, nint dyDesc, ulong dy, nint convDesc, int algo,
        ulong workspace, nuint workspaceBytes, void* beta, nint dwDesc, ulong dw);
    [LibraryImport(Lib)] internal static partial int cudnnConvolutionBackwardBias(nint handle, void* alpha, nint dyDesc, ulong dy, void* beta, nint dbDesc, ulong db);
    [LibraryImport(Lib)] internal static partial int cudnnAddTensor(nint handle, void* alpha, nint aDesc, ulong a, void* beta, nint cDesc, ulong c);

    [LibraryImport(Lib)] internal static partial int cudnnCreatePoolingDescriptor(out nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnDestroyPoolingDescriptor(nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnSetPoolingNdDescriptor(nint desc, int mode, int nanOpt, int nbDims, int* window, int* padding, int* stride);
    [LibraryImport(Lib)] internal static partial int cudnnGetPoolingNdForwardOutputDim(nint poolDesc, nint xDesc, int nbDims, int* dims);
    [LibraryImport(Lib)] internal static partial int cudnnPoolingForward(nint handle, nint poolDesc, void* alpha, nint xDesc, ulong x, void* beta, nint yDesc, ulong y);
    [LibraryImport(Lib)] internal static partial int cudnnPoolingBackward(nint handle, nint poolDesc, void* alpha, nint yDesc, ulong y, nint dyDesc, ulong dy,
        nint xDesc, ulong x, void* beta, nint dxDesc, ulong dx);

    [LibraryImport(Lib)] internal static partial int cudnnBatchNormalizationForwardTraining(nint handle, int mode, void* alpha, void* beta,
        nint xDesc, ulong x, nint yDesc, ulong y, nint bnDesc, ulong scale, ulong bias, double exponentialAverageFactor,
        ulong runningMean, ulong runningVariance, double epsilon, ulong saveMean, ulong saveInvVariance);
    [LibraryImport(Lib)] internal static partial int cudnnBatchNormalizationForwardInference(nint handle, int mode, void* alpha, void* beta,
        nint xDesc, ulong x, nint yDesc, ulong y, nint bnDesc, ulong scale, ulong bias, ulong estimatedMean, ulong estimatedVariance, double epsilon);
    [LibraryImport(Lib)] internal static partial int cudnnBatchNormalizationBackward(nint handle, int mode, void* alphaDataDiff, void* betaDataDiff,
        void* alphaParamDiff, void* betaParamDiff, nint xDesc, ulong x, nint dyDesc, ulong dy, nint dxDesc, ulong dx,
        nint bnDesc, ulong scale, ulong dScale, ulong dBias, double epsilon, ulong savedMean, ulong savedInvVariance);

    [LibraryImport(Lib)] internal static partial int cudnnCreateLRNDescriptor(out nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnDestroyLRNDescriptor(nint desc);
    [LibraryImport(Lib)] internal static partial int cudnnSetLRNDescriptor(nint desc, uint n, double alpha, double beta, double k);
    [LibraryImport(Lib)] internal static partial int cudnnLRNCrossChannelForward(nint handle, nint lrnDesc, int mode, void* alpha, nint xDesc, ulong x,
        void* beta, nint yDesc, ulong y);
    [LibraryImport(Lib)] internal static partial int cudnnLRNCrossChannelBackward(nint handle, nint lrnDesc, int mode, void* alpha, nint yDesc, ulong y,
        nint dyDesc, ulong dy, nint xDesc, ulong x, void* beta, nint dxDesc, ulong dx);

    /// <summary>The cudnnStatus_t names of cuDNN 9's cudnn_graph.h (category·1000 + specific code), used when the library cannot be asked.</summary>
    public static string StatusName(int code) => code switch
    {
        0 => "CUDNN_STATUS_SUCCESS",
        1001 => "CUDNN_STATUS_NOT_INITIALIZED",
        1002 => "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH",
        1003 => "CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH",
        1004 => "CUDNN_STATUS_DEPRECATED",
        1005 => "CUDNN_STATUS_LICENSE_ERROR",
        1006 => "CUDNN_STATUS_RUNTIME_IN_PROGRESS",
        1007 => "CUDNN_STATUS_RUNTIME_FP_OVERFLOW",
        1008 => "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED",
        2000 => "CUDNN_STATUS_BAD_PARAM",
        2001 => "CUDNN_STATUS_INVALID_VALUE",
        2002 => "CUDNN_STATUS_BAD_PARAM_NULL_POINTER",
        2003 => "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER",
        2004 => "CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED",
        2005 => "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND",
        2006 => "CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT",
        2007 => "CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH",
        2008 => "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH",
        3000 => "CUDNN_STATUS_NOT_SUPPORTED",
        3001 => "CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN",
        3002 => "CUDNN_STATUS_NOT_SUPPORTED_SHAPE",
        3003 => "CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE",
        3004 => "CUDNN_STATUS_NOT_SUPPORTED_LAYOUT",
        3005 => "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER",
        3006 => "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART",
        3007 => "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH",
        3008 => "CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING",
        3009 => "CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE",
        3010 => "CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT",
        3011 => "CUDNN_STATUS_NOT_SUPPORTED_PADDING",
        3012 => "CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM",
        4000 => "CUDNN_STATUS_INTERNAL_ERROR",
        4001 => "CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED",
        4002 => "CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE",
        4003 => "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED",
        4004 => "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED",
        4005 => "CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM",
        4006 => "CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED",
        5000 => "CUDNN_STATUS_EXECUTION_FAILED",
        5001 => "CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER",
        5002 => "CUDNN_STATUS_EXECUTION_FAILED_CUBLAS",
        5003 => "CUDNN_STATUS_EXECUTION_FAILED_CUDART",
        5004 => "CUDNN_STATUS_EXECUTION_FAILED_CURAND",
        _ => $"cudnnStatus_t {code}",
    };

    /// <summary>The status's name from cudnnGetErrorString, else from <see cref="StatusName"/>.</summary>
    internal static string ErrorName(int code)
    {
        try
        {
            if (cudnnGetErrorString(code) is var p && p != 0 && Marshal.PtrToStringUTF8(p) is { Length: > 0 } s && s.StartsWith("CUDNN_", StringComparison.Ordinal))
                return s;
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return StatusName(code);
    }

    private static readonly Lazy<string?> s_missing = new(() =>
    {
        try { _ = cudnnGetVersion(); return null; }
        catch (DllNotFoundException e) { return e.Message; }
        catch (EntryPointNotFoundException e) { return e.Message; }
    });

    /// <summary>Throws a <see cref="DeviceException"/> naming <paramref name="op"/> when the library cannot be loaded (checked once).</summary>
    internal static void Require(string op)
    {
        if (s_missing.Value is { } why)
            throw new DeviceException(op, $"libcudnn.so.9 is not available ({why}); set ENGINE_CUDA_LIBRARY_PATH to the directory holding it");
    }

    /// <summary>Throws a <see cref="CudaLibraryException"/> naming <paramref name="function"/> unless <paramref name="rc"/> is CUDNN_STATUS_SUCCESS.</summary>
    internal static void Check(int rc, string function, string? detail = null)
    {
        if (rc != CUDNN_STATUS_SUCCESS) throw new CudaLibraryException("cuDNN", function, rc, ErrorName(rc), detail);
    }
}
