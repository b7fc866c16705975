using Engine.Kernels.Gpu;
using Engine.Kernels.Ptx;
using static Engine.Tests.Ptx.PtxHarness;

namespace Engine.Tests.Ptx;

/// <summary>
/// Each <see cref="EmulatedDevice"/> hands out addresses from its own range, so a buffer of one device used on another
/// is reported (naming both devices) instead of silently reading or overwriting the other device's memory.
/// </summary>
public class PtxDeviceAddressTests
{
    [Test]
    public void DevicesHaveDisjointAddressRanges()
    {
        using var a = new EmulatedDevice();
        using var b = new EmulatedDevice();
        Assert.That(b.Id, Is.Not.EqualTo(a.Id));
        var x = a.Alloc(100);
        var y = b.Alloc(100);
        Assert.That((x.Address, y.Address), Is.EqualTo((a.AddressBase, b.AddressBase)));
        Assert.That(y.Address, Is.Not.EqualTo(x.Address));
        ulong lo = Math.Min(a.AddressBase, b.AddressBase), hi = Math.Max(a.AddressBase, b.AddressBase);
        Assert.That(hi - lo, Is.GreaterThanOrEqualTo(EmulatedDevice.AddressRangeBytes));
        Assert.That(lo, Is.GreaterThanOrEqualTo(EmulatedDevice.BaseAddress));
    }

    [Test]
    public void HostCallsWithAnotherDevicesBufferNameBothDevices()
    {
        using var a = new EmulatedDevice();
        using var b = new EmulatedDevice();
        var x = a.Alloc(new float[] { 1, 2, 3, 4 });
        b.Alloc(16);    // b has a live buffer of the same size at its own first address
        foreach (var call in new Action[]
        {
            () => b.Upload(x, new float[] { 9, 9, 9, 9 }),
            () => b.Download<float>(x),
            () => b.Memset(x, 0),
            () => b.Free(x),
            () => { unsafe { _ = b.HostPointer(x); } },
        })
        {
            var e = Assert.Throws<ArgumentValueException>(() => call())!;
            Assert.That(e.Message, Does.Contain($"emulated device #{a.Id}").And.Contain($"emulated device #{b.Id}"));
        }
        Assert.That(a.Download<float>(x), Is.EqualTo(new float[] { 1, 2, 3, 4 }), "a's memory is untouched");
    }

    [Test]
    public void AKernelGivenAnotherDevicesBufferFailsInsteadOfOverwritingIt()
    {
        var module = Load(PtxKernels.VectorAdd);
        using var a = new EmulatedDevice();
        using var b = new EmulatedDevice();
        float[] host = [1, 2, 3, 4];
        var xa = a.Alloc(host);
        var ya = a.Alloc(host);
        var xb = b.Alloc(host);
        var yb = b.Alloc(host);
        var ob = b.Alloc(16);
        var e = Assert.Throws<PtxRuntimeException>(() => b.Launch(module, "vadd", 1, 4, 0, xb, yb, ya, 4))!;
        Assert.That(e.Kind, Is.EqualTo(PtxDiagnostic.GlobalOutOfBounds));
        Assert.That(e.Message, Does.Contain($"emulated device #{a.Id}").And.Contain($"emulated device #{b.Id}"));
        Assert.That(a.Download<float>(ya), Is.EqualTo(host), "the other device's buffer is not overwritten");
        Assert.Throws<PtxRuntimeException>(() => b.Launch(module, "vadd", 1, 4, 0, xa, yb, ob, 4));
        b.Launch(module, "vadd", 1, 4, 0, xb, yb, ob, 4);
        Assert.That(b.Download<float>(ob), Is.EqualTo(new float[] { 2, 4, 6, 8 }));
        _ = xa;
    }

    [Test]
    public void RuntimesOverDifferentDevicesRejectEachOthersAddresses()
    {
        using var r1 = new EmulatedRuntime(new EmulatedDevice());
        using var r2 = new EmulatedRuntime(new EmulatedDevice());
        ulong p1 = r1.Allocate(64);
        r2.Allocate(64);
        var e = Assert.Throws<ArgumentValueException>(() => r2.CopyHostToDevice(p1, new byte[8]))!;
        Assert.That(e.Message, Does.Contain($"emulated device #{r1.Emulator.Id}").And.Contain($"emulated device #{r2.Emulator.Id}"));
        Assert.Throws<ArgumentValueException>(() => r2.Free(p1));
        Assert.Throws<ArgumentValueException>(() => r2.CopyDeviceToDevice(p1, p1, 8));
        // An address range that wraps around 2^64 is not mistaken for one inside an allocation.
        Assert.Throws<ArgumentValueException>(() => r1.CopyHostToDevice(ulong.MaxValue - 3, new byte[8]));
        Assert.Throws<ArgumentValueException>(() => r1.Memset(p1, 0, -1));
    }
}
