using System.Runtime.InteropServices;

namespace Engine.Kernels.Cuda;

/// <summary>What the machine offers: the CUDA driver and its devices, and the cuBLAS and cuDNN libraries.</summary>
public sealed record CudaDeviceInfo(int Index, string Name, long TotalMemoryBytes, int ComputeMajor, int ComputeMinor);

/// <summary>
/// Probes for a usable CUDA driver without requiring one: <see cref="IsAvailable"/> is true only when
/// libcuda loads, cuInit succeeds and at least one device is present; otherwise <see cref="Reason"/> says why
/// and everything CPU-side keeps working. Uses function pointers resolved at run time, so nothing fails to load
/// on a machine without the driver.
/// </summary>
public static unsafe class CudaProbe
{
    private static readonly Lazy<Result> s_result = new(Run);

    private sealed record Result(bool Available, string Reason, int DriverVersion, IReadOnlyList<CudaDeviceInfo> Devices, string? CublasLibrary, string? CudnnLibrary, long CudnnVersion);

    /// <summary>True when the driver initialised and reports at least one device.</summary>
    public static bool IsAvailable => s_result.Value.Available;

    /// <summary>Why CUDA is not available (or "available").</summary>
    public static string Reason => s_result.Value.Reason;

    /// <summary>The driver's CUDA version as 1000·major + 10·minor (e.g. 13000), or 0.</summary>
    public static int DriverVersion => s_result.Value.DriverVersion;

    /// <summary>The devices found.</summary>
    public static IReadOnlyList<CudaDeviceInfo> Devices => s_result.Value.Devices;

    /// <summary>Where cuBLAS was found, or why not.</summary>
    public static string? CublasLibrary => s_result.Value.CublasLibrary;

    /// <summary>Where cuDNN was found, or why not.</summary>
    public static string? CudnnLibrary => s_result.Value.CudnnLibrary;

    /// <summary>cudnnGetVersion() (e.g. 91400 for 9.14.0), or 0.</summary>
    public static long CudnnVersion => s_result.Value.CudnnVersion;

    private static Result Run()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows())
            return new(false, "CUDA is only supported on Linux and Windows", 0, [], null, null, 0);
        if (!NativeLibraries.TryLoad(NativeResolver.Candidates(NativeResolver.CudaName), out var cuda, out var where))
            return new(false, $"the CUDA driver library (libcuda.so.1) is {where}", 0, [], null, null, 0);
        try
        {
            var cuInit = (delegate* unmanaged<uint, int>)NativeLibrary.GetExport(cuda, "cuInit");
            var cuDriverGetVersion = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(cuda, "cuDriverGetVersion");
            var cuDeviceGetCount = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(cuda, "cuDeviceGetCount");
            var cuDeviceGet = (delegate* unmanaged<int*, int, int>)NativeLibrary.GetExport(cuda, "cuDeviceGet");
            var cuDeviceGetName = (delegate* unmanaged<byte*, int, int, int>)NativeLibrary.GetExport(cuda, "cuDeviceGetName");
            var cuDeviceTotalMem = (delegate* unmanaged<nuint*, int, int>)NativeLibrary.GetExport(cuda, "cuDeviceTotalMem_v2");
            var cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)NativeLibrary.GetExport(cuda, "cuDeviceGetAttribute");
            int version = 0;
            cuDriverGetVersion(&version);
            int rc = cuInit(0);
            if (rc != 0) return new(false, $"cuInit failed with CUresult {rc} ({DriverStatusName(rc)}); driver library at {where}", version, [], null, null, 0);
            int count = 0;
            rc = cuDeviceGetCount(&count);
            if (rc != 0 || count == 0) return new(false, rc != 0 ? $"cuDeviceGetCount failed with CUresult {rc}" : "the driver reports no CUDA device", version, [], null, null, 0);
            var devices = new List<CudaDeviceInfo>();
            byte* name = stackalloc byte[256];
            for (int i = 0; i < count; i++)
            {
                int dev;
                if (cuDeviceGet(&dev, i) != 0) continue;
                cuDeviceGetName(name, 256, dev);
                nuint mem;
                cuDeviceTotalMem(&mem, dev);
                int major, minor;
                cuDeviceGetAttribute(&major, 75, dev); // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
                cuDeviceGetAttribute(&minor, 76, dev); // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
                devices.Add(new(i, Marshal.PtrToStringUTF8((nint)name) ?? "?", (long)mem, major, minor));
            }
            string? cublas = NativeLibraries.TryLoad(NativeResolver.Candidates(NativeResolver.CublasName), out _, out var cw, NativeResolver.Companions) ? cw : "not found: " + cw;
            long cudnnVersion = 0;
            string? cudnn;
            if (NativeLibraries.TryLoad(NativeResolver.Candidates(NativeResolver.CudnnName), out var dnn, out var dw, NativeResolver.Companions))
            {
                cudnn = dw;
                if (NativeLibrary.TryGetExport(dnn, "cudnnGetVersion", out var f)) cudnnVersion = (long)((delegate* unmanaged<nuint>)f)();
            }
            else cudnn = "not found: " + dw;
            return new(true, "available", version, devices, cublas, cudnn, cudnnVersion);
        }
        catch (EntryPointNotFoundException e)
        {
            return new(false, $"the driver library at {where} lacks an entry point: {e.Message}", 0, [], null, null, 0);
        }
    }

    /// <summary>The CUresult name of a few common driver status codes.</summary>
    public static string DriverStatusName(int code) => code switch
    {
        0 => "CUDA_SUCCESS",
        1 => "CUDA_ERROR_INVALID_VALUE",
        2 => "CUDA_ERROR_OUT_OF_MEMORY",
        3 => "CUDA_ERROR_NOT_INITIALIZED",
        4 => "CUDA_ERROR_DEINITIALIZED",
        35 => "CUDA_ERROR_INSUFFICIENT_DRIVER",
        100 => "CUDA_ERROR_NO_DEVICE",
        101 => "CUDA_ERROR_INVALID_DEVICE",
        200 => "CUDA_ERROR_INVALID_IMAGE",
        201 => "CUDA_ERROR_INVALID_CONTEXT",
        218 => "CUDA_ERROR_INVALID_PTX",
        222 => "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
        999 => "CUDA_ERROR_UNKNOWN",
        _ => $"CUresult {code}",
    };
}
