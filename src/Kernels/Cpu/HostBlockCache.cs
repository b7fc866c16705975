using System.Runtime.InteropServices;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Keeps freed large host blocks for reuse. Without it every large tensor is a fresh mapping from the OS
/// that page-faults on first touch (a 64 MB tensor costs ~16K faults, several times the cost of the op that
/// fills it). Blocks of 1 MiB and more are rounded up to size classes an eighth of a power of two apart
/// (at most 12.5% slack) and cached per class, up to <see cref="Limit"/> bytes in all; smaller blocks go
/// straight to the allocator, which recycles them itself.
/// </summary>
public static unsafe class HostBlockCache
{
    private const long MinCached = 1 << 20;
    private static readonly Dictionary<long, Stack<nint>> s_free = [];
    private static readonly Lock s_lock = new();
    private static long s_cached;

    /// <summary>Most bytes kept cached (default 1 GiB, or a quarter of the memory available if less).</summary>
    public static long Limit { get; set; } = Math.Min(1L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);

    /// <summary>Bytes currently cached (freed by tensors, not yet returned to the OS).</summary>
    public static long CachedBytes { get { lock (s_lock) return s_cached; } }

    private static long SizeClass(long bytes)
    {
        if (bytes < MinCached) return Math.Max(bytes, 1);
        long step = 1L << (int)Math.Max(0, 63 - long.LeadingZeroCount(bytes) - 3);
        return (bytes + step - 1) / step * step;
    }

    private static readonly long s_physical = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Bytes of memory the machine (or the container's limit) offers the process.</summary>
    internal static long PhysicalBytes => s_physical;

    /// <summary>
    /// A 64-byte aligned block of at least <paramref name="bytes"/>. A request beyond the machine's memory, or one the
    /// allocator refuses after the cache was emptied, raises <see cref="DeviceOutOfMemoryException"/> (device "cpu").
    /// </summary>
    public static byte* Rent(long bytes)
    {
        // Refused up front: the OS may overcommit a request it cannot back, and touching it would kill the process.
        CheckFits("allocate", bytes);
        long size = SizeClass(bytes);
        if (size >= MinCached)
            lock (s_lock)
                if (s_free.TryGetValue(size, out var stack) && stack.Count > 0)
                {
                    s_cached -= size;
                    return (byte*)stack.Pop();
                }
        try { return (byte*)NativeMemory.AlignedAlloc((nuint)size, 64); }
        catch (OutOfMemoryException) { EmptyCache(); }
        try { return (byte*)NativeMemory.AlignedAlloc((nuint)size, 64); }
        catch (OutOfMemoryException e) { throw OutOfMemory(bytes, e); }
    }

    /// <summary>Raises <see cref="DeviceOutOfMemoryException"/> for <paramref name="op"/> when <paramref name="bytes"/> exceed the machine's memory.</summary>
    internal static void CheckFits(string op, long bytes)
    {
        if (bytes > s_physical) throw OutOfMemory(bytes, null, op);
    }

    private static DeviceOutOfMemoryException OutOfMemory(long bytes, Exception? inner, string op = "allocate")
    {
        long live = CpuStorage.LiveBytes, used = GC.GetGCMemoryInfo().MemoryLoadBytes;
        return new DeviceOutOfMemoryException(op, "cpu", bytes, live, live + CachedBytes, Math.Max(s_physical - used, 0), s_physical, inner);
    }

    /// <summary>Takes back a block from <see cref="Rent"/> of the same requested size.</summary>
    public static void Return(byte* p, long bytes)
    {
        long size = SizeClass(bytes);
        if (size >= MinCached)
            lock (s_lock)
                if (s_cached + size <= Limit)
                {
                    if (!s_free.TryGetValue(size, out var stack)) s_free[size] = stack = new Stack<nint>();
                    stack.Push((nint)p);
                    s_cached += size;
                    return;
                }
        NativeMemory.AlignedFree(p);
    }

    /// <summary>Returns every cached block to the OS.</summary>
    public static void EmptyCache()
    {
        lock (s_lock)
        {
            foreach (var stack in s_free.Values)
                while (stack.Count > 0) NativeMemory.AlignedFree((void*)stack.Pop());
            s_free.Clear();
            s_cached = 0;
        }
    }
}
