using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// Device-side timing for GPU benchmarks: each repetition of the work sits between two events recorded on the stream
/// the backend launches on (cuEventRecord / cuEventElapsedTime), after warm-up runs, and the median is reported, so
/// host-side launch cost only counts where the GPU actually waits for it. Also measures the device-to-device copy
/// bandwidth in the same run, the ceiling each memory-bound kernel is reported against.
/// </summary>
public static class GpuTiming
{
    /// <summary>The backend of CUDA device 0, or null with the reason when no usable GPU is present.</summary>
    public static GpuBackend? Cuda(out string reason)
    {
        reason = "";
        if (!CudaProbe.IsAvailable) { reason = CudaProbe.Reason ?? "CUDA is not available"; return null; }
        return (GpuBackend)Backends.For(Device.Cuda(0));
    }

    /// <summary>Median and minimum device milliseconds of <paramref name="work"/> over <paramref name="reps"/> runs after <paramref name="warmup"/>.</summary>
    public static (double Median, double Min) Measure(IGpuRuntime rt, Action work, int warmup = 10, int reps = 100)
    {
        ArgumentNullException.ThrowIfNull(rt);
        ArgumentNullException.ThrowIfNull(work);
        for (int i = 0; i < warmup; i++) work();
        rt.Synchronize();
        var times = new double[reps];
        using var start = rt.CreateEvent();
        using var end = rt.CreateEvent();
        for (int i = 0; i < reps; i++)
        {
            rt.RecordEvent(start);
            work();
            rt.RecordEvent(end);
            times[i] = rt.ElapsedMilliseconds(start, end);
        }
        Array.Sort(times);
        return (times[reps / 2], times[0]);
    }

    /// <summary>
    /// Device-to-device copy bandwidth in GB/s (bytes read plus bytes written, 10^9), copying <paramref name="bytes"/>
    /// between two fresh buffers: the memory ceiling for the memory-bound kernels measured in the same run.
    /// </summary>
    public static double CopyBandwidth(IGpuRuntime rt, long bytes = 512L << 20)
    {
        ulong a = rt.Allocate(bytes), b = rt.Allocate(bytes);
        try
        {
            rt.Memset(a, 0x3f, bytes);
            var (median, _) = Measure(rt, () => rt.CopyDeviceToDevice(b, a, bytes), warmup: 5, reps: 50);
            return 2.0 * bytes / (median * 1e-3) / 1e9;
        }
        finally { rt.Free(a); rt.Free(b); }
    }
}
