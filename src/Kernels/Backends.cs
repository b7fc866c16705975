using Engine.Kernels.Cpu;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Kernels;

/// <summary>The backend registered for each device. A new backend plugs in here without touching the ops.</summary>
public static class Backends
{
    private static readonly Dictionary<Device, IBackend> s_backends = new() { [Device.Cpu] = new CpuBackend() };
    private static readonly Lock s_lock = new();

    // Backends created on first use: the emulated GPU (the GPU backend over the PTX interpreter).
    private static readonly Dictionary<Device, Func<IBackend>> s_lazy = new()
    {
        [Device.Emulated] = () => new GpuBackend(EmulatedRuntime.Shared),
        [Device.Meta] = () => new Meta.MetaBackend(),
    };

    private static bool s_cudaRegistered;

    /// <summary>
    /// The backend for <paramref name="device"/>; a <see cref="DeviceException"/> when none is registered. The first
    /// request for a CUDA device probes the driver (<see cref="CudaProbe"/>) and registers, for each device found, the GPU
    /// backend over a <see cref="CudaRuntime"/>; without a usable driver the exception names <see cref="CudaProbe.Reason"/>.
    /// </summary>
    public static IBackend For(Device device, string op = "to")
    {
        lock (s_lock)
        {
            if (s_backends.TryGetValue(device, out var b)) return b;
            if (device.Type == DeviceType.Cuda && !s_cudaRegistered)
            {
                s_cudaRegistered = true;
                RegisterCudaDevices();
            }
            if (s_lazy.TryGetValue(device, out var make)) return s_backends[device] = make();
        }
        if (device.Type == DeviceType.Cuda)
            throw new DeviceException(op, CudaProbe.IsAvailable
                ? $"no backend is available for device {device}: the driver reports {CudaProbe.Devices.Count} CUDA device(s)"
                : $"no backend is available for device {device}: CUDA is not available ({CudaProbe.Reason})");
        throw new DeviceException(op, $"no backend is available for device {device}");
    }

    // Called under s_lock, once. Leaves lazy registrations made by the user in place.
    private static void RegisterCudaDevices()
    {
        if (!CudaProbe.IsAvailable) return;
        foreach (var d in CudaProbe.Devices)
        {
            int index = d.Index;
            s_lazy.TryAdd(Device.Cuda(index), () => new GpuBackend(new CudaRuntime(index)));
        }
    }

    /// <summary>Registers a backend created on the first <see cref="For"/> of <paramref name="device"/> (unless one is registered by then).</summary>
    public static void RegisterLazy(Device device, Func<IBackend> create)
    {
        lock (s_lock) s_lazy[device] = create;
    }

    /// <summary>Registers (or replaces) the backend of a device.</summary>
    public static void Register(IBackend backend)
    {
        lock (s_lock) s_backends[backend.Device] = backend;
    }
}
