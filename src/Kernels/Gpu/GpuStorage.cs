namespace Engine.Kernels.Gpu;

/// <summary>
/// Device memory of an <see cref="IGpuRuntime"/>: a block of its backend's <see cref="CachingAllocator"/>. Released
/// deterministically by the reference count (<see cref="Storage.Release"/>), which returns the block to the cache; the
/// finalizer returns blocks nobody released.
/// </summary>
public class GpuStorage : Storage
{
    private readonly CachingAllocator _allocator;
    private int _freed;

    /// <summary>The runtime that owns the memory.</summary>
    public IGpuRuntime Runtime => _allocator.Runtime;

    /// <summary>Device address of the first byte.</summary>
    public ulong Address { get; }

    /// <summary>Takes a block of at least <paramref name="byteLength"/> bytes from <paramref name="allocator"/> (contents undefined).</summary>
    public GpuStorage(CachingAllocator allocator, long byteLength) : base(byteLength)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        _allocator = allocator;
        Address = allocator.Allocate(byteLength);
    }

    /// <inheritdoc/>
    public override Device Device => Runtime.Device;

    /// <summary>The device address of element <paramref name="elementOffset"/> of a view with elements of <paramref name="elementSize"/> bytes.</summary>
    public ulong AddressOf(long elementOffset, int elementSize) => Address + (ulong)(elementOffset * elementSize);

    /// <inheritdoc/>
    protected override void Free()
    {
        if (Address == 0 || Interlocked.Exchange(ref _freed, 1) != 0) return;
        _allocator.Free(Address);
        GC.SuppressFinalize(this);
    }

    /// <summary>Safety net for storages never released.</summary>
    ~GpuStorage()
    {
        try { Free(); }
        catch (EngineException) { /* the runtime is gone (disposed): nothing left to free */ }
        catch (ObjectDisposedException) { }
    }
}

/// <summary>
/// GPU memory that the host can also address in place (the emulated device), so CPU kernels can run on it.
/// </summary>
public sealed unsafe class MappedGpuStorage : GpuStorage, IHostAddressable
{
    /// <summary>Takes a block from an allocator over a host-mapped runtime.</summary>
    public MappedGpuStorage(CachingAllocator allocator, long byteLength) : base(allocator, byteLength) =>
        HostPointer = ((IHostMappedRuntime)allocator.Runtime).HostPointer(Address);

    /// <inheritdoc/>
    public byte* HostPointer { get; }
}
