namespace Engine.Kernels.Gpu;

/// <summary>
/// Device memory of an <see cref="IGpuRuntime"/>: a device address and its runtime. Released deterministically by
/// the reference count (<see cref="Storage.Release"/>); the finalizer frees memory nobody released.
/// </summary>
public class GpuStorage : Storage
{
    private int _freed;

    /// <summary>The runtime that owns the memory.</summary>
    public IGpuRuntime Runtime { get; }

    /// <summary>Device address of the first byte.</summary>
    public ulong Address { get; }

    /// <summary>
    /// Allocates <paramref name="byteLength"/> bytes of zeroed memory on <paramref name="runtime"/>, rounded up to whole
    /// 32-bit words (as CUDA's allocator does, at a far coarser granularity), so a kernel may work on the aligned word
    /// holding a byte: uint8 scatter_add/index_add update bytes by compare-and-swap on their word.
    /// </summary>
    public GpuStorage(IGpuRuntime runtime, long byteLength) : base(byteLength)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        Runtime = runtime;
        Address = runtime.Allocate((byteLength + 3) & ~3L);
    }

    /// <inheritdoc/>
    public override Device Device => Runtime.Device;

    /// <summary>The device address of element <paramref name="elementOffset"/> of a view with elements of <paramref name="elementSize"/> bytes.</summary>
    public ulong AddressOf(long elementOffset, int elementSize) => Address + (ulong)(elementOffset * elementSize);

    /// <inheritdoc/>
    protected override void Free()
    {
        if (Address == 0 || Interlocked.Exchange(ref _freed, 1) != 0) return;
        Runtime.Free(Address);
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
    /// <summary>Allocates memory on a host-mapped runtime.</summary>
    public MappedGpuStorage(IHostMappedRuntime runtime, long byteLength) : base(runtime, byteLength) =>
        HostPointer = runtime.HostPointer(Address);

    /// <inheritdoc/>
    public byte* HostPointer { get; }
}
