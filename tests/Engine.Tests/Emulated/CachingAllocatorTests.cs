using Engine.Kernels.Gpu;
using Engine.Kernels.Ptx;

namespace Engine.Tests.Emulated;

/// <summary>The caching allocator over an emulated runtime of limited capacity (so out-of-memory paths are reachable).</summary>
public class CachingAllocatorTests
{
    private const long MiB = 1L << 20;

    private static (EmulatedRuntime Rt, CachingAllocator A) Make(long capacity = long.MaxValue)
    {
        var rt = new EmulatedRuntime(new EmulatedDevice()) { CapacityBytes = capacity };
        return (rt, new CachingAllocator(rt));
    }

    [TestCase(0, 512)]
    [TestCase(1, 512)]
    [TestCase(512, 512)]
    [TestCase(513, 1024)]
    [TestCase(1L << 20, 1L << 20)]
    [TestCase((1L << 20) + 1, 2L << 20)]
    [TestCase((5L << 20) + 7, 6L << 20)]
    public void RequestsAreRoundedToTheirBin(long bytes, long expected) =>
        Assert.That(CachingAllocator.RoundSize(bytes), Is.EqualTo(expected));

    [Test]
    public void AFreedBlockServesTheNextRequestOfItsSizeWithoutADeviceAllocation()
    {
        var (rt, a) = Make();
        using var _ = rt;
        ulong p = a.Allocate(1000);
        a.Free(p);
        ulong q = a.Allocate(900);
        Assert.That(q, Is.EqualTo(p));
        var s = a.Stats;
        Assert.That((s.DeviceAllocations, s.CacheHits, s.Allocated, s.Reserved, s.ActiveBlocks), Is.EqualTo((1L, 1L, 1024L, 1024L, 1L)));
        Assert.That(rt.LiveCount, Is.EqualTo(1));
    }

    [Test]
    public void ABlockMuchLargerThanTheRequestIsNotHandedOut()
    {
        var (rt, a) = Make();
        using var _ = rt;
        ulong big = a.Allocate(10_000);
        a.Free(big);
        ulong small = a.Allocate(1000);
        Assert.That(small, Is.Not.EqualTo(big));
        Assert.That(a.Stats.DeviceAllocations, Is.EqualTo(2));
        // a request up to a quarter smaller than a cached block reuses it
        ulong near = a.Allocate(9000);
        Assert.That(near, Is.EqualTo(big));
    }

    [Test]
    public void OutOfMemoryReleasesTheCacheAndRetriesOnce()
    {
        var (rt, a) = Make(capacity: 8 * MiB);
        using var _ = rt;
        a.Free(a.Allocate(6 * MiB));                       // 6 MiB cached
        ulong p = a.Allocate(4 * MiB);                     // does not fit next to the cached block: cache released, retried
        var s = a.Stats;
        Assert.That((s.DeviceFrees, s.Reserved, s.Allocated), Is.EqualTo((1L, 4 * MiB, 4 * MiB)));
        Assert.That(rt.LiveBytes, Is.EqualTo(4 * MiB));
        a.Free(p);
    }

    [Test]
    public void OutOfMemoryWithLiveBlocksIsATypedErrorReportingTheMemoryState()
    {
        var (rt, a) = Make(capacity: 8 * MiB);
        using var _ = rt;
        ulong held = a.Allocate(6 * MiB);
        var e = Assert.Throws<DeviceOutOfMemoryException>(() => a.Allocate(3 * MiB, "conv2d"))!;
        Assert.That((e.Op, e.Requested, e.Allocated, e.Reserved, e.Free), Is.EqualTo(("conv2d", 3 * MiB, 6 * MiB, 6 * MiB, 2 * MiB)));
        Assert.That(e.Message, Does.Contain("requested 3145728 bytes").And.Contain("6291456 bytes allocated"));
        // nothing changed, and smaller requests still work
        Assert.That(a.Stats.Allocated, Is.EqualTo(6 * MiB));
        ulong small = a.Allocate(MiB);
        a.Free(small);
        a.Free(held);
    }

    [Test]
    public void PeakCountersFollowTheHighWaterMarkUntilReset()
    {
        var (rt, a) = Make();
        using var _ = rt;
        ulong x = a.Allocate(3 * MiB), y = a.Allocate(3 * MiB);
        a.Free(x); a.Free(y);
        var s = a.Stats;
        Assert.That((s.Allocated, s.PeakAllocated, s.Reserved, s.PeakReserved), Is.EqualTo((0L, 8 * MiB, 8 * MiB, 8 * MiB)));
        a.ResetPeak();
        Assert.That(a.Stats.PeakAllocated, Is.EqualTo(0));
        a.EmptyCache();
        Assert.That((a.Stats.Reserved, rt.LiveBytes), Is.EqualTo((0L, 0L)));
    }

    [Test]
    public void FreeingTwiceOrAForeignAddressIsATypedError()
    {
        var (rt, a) = Make();
        using var _ = rt;
        ulong p = a.Allocate(100);
        a.Free(p);
        Assert.Throws<ArgumentValueException>(() => a.Free(p));
        Assert.Throws<ArgumentValueException>(() => a.Free(12345));
    }

    [Test]
    public void BlocksCanBeFreedFromOtherThreads()
    {
        var (rt, a) = Make();
        using var _ = rt;
        var blocks = Enumerable.Range(1, 64).Select(i => a.Allocate(i * 1000)).ToArray();
        Parallel.ForEach(blocks, b => a.Free(b));
        Assert.That(a.Stats.Allocated, Is.Zero);
        Assert.That(a.Stats.ActiveBlocks, Is.Zero);
    }
}
