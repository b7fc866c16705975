using System.Collections.Concurrent;
using Engine.Kernels.Ptx;

namespace Engine.Kernels.Gpu;

/// <summary>
/// <see cref="IGpuRuntime"/> over an <see cref="EmulatedDevice"/>: device memory is pinned host memory at device
/// addresses, and kernels run in the PTX interpreter with its checks. The device is not thread-safe, so every call
/// takes one lock (a launch still runs its blocks in parallel inside the interpreter).
/// </summary>
public sealed unsafe class EmulatedRuntime : IHostMappedRuntime, IDisposable
{
    // CudaRuntime launches without the cuFuncSetAttribute opt-in, so a GPU refuses more than 48 KiB of shared memory
    // (static + dynamic) per block: the shared emulator enforces the same limit, not the opt-in maximum.
    private static readonly Lazy<EmulatedRuntime> s_shared =
        new(() => new EmulatedRuntime(new EmulatedDevice { MaxSharedBytesPerBlock = 48 * 1024 }));
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, DeviceBuffer> _buffers = [];
    private readonly ConcurrentDictionary<string, GpuModule> _modules = new();

    /// <summary>The runtime behind <see cref="Engine.Device.Emulated"/> (created on first use).</summary>
    public static EmulatedRuntime Shared => s_shared.Value;

    /// <summary>The emulator.</summary>
    public EmulatedDevice Emulator { get; }

    /// <summary>Wraps <paramref name="emulator"/>; the runtime owns it from now on.</summary>
    public EmulatedRuntime(EmulatedDevice emulator)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        Emulator = emulator;
    }

    /// <inheritdoc/>
    public Device Device => Device.Emulated;

    /// <summary>Kernel launches so far.</summary>
    public long Launches { get; private set; }

    /// <inheritdoc/>
    public long LiveBytes
    {
        get { lock (_lock) return _buffers.Values.Sum(b => b.Bytes); }
    }

    /// <summary>Number of live allocations.</summary>
    public int LiveCount
    {
        get { lock (_lock) return _buffers.Count; }
    }

    /// <summary>
    /// Device memory this runtime may hand out (default unlimited: the host's memory); allocations beyond it fail as
    /// out of memory, which lets tests exercise the out-of-memory paths.
    /// </summary>
    public long CapacityBytes { get; init; } = long.MaxValue;

    /// <inheritdoc/>
    public (long Free, long Total) MemoryInfo()
    {
        long total = CapacityBytes == long.MaxValue ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : CapacityBytes;
        return (Math.Max(0, total - LiveBytes), total);
    }

    /// <inheritdoc/>
    public ulong TryAllocate(long bytes)
    {
        lock (_lock) return Fits(bytes) ? AllocateLocked(bytes) : 0;
    }

    /// <inheritdoc/>
    public ulong Allocate(long bytes)
    {
        lock (_lock)
        {
            if (!Fits(bytes)) throw new ArgumentValueException("gpu.alloc", $"out of device memory: requested {bytes} bytes, capacity {CapacityBytes}");
            return AllocateLocked(bytes);
        }
    }

    // Called under _lock.
    private bool Fits(long bytes) => CapacityBytes == long.MaxValue || _buffers.Values.Sum(b => b.Bytes) + bytes <= CapacityBytes;

    private ulong AllocateLocked(long bytes)
    {
        var b = Emulator.Alloc(bytes);
        _buffers.Add(b.Address, b);
        return b.Address;
    }

    /// <inheritdoc/>
    public void Free(ulong address)
    {
        lock (_lock)
        {
            if (!_buffers.Remove(address, out var b)) throw new ArgumentValueException("gpu.free", $"0x{address:X} is not a live allocation{Emulator.DescribeOwner(address)}");
            Emulator.Free(b);
        }
    }

    /// <inheritdoc/>
    public byte* HostPointer(ulong address)
    {
        lock (_lock) return Emulator.HostPointer(Buffer(address));
    }

    private DeviceBuffer Buffer(ulong address) =>
        _buffers.TryGetValue(address, out var b) ? b : throw new ArgumentValueException("gpu", $"0x{address:X} is not the start of a live allocation{Emulator.DescribeOwner(address)}");

    // Host span over [address, address + bytes) inside one live allocation (bounds-checked like the interpreter).
    private Span<byte> Range(ulong address, long bytes, string op)
    {
        foreach (var b in _buffers.Values)
            if (bytes >= 0 && address - b.Address <= (ulong)b.Bytes && (ulong)b.Bytes - (address - b.Address) >= (ulong)bytes)
                return new Span<byte>(Emulator.HostPointer(b) + (long)(address - b.Address), checked((int)bytes));
        throw new ArgumentValueException(op, $"{bytes} bytes at 0x{address:X} are not inside one live allocation{Emulator.DescribeOwner(address)}");
    }

    /// <inheritdoc/>
    public void CopyHostToDevice(ulong dst, ReadOnlySpan<byte> src)
    {
        lock (_lock) src.CopyTo(Range(dst, src.Length, "gpu.copy_htod"));
    }

    /// <inheritdoc/>
    public void CopyDeviceToHost(Span<byte> dst, ulong src)
    {
        lock (_lock) Range(src, dst.Length, "gpu.copy_dtoh").CopyTo(dst);
    }

    /// <inheritdoc/>
    public void CopyDeviceToDevice(ulong dst, ulong src, long bytes)
    {
        lock (_lock) Range(src, bytes, "gpu.copy_dtod").CopyTo(Range(dst, bytes, "gpu.copy_dtod"));
    }

    /// <inheritdoc/>
    public void Memset(ulong dst, byte value, long bytes)
    {
        lock (_lock) Range(dst, bytes, "gpu.memset").Fill(value);
    }

    /// <summary>The limits modules are loaded under (<see cref="PtxLimits.Default"/> unless set).</summary>
    public PtxLimits Limits { get; init; } = PtxLimits.Default;

    /// <inheritdoc/>
    public GpuModule LoadModule(string name, string ptx)
    {
        _texts.TryAdd(name, ptx);
        return _modules.GetOrAdd(name, static (n, arg) => new EmulatedModule(n, PtxModule.Load(arg.ptx, arg.Limits)), (ptx, Limits));
    }

    private readonly ConcurrentDictionary<string, string> _texts = new();

    /// <summary>The PTX text of every module loaded so far, by name (for checking them with ptxas).</summary>
    public IReadOnlyDictionary<string, string> ModuleTexts => _texts;

    /// <summary>Number of modules loaded (each is parsed once).</summary>
    public int ModuleCount => _modules.Count;

    /// <inheritdoc/>
    public void Launch(GpuFunction function, Dim3 grid, Dim3 block, int sharedBytes, ReadOnlySpan<byte> parameters)
    {
        if (function is not EmulatedFunction f) throw new ArgumentValueException("gpu.launch", $"function '{function?.Name}' was not loaded by this runtime");
        lock (_lock)
        {
            Emulator.LaunchPacked(f.Kernel, grid, block, sharedBytes, parameters);
            Launches++;
        }
    }

    /// <inheritdoc/>
    public void Synchronize() { }   // launches and copies complete before they return

    /// <inheritdoc/>
    public GpuEvent CreateEvent() => new HostEvent();

    /// <inheritdoc/>
    public void RecordEvent(GpuEvent e)
    {
        if (e is not HostEvent h) throw new ArgumentValueException("gpu.event_record", "the event was not created by this runtime");
        h.Ticks = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    /// <inheritdoc/>
    public float ElapsedMilliseconds(GpuEvent start, GpuEvent end)
    {
        if (start is not HostEvent a || end is not HostEvent b) throw new ArgumentValueException("gpu.event_elapsed", "the events were not created by this runtime");
        if (a.Ticks == 0 || b.Ticks == 0) throw new ArgumentValueException("gpu.event_elapsed", "both events must be recorded first");
        return (float)System.Diagnostics.Stopwatch.GetElapsedTime(a.Ticks, b.Ticks).TotalMilliseconds;
    }

    private sealed class HostEvent : GpuEvent
    {
        public long Ticks;
        protected override void Release() { }
    }

    /// <summary>Frees the emulator's memory.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _buffers.Clear();
            Emulator.Dispose();
        }
    }

    private sealed class EmulatedModule(string name, PtxModule module) : GpuModule(name)
    {
        private readonly ConcurrentDictionary<string, GpuFunction> _functions = new();

        public override GpuFunction GetFunction(string kernel) =>
            _functions.GetOrAdd(kernel, k => new EmulatedFunction(module.GetKernel(k)));
    }

    private sealed class EmulatedFunction(PtxKernel kernel) : GpuFunction(kernel.Name)
    {
        public PtxKernel Kernel { get; } = kernel;
    }
}
