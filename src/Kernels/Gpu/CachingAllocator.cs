namespace Engine.Kernels.Gpu;

/// <summary>
/// Device memory of one <see cref="IGpuRuntime"/> through size-binned free lists, as PyTorch's caching allocator does:
/// a freed block goes back to the list of its size instead of to the driver, and the next request of that size (or up
/// to a quarter larger) takes it, so a training step that repeats last step's shapes makes no device allocation after
/// warm-up. When the device is out of memory it returns every cached block to the driver and retries once; only then
/// does it throw <see cref="DeviceOutOfMemoryException"/>. Thread-safe (a storage may be released by the finalizer).
/// </summary>
/// <remarks>
/// Sizes are rounded up to 512 bytes below 1 MiB and to 2 MiB above, so recurring shapes land in the same bin. Each block
/// is a whole device allocation (blocks are never split), so a block's address is also the start of an allocation, which
/// host-mapped runtimes (the emulator) need. Cached memory is not zeroed on reuse; callers that need zeros set them.
/// </remarks>
public sealed class CachingAllocator
{
    private const long SmallLimit = 1L << 20, SmallRound = 512, LargeRound = 2L << 20;

    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, Stack<ulong>> _cached = [];   // block size → free blocks of that size
    private readonly Dictionary<ulong, long> _active = [];                // address → block size
    private long _allocated, _reserved, _peakAllocated, _peakReserved, _deviceAllocations, _deviceFrees, _hits;

    /// <summary>An allocator over <paramref name="runtime"/>.</summary>
    public CachingAllocator(IGpuRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        Runtime = runtime;
    }

    /// <summary>The runtime memory comes from.</summary>
    public IGpuRuntime Runtime { get; }

    /// <summary>The block size a request of <paramref name="bytes"/> gets.</summary>
    public static long RoundSize(long bytes)
    {
        long b = Math.Max(bytes, 1);
        long r = b <= SmallLimit ? SmallRound : LargeRound;
        return checked((b + r - 1) / r * r);
    }

    /// <summary>
    /// A block of at least <paramref name="bytes"/>: a cached one when a block of the same size class (up to 25% larger)
    /// is free, else a new device allocation (after emptying the cache and retrying once if the device is full).
    /// </summary>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the block even with the cache released.</exception>
    public ulong Allocate(long bytes, string op = "alloc")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long size = RoundSize(bytes);
        lock (_lock)
        {
            if (TakeCached(size) is (ulong hit, long hitSize))
            {
                _hits++;
                Activate(hit, hitSize);
                return hit;
            }
        }
        ulong address = Runtime.TryAllocate(size);
        if (address == 0)
        {
            EmptyCache();
            address = Runtime.TryAllocate(size);
        }
        lock (_lock)
        {
            if (address == 0)
            {
                var (free, total) = Runtime.MemoryInfo();
                throw new DeviceOutOfMemoryException(op, Runtime.Device.ToString(), bytes, _allocated, _reserved, free, total);
            }
            _deviceAllocations++;
            _reserved += size;
            _peakReserved = Math.Max(_peakReserved, _reserved);
            Activate(address, size);
            return address;
        }
    }

    // The smallest cached block of size in [size, 1.25·size], removed from its list.
    private (ulong, long)? TakeCached(long size)
    {
        long limit = size + size / 4;
        foreach (var (s, stack) in _cached)
        {
            if (s < size) continue;
            if (s > limit) break;
            ulong a = stack.Pop();
            if (stack.Count == 0) _cached.Remove(s);
            return (a, s);
        }
        return null;
    }

    private void Activate(ulong address, long size)
    {
        _active.Add(address, size);
        _allocated += size;
        _peakAllocated = Math.Max(_peakAllocated, _allocated);
    }

    /// <summary>Returns a block from <see cref="Allocate"/> to the cache (any thread, including the finalizer's).</summary>
    public void Free(ulong address)
    {
        lock (_lock)
        {
            if (!_active.Remove(address, out long size))
                throw new ArgumentValueException("gpu.free", $"0x{address:X} is not a live block of this allocator");
            _allocated -= size;
            if (!_cached.TryGetValue(size, out var stack)) _cached[size] = stack = new Stack<ulong>();
            stack.Push(address);
        }
    }

    /// <summary>Returns every cached (free) block to the device. Blocks in use are untouched.</summary>
    public void EmptyCache()
    {
        List<(ulong, long)> release = [];
        lock (_lock)
        {
            foreach (var (s, stack) in _cached)
                foreach (var a in stack) release.Add((a, s));
            _cached.Clear();
        }
        foreach (var (a, s) in release)
        {
            Runtime.Free(a);
            lock (_lock)
            {
                _reserved -= s;
                _deviceFrees++;
            }
        }
    }

    /// <summary>The counters now.</summary>
    public MemoryStats Stats
    {
        get
        {
            lock (_lock)
                return new MemoryStats(_allocated, _reserved, _peakAllocated, _peakReserved, _active.Count, _deviceAllocations, _deviceFrees, _hits);
        }
    }

    /// <summary>Restarts the peak counters from the current values.</summary>
    public void ResetPeak()
    {
        lock (_lock)
        {
            _peakAllocated = _allocated;
            _peakReserved = _reserved;
        }
    }
}

/// <summary>
/// Device memory counters of a <see cref="CachingAllocator"/> (PyTorch's torch.cuda.memory_stats, in brief). Sizes are
/// block sizes (requests rounded up, see <see cref="CachingAllocator.RoundSize"/>).
/// </summary>
/// <param name="Allocated">Bytes in blocks held by live storages.</param>
/// <param name="Reserved">Bytes the allocator holds from the device: allocated plus cached.</param>
/// <param name="PeakAllocated">Highest <paramref name="Allocated"/> since creation or the last reset.</param>
/// <param name="PeakReserved">Highest <paramref name="Reserved"/> since creation or the last reset.</param>
/// <param name="ActiveBlocks">Blocks held by live storages.</param>
/// <param name="DeviceAllocations">Device allocations made (cuMemAlloc calls) so far.</param>
/// <param name="DeviceFrees">Blocks returned to the device (cache releases) so far.</param>
/// <param name="CacheHits">Requests served from the cache so far.</param>
public readonly record struct MemoryStats(long Allocated, long Reserved, long PeakAllocated, long PeakReserved, long ActiveBlocks,
    long DeviceAllocations, long DeviceFrees, long CacheHits);
