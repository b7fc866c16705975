using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Engine.Kernels.Gpu;
using Engine.Kernels.Ptx;
using static Engine.Kernels.Cuda.CudaDriver;

namespace Engine.Kernels.Cuda;

/// <summary>
/// <see cref="IGpuRuntime"/> on a real NVIDIA GPU through the CUDA driver API (<see cref="CudaDriver"/>): one instance per
/// device index, holding the device's retained primary context. Device memory is not host-addressable, so
/// <see cref="GpuBackend"/> uses plain <see cref="GpuStorage"/> on it and its CPU fallbacks raise a
/// <see cref="DeviceException"/>.
/// </summary>
/// <remarks>
/// <para>Context handling: every driver call is bracketed by cuCtxPushCurrent/cuCtxPopCurrent of the primary context on
/// the calling thread. That costs two cheap driver calls per operation but leaves no thread's current context changed
/// (so this runtime coexists with other CUDA users in the process), works the same from any thread, the finalizer
/// thread included, and needs no per-thread bookkeeping.</para>
/// <para>Work is issued on the legacy default stream: launches are asynchronous, and a device-to-host copy waits for
/// the work before it. Set <c>ENGINE_CUDA_LAUNCH_BLOCKING=1</c> to synchronise after every launch (errors then surface at
/// the launch that caused them).</para>
/// </remarks>
public sealed unsafe partial class CudaRuntime : IGpuRuntime, IDisposable
{
    private readonly PrimaryContext _context;
    private readonly ConcurrentDictionary<ulong, long> _allocations = new();
    private readonly ConcurrentDictionary<string, Lazy<CudaModule>> _modules = new();
    private readonly bool _launchBlocking = Environment.GetEnvironmentVariable("ENGINE_CUDA_LAUNCH_BLOCKING") == "1";
    private long _liveBytes;
    private int _disposed;

    /// <summary>Retains the primary context of CUDA device <paramref name="deviceIndex"/>.</summary>
    /// <exception cref="DeviceException">CUDA is not available (<see cref="CudaProbe.Reason"/>) or there is no such device.</exception>
    /// <exception cref="CudaException">A driver call failed.</exception>
    public CudaRuntime(int deviceIndex)
    {
        if (!CudaProbe.IsAvailable) throw new DeviceException("cuda", $"CUDA is not available: {CudaProbe.Reason}");
        if (deviceIndex < 0 || deviceIndex >= CudaProbe.Devices.Count)
            throw new DeviceException("cuda", $"no CUDA device {deviceIndex}: the driver reports {CudaProbe.Devices.Count}");
        Device = Device.Cuda(deviceIndex);
        Check(cuInit(0), nameof(cuInit));
        Check(cuDeviceGet(out int dev, deviceIndex), nameof(cuDeviceGet));
        Check(cuDevicePrimaryCtxRetain(out nint ctx, dev), nameof(cuDevicePrimaryCtxRetain));
        _context = new PrimaryContext(ctx, dev);
    }

    /// <inheritdoc/>
    public Device Device { get; }

    /// <inheritdoc/>
    public long LiveBytes => Interlocked.Read(ref _liveBytes);

    /// <summary>Number of live allocations.</summary>
    public int LiveCount => _allocations.Count;

    /// <summary>Number of modules loaded.</summary>
    public int ModuleCount => _modules.Count;

    /// <inheritdoc/>
    public (long Free, long Total) MemoryInfo()
    {
        using var _ = Enter();
        Check(cuMemGetInfo_v2(out var free, out var total), nameof(cuMemGetInfo_v2));
        return ((long)free, (long)total);
    }

    /// <inheritdoc/>
    public GpuEvent CreateEvent()
    {
        using var _ = Enter();
        Check(cuEventCreate(out var ev, 0), nameof(cuEventCreate));   // CU_EVENT_DEFAULT: timing enabled
        return new CudaEvent(this, ev);
    }

    /// <inheritdoc/>
    public void RecordEvent(GpuEvent e)
    {
        var ce = Own(e, "gpu.event_record");
        using var _ = Enter();
        Check(cuEventRecord(ce.Handle, Stream), nameof(cuEventRecord));
    }

    /// <inheritdoc/>
    public float ElapsedMilliseconds(GpuEvent start, GpuEvent end)
    {
        var (a, b) = (Own(start, "gpu.event_elapsed"), Own(end, "gpu.event_elapsed"));
        using var _ = Enter();
        Check(cuEventSynchronize(b.Handle), nameof(cuEventSynchronize));
        Check(cuEventElapsedTime(out float ms, a.Handle, b.Handle), nameof(cuEventElapsedTime));
        return ms;
    }

    private CudaEvent Own(GpuEvent e, string op) =>
        e is CudaEvent ce && ReferenceEquals(ce.Runtime, this) && ce.Handle != 0 ? ce
        : throw new ArgumentValueException(op, "the event was not created by this runtime, or is disposed");

    private sealed class CudaEvent(CudaRuntime runtime, nint handle) : GpuEvent
    {
        public CudaRuntime Runtime { get; } = runtime;
        public nint Handle { get; private set; } = handle;

        protected override void Release()
        {
            nint h = Handle;
            Handle = 0;
            if (h == 0 || Volatile.Read(ref Runtime._disposed) != 0) return;
            if (cuCtxPushCurrent_v2(Runtime._context.Context) != CUDA_SUCCESS) return;
            try { cuEventDestroy_v2(h); }
            finally { cuCtxPopCurrent_v2(out _); }
        }
    }

    /// <summary>Waits for all work issued to the device (cuCtxSynchronize); raises errors of earlier launches.</summary>
    public void Synchronize()
    {
        using var _ = Enter();
        Check(cuCtxSynchronize(), nameof(cuCtxSynchronize));
    }

    /// <inheritdoc/>
    public ulong Allocate(long bytes)
    {
        ulong ptr = TryAllocate(bytes);
        if (ptr != 0) return ptr;
        var (free, total) = MemoryInfoOrZero();
        throw new CudaException(nameof(cuMemAlloc_v2), CUDA_ERROR_OUT_OF_MEMORY, ErrorName(CUDA_ERROR_OUT_OF_MEMORY),
            $"out of device memory: requested {bytes} bytes, {free} bytes free of {total} on {Device}; {LiveBytes} bytes allocated by this engine");
    }

    /// <inheritdoc/>
    public ulong TryAllocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        using var _ = Enter();
        long n = Math.Max(bytes, 1);   // cuMemAlloc rejects 0 bytes
        int rc = cuMemAlloc_v2(out ulong ptr, (nuint)n);
        if (rc == CUDA_ERROR_OUT_OF_MEMORY) return 0;
        Check(rc, nameof(cuMemAlloc_v2));
        try { Check(cuMemsetD8_v2(ptr, 0, (nuint)n), nameof(cuMemsetD8_v2)); }
        catch { cuMemFree_v2(ptr); throw; }
        _allocations[ptr] = bytes;
        Interlocked.Add(ref _liveBytes, bytes);
        return ptr;
    }

    private (long Free, long Total) MemoryInfoOrZero()
    {
        try { return MemoryInfo(); }
        catch (CudaException) { return (0, 0); }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Pushes the context on the calling thread, so it works from any thread. After <see cref="Dispose"/>, or when the
    /// driver has shut down or the context was destroyed (process exit), the memory is gone already and this does nothing.
    /// </remarks>
    public void Free(ulong address)
    {
        if (!_allocations.TryRemove(address, out long bytes))
        {
            if (Volatile.Read(ref _disposed) != 0) return;
            throw new ArgumentValueException("gpu.free", $"0x{address:X} is not a live allocation on {Device}");
        }
        Interlocked.Add(ref _liveBytes, -bytes);
        if (Volatile.Read(ref _disposed) != 0 || _context.IsClosed) return;
        bool added = false;
        try
        {
            _context.DangerousAddRef(ref added);
            if (cuCtxPushCurrent_v2(_context.Context) != CUDA_SUCCESS) return;   // driver shut down: nothing to free
            try
            {
                int rc = cuMemFree_v2(address);
                if (rc is not (CUDA_SUCCESS or CUDA_ERROR_DEINITIALIZED or CUDA_ERROR_CONTEXT_IS_DESTROYED or CUDA_ERROR_INVALID_CONTEXT))
                    Check(rc, nameof(cuMemFree_v2));
            }
            finally { cuCtxPopCurrent_v2(out _); }
        }
        catch (ObjectDisposedException) { }
        finally
        {
            if (added) _context.DangerousRelease();
        }
    }

    private static void CheckSize(long bytes, string op)
    {
        if (bytes < 0) throw new ArgumentValueException(op, $"negative size {bytes}");
    }

    /// <inheritdoc/>
    public void CopyDeviceToDevice(ulong dst, ulong src, long bytes)
    {
        CheckSize(bytes, "gpu.copy_dtod");
        if (bytes == 0) return;
        using var _ = Enter();
        Check(cuMemcpyDtoD_v2(dst, src, (nuint)bytes), nameof(cuMemcpyDtoD_v2));
    }

    /// <inheritdoc/>
    public void Memset(ulong dst, byte value, long bytes)
    {
        CheckSize(bytes, "gpu.memset");
        if (bytes == 0) return;
        using var _ = Enter();
        Check(cuMemsetD8_v2(dst, value, (nuint)bytes), nameof(cuMemsetD8_v2));
    }

    /// <inheritdoc/>
    /// <exception cref="CudaException">The driver rejected the PTX; the message carries the JIT error log.</exception>
    public GpuModule LoadModule(string name, string ptx)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(ptx);
        var lazy = _modules.GetOrAdd(name, n => new Lazy<CudaModule>(() => Load(n, ptx)));
        try { return lazy.Value; }
        catch
        {
            _modules.TryRemove(new KeyValuePair<string, Lazy<CudaModule>>(name, lazy));   // a later call may retry
            throw;
        }
    }

    private const int LogBytes = 64 * 1024;

    private CudaModule Load(string name, string ptx)
    {
        byte[] image = new byte[Encoding.UTF8.GetByteCount(ptx) + 1];   // NUL-terminated
        Encoding.UTF8.GetBytes(ptx, image);
        byte[] info = new byte[LogBytes], error = new byte[LogBytes];
        using var _ = Enter();
        fixed (byte* img = image, pi = info, pe = error)
        {
            int* options = stackalloc int[4] { CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
            void** values = stackalloc void*[4] { pi, (void*)(nint)LogBytes, pe, (void*)(nint)LogBytes };
            int rc = cuModuleLoadDataEx(out nint module, img, 4, options, values);
            if (rc != CUDA_SUCCESS)
                throw new CudaException(nameof(cuModuleLoadDataEx), rc, ErrorName(rc), $"loading PTX module '{name}' on {Device}", Log(error));
            return new CudaModule(name, this, new ModuleHandle(module, _context));
        }
    }

    // The NUL-terminated text the JIT wrote into a log buffer.
    internal static string Log(ReadOnlySpan<byte> buffer)
    {
        int n = buffer.IndexOf((byte)0);
        return Encoding.UTF8.GetString(n < 0 ? buffer : buffer[..n]);
    }

    /// <inheritdoc/>
    public void Launch(GpuFunction function, Dim3 grid, Dim3 block, int sharedBytes, ReadOnlySpan<byte> parameters)
    {
        if (function is not CudaFunction f || !ReferenceEquals(f.Runtime, this))
            throw new ArgumentValueException("gpu.launch", $"function '{function?.Name}' was not loaded by this runtime");
        using var _ = Enter();
        nuint size = (nuint)parameters.Length;
        byte dummy = 0;
        fixed (byte* p = parameters)
        {
            void** extra = stackalloc void*[5]
            {
                (void*)CU_LAUNCH_PARAM_BUFFER_POINTER, p == null ? &dummy : p,
                (void*)CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
                (void*)CU_LAUNCH_PARAM_END,
            };
            Check(cuLaunchKernel(f.Handle, (uint)grid.X, (uint)grid.Y, (uint)grid.Z, (uint)block.X, (uint)block.Y, (uint)block.Z,
                (uint)sharedBytes, Stream, null, extra), nameof(cuLaunchKernel));
        }
        if (_launchBlocking) Check(cuCtxSynchronize(), $"{nameof(cuCtxSynchronize)} after launching {f.Name}");
    }

    /// <summary>
    /// The stream every kernel, copy and library call of this runtime is issued on (the context's default stream). cuBLAS and
    /// cuDNN handles are bound to it, so all work of a device stays in issue order without extra synchronisation.
    /// </summary>
    internal nint Stream => 0;

    /// <summary>Makes the primary context current on this thread until the returned scope is disposed (for library calls).</summary>
    internal ContextScope EnterContext() => Enter();

    /// <summary>Makes the primary context current on this thread until the returned scope is disposed.</summary>
    private ContextScope Enter()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new ContextScope(_context);
    }

    internal ref struct ContextScope
    {
        private PrimaryContext? _ctx;

        internal ContextScope(PrimaryContext ctx)
        {
            bool added = false;
            ctx.DangerousAddRef(ref added);
            int rc = cuCtxPushCurrent_v2(ctx.Context);
            if (rc != CUDA_SUCCESS)
            {
                ctx.DangerousRelease();
                Check(rc, nameof(cuCtxPushCurrent_v2));
            }
            _ctx = ctx;
        }

        public void Dispose()
        {
            if (_ctx is null) return;
            cuCtxPopCurrent_v2(out _);
            _ctx.DangerousRelease();
            _ctx = null;
        }
    }

    /// <summary>
    /// Unloads the modules and releases the primary context. Memory still allocated goes with the context when no
    /// other user retains it; later <see cref="Free"/> calls do nothing.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        DisposeLibraries();
        ReleaseStaging();
        foreach (var m in _modules.Values)
            if (m.IsValueCreated) m.Value.Handle.Dispose();
        _modules.Clear();
        if (!_context.IsClosed && cuCtxPushCurrent_v2(_context.Context) == CUDA_SUCCESS)
        {
            foreach (var a in _allocations.Keys) cuMemFree_v2(a);
            cuCtxPopCurrent_v2(out _);
        }
        _allocations.Clear();
        Interlocked.Exchange(ref _liveBytes, 0);
        _context.Dispose();
    }

    /// <summary>The retained primary context of a device; released (cuDevicePrimaryCtxRelease) exactly once.</summary>
    internal sealed class PrimaryContext : SafeHandle
    {
        public int DeviceOrdinal { get; }

        public PrimaryContext(nint ctx, int device) : base(0, ownsHandle: true)
        {
            SetHandle(ctx);
            DeviceOrdinal = device;
        }

        public nint Context => handle;

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            // Synchronise with the context pushed so pending work finishes before the release; a context the driver
            // already destroyed (or a driver that shut down at process exit) gives an error code that is ignored:
            // nothing may throw here.
            if (cuCtxPushCurrent_v2(handle) == CUDA_SUCCESS)
            {
                cuCtxSynchronize();
                cuCtxPopCurrent_v2(out _);
            }
            cuDevicePrimaryCtxRelease_v2(DeviceOrdinal);
            return true;
        }
    }

    /// <summary>A loaded CUmodule; unloaded with its context pushed, tolerating a context already gone.</summary>
    private sealed class ModuleHandle : SafeHandle
    {
        private readonly PrimaryContext _ctx;
        private bool _ctxRef;

        public ModuleHandle(nint module, PrimaryContext ctx) : base(0, ownsHandle: true)
        {
            SetHandle(module);
            _ctx = ctx;
            ctx.DangerousAddRef(ref _ctxRef);   // the context outlives its modules
        }

        public nint Module => handle;

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            if (cuCtxPushCurrent_v2(_ctx.Context) == CUDA_SUCCESS)
            {
                cuModuleUnload(handle);
                cuCtxPopCurrent_v2(out _);
            }
            if (_ctxRef) _ctx.DangerousRelease();
            return true;
        }
    }

    private sealed class CudaModule(string name, CudaRuntime runtime, ModuleHandle handle) : GpuModule(name)
    {
        private readonly ConcurrentDictionary<string, CudaFunction> _functions = new();

        public ModuleHandle Handle { get; } = handle;

        public override GpuFunction GetFunction(string kernel) => _functions.GetOrAdd(kernel, k =>
        {
            using var _ = runtime.Enter();
            int rc = cuModuleGetFunction(out nint f, Handle.Module, k);
            if (rc != CUDA_SUCCESS) throw new CudaException(nameof(cuModuleGetFunction), rc, ErrorName(rc), $"kernel '{k}' of module '{Name}'");
            return new CudaFunction(k, runtime, f);
        });
    }

    private sealed class CudaFunction(string name, CudaRuntime runtime, nint handle) : GpuFunction(name)
    {
        public CudaRuntime Runtime { get; } = runtime;

        public nint Handle { get; } = handle;
    }
}
