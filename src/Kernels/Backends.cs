using Engine.Kernels.Cpu;

namespace Engine.Kernels;

/// <summary>The backend registered for each device. A new backend plugs in here without touching the ops.</summary>
public static class Backends
{
    private static readonly Dictionary<Device, IBackend> s_backends = new() { [Device.Cpu] = new CpuBackend() };
    private static readonly Lock s_lock = new();

    /// <summary>The backend for <paramref name="device"/>; a <see cref="DeviceException"/> when none is registered.</summary>
    public static IBackend For(Device device, string op = "to")
    {
        lock (s_lock)
        {
            if (s_backends.TryGetValue(device, out var b)) return b;
        }
        throw new DeviceException(op, $"no backend is available for device {device}");
    }

    /// <summary>Registers (or replaces) the backend of a device.</summary>
    public static void Register(IBackend backend)
    {
        lock (s_lock) s_backends[backend.Device] = backend;
    }
}
