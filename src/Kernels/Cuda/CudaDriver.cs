using System.Reflection;
using System.Runtime.InteropServices;

namespace Engine.Kernels.Cuda;

/// <summary>
/// Source-generated P/Invoke bindings (<see cref="LibraryImportAttribute"/>) for the subset of the CUDA driver API
/// (libcuda.so.1) that <see cref="CudaRuntime"/> uses. The library name "cuda" is mapped to the handle that
/// <see cref="NativeLibraries.TryLoad"/> finds by a resolver registered once for this assembly (see
/// <see cref="NativeResolver"/>), so the usual install locations and the override variable apply. Handles are
/// <see cref="nint"/>, device pointers <see cref="ulong"/> (CUdeviceptr is 64-bit), sizes <see cref="nuint"/> (size_t),
/// and every function returns its CUresult as an int: callers pass it to <see cref="Check"/>.
/// </summary>
internal static unsafe partial class CudaDriver
{
    private const string Lib = NativeResolver.CudaName;

    static CudaDriver() => NativeResolver.Ensure();

    // CUjit_option values
    internal const int CU_JIT_INFO_LOG_BUFFER = 3;
    internal const int CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    internal const int CU_JIT_ERROR_LOG_BUFFER = 5;
    internal const int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

    // cuLaunchKernel 'extra' markers
    internal static readonly nint CU_LAUNCH_PARAM_END = 0;
    internal static readonly nint CU_LAUNCH_PARAM_BUFFER_POINTER = 1;
    internal static readonly nint CU_LAUNCH_PARAM_BUFFER_SIZE = 2;

    // CUresult values handled specially
    internal const int CUDA_SUCCESS = 0;
    internal const int CUDA_ERROR_OUT_OF_MEMORY = 2;
    internal const int CUDA_ERROR_DEINITIALIZED = 4;
    internal const int CUDA_ERROR_INVALID_CONTEXT = 201;
    internal const int CUDA_ERROR_CONTEXT_IS_DESTROYED = 709;

    [LibraryImport(Lib)] internal static partial int cuInit(uint flags);
    [LibraryImport(Lib)] internal static partial int cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Lib)] internal static partial int cuDevicePrimaryCtxRetain(out nint ctx, int device);
    [LibraryImport(Lib)] internal static partial int cuDevicePrimaryCtxRelease_v2(int device);
    [LibraryImport(Lib)] internal static partial int cuCtxPushCurrent_v2(nint ctx);
    [LibraryImport(Lib)] internal static partial int cuCtxPopCurrent_v2(out nint ctx);
    [LibraryImport(Lib)] internal static partial int cuCtxSynchronize();
    [LibraryImport(Lib)] internal static partial int cuMemAlloc_v2(out ulong dptr, nuint bytes);
    [LibraryImport(Lib)] internal static partial int cuMemFree_v2(ulong dptr);
    [LibraryImport(Lib)] internal static partial int cuMemcpyHtoD_v2(ulong dst, void* src, nuint bytes);
    [LibraryImport(Lib)] internal static partial int cuMemcpyDtoH_v2(void* dst, ulong src, nuint bytes);
    [LibraryImport(Lib)] internal static partial int cuMemcpyDtoD_v2(ulong dst, ulong src, nuint bytes);
    [LibraryImport(Lib)] internal static partial int cuMemsetD8_v2(ulong dst, byte value, nuint count);
    [LibraryImport(Lib)] internal static partial int cuMemGetInfo_v2(out nuint free, out nuint total);
    [LibraryImport(Lib)] internal static partial int cuModuleLoadDataEx(out nint module, void* image, uint numOptions, int* options, void** optionValues);
    [LibraryImport(Lib)] internal static partial int cuModuleUnload(nint module);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int cuModuleGetFunction(out nint function, nint module, string name);
    [LibraryImport(Lib)] internal static partial int cuLaunchKernel(nint f, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, nint stream, void** kernelParams, void** extra);
    [LibraryImport(Lib)] internal static partial int cuMemHostAlloc(out void* p, nuint bytes, uint flags);
    [LibraryImport(Lib)] internal static partial int cuMemFreeHost(void* p);
    [LibraryImport(Lib)] internal static partial int cuMemcpyHtoDAsync_v2(ulong dst, void* src, nuint bytes, nint stream);
    [LibraryImport(Lib)] internal static partial int cuMemcpyDtoHAsync_v2(void* dst, ulong src, nuint bytes, nint stream);
    [LibraryImport(Lib)] internal static partial int cuStreamSynchronize(nint stream);
    [LibraryImport(Lib)] internal static partial int cuEventCreate(out nint ev, uint flags);
    [LibraryImport(Lib)] internal static partial int cuEventRecord(nint ev, nint stream);
    [LibraryImport(Lib)] internal static partial int cuEventSynchronize(nint ev);
    [LibraryImport(Lib)] internal static partial int cuEventElapsedTime(out float ms, nint start, nint end);
    [LibraryImport(Lib)] internal static partial int cuEventDestroy_v2(nint ev);
    [LibraryImport(Lib)] internal static partial int cuGetErrorName(int error, out nint name);

    /// <summary>The CUresult's name from cuGetErrorName, falling back to the probe's table when the call fails.</summary>
    internal static string ErrorName(int code)
    {
        try
        {
            if (cuGetErrorName(code, out var p) == CUDA_SUCCESS && p != 0 && Marshal.PtrToStringUTF8(p) is { Length: > 0 } s) return s;
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return CudaProbe.DriverStatusName(code);
    }

    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="function"/> unless <paramref name="rc"/> is CUDA_SUCCESS.</summary>
    internal static void Check(int rc, string function)
    {
        if (rc != CUDA_SUCCESS) throw new CudaException(function, rc, ErrorName(rc));
    }
}

/// <summary>
/// The one <see cref="NativeLibrary.SetDllImportResolver"/> of the Engine.Kernels assembly (an assembly can have only
/// one). It maps the library names the bindings import to the handles <see cref="NativeLibraries"/> finds:
/// "cuda" → libcuda.so.1, "cublas" → libcublas.so.13 then .so.12, "cudnn" → libcudnn.so.9. Any other name returns 0,
/// which leaves it to the default probing, so other imports of the assembly are unaffected. Registered by the static
/// constructor (run once, thread-safely, by the runtime) the first time <see cref="Ensure"/> is called.
/// </summary>
internal static class NativeResolver
{
    /// <summary>The library name the driver imports use.</summary>
    internal const string CudaName = "cuda";

    /// <summary>The library name the cuBLAS imports use.</summary>
    internal const string CublasName = "cublas";

    /// <summary>The library name the cuDNN imports use.</summary>
    internal const string CudnnName = "cudnn";

    private static readonly Lazy<nint> s_cuda = new(() => Load(CudaName));
    private static readonly Lazy<nint> s_cublas = new(() => Load(CublasName));
    private static readonly Lazy<nint> s_cudnn = new(() => Load(CudnnName));

    static NativeResolver() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeResolver).Assembly, Resolve);

    /// <summary>Makes sure the resolver is registered (the work happens in the static constructor, once).</summary>
    internal static void Ensure() { }

    /// <summary>The file names tried for an import name, in order (empty for a name this resolver does not handle).</summary>
    internal static string[] Candidates(string name) => name switch
    {
        CudaName => ["libcuda.so.1", "libcuda.so", "nvcuda.dll"],
        CublasName => ["libcublas.so.13", "libcublas.so.12"],
        CudnnName => ["libcudnn.so.9"],
        _ => [],
    };

    /// <summary>
    /// Libraries that <paramref name="file"/> needs from its own directory: loaded first from there, so that a library found
    /// outside the loader's path (e.g. /usr/local/cuda-13.0/targets/x86_64-linux/lib) still resolves them (the dynamic
    /// linker matches a dependency against libraries already loaded, by soname). cuBLAS links cuBLASLt of its major version;
    /// cuDNN 9 opens its sub-libraries by soname at run time.
    /// </summary>
    internal static string[] Companions(string file) => file switch
    {
        "libcublas.so.13" => ["libcublasLt.so.13"],
        "libcublas.so.12" => ["libcublasLt.so.12"],
        "libcudnn.so.9" => ["libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9", "libcudnn_heuristic.so.9",
            "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9"],
        _ => [],
    };

    private static nint Load(string name) =>
        NativeLibraries.TryLoad(Candidates(name), out var h, out _, Companions) ? h : 0;

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path) => name switch
    {
        CudaName => s_cuda.Value,
        CublasName => s_cublas.Value,
        CudnnName => s_cudnn.Value,
        _ => 0,
    };
}
