using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine;

/// <summary>
/// The CUDA devices from the tensor side, with PyTorch's torch.cuda names: availability (with the reason when not),
/// synchronisation and the caching allocator's memory counters. Inside namespaces that contain a <c>Cuda</c> namespace
/// of their own, write <c>Engine.Cuda</c>.
/// </summary>
public static class Cuda
{
    /// <summary>True when the driver initialises and reports at least one device; CPU work is unaffected either way.</summary>
    public static bool IsAvailable => CudaProbe.IsAvailable;

    /// <summary>Why CUDA is not available (empty when it is).</summary>
    public static string Reason => CudaProbe.IsAvailable ? "" : CudaProbe.Reason;

    /// <summary>Number of CUDA devices (0 when unavailable).</summary>
    public static int DeviceCount => CudaProbe.IsAvailable ? CudaProbe.Devices.Count : 0;

    /// <summary>Waits for all work queued on <paramref name="device"/> (ops are asynchronous; reading a value back also waits).</summary>
    public static void Synchronize(int device = 0) => Backend(device, "synchronize").Runtime.Synchronize();

    /// <summary>Allocated / reserved / peak bytes and allocation counts of <paramref name="device"/>'s caching allocator.</summary>
    public static MemoryStats MemoryStats(int device = 0) => Backend(device, "memory_stats").Memory.Stats;

    /// <summary>Returns the cached (unused) device memory of <paramref name="device"/> to the driver.</summary>
    public static void EmptyCache(int device = 0) => Backend(device, "empty_cache").Memory.EmptyCache();

    /// <summary>Restarts the peak counters of <paramref name="device"/>.</summary>
    public static void ResetPeakMemoryStats(int device = 0) => Backend(device, "reset_peak_memory_stats").Memory.ResetPeak();

    /// <summary>The GPU backend of a GPU device (CUDA or the emulated one), for its memory counters.</summary>
    public static MemoryStats MemoryStats(Device device) =>
        Backends.For(device, "memory_stats") is GpuBackend g ? g.Memory.Stats
        : throw new DeviceException("memory_stats", $"{device} is not a GPU device");

    private static GpuBackend Backend(int device, string op)
    {
        if (device < 0) throw new ArgumentValueException(op, $"device index must be non-negative, got {device}");
        return (GpuBackend)Backends.For(Device.Cuda(device), op);
    }
}
