using Engine.Kernels.Cuda;

namespace Engine.Tests.Cuda;

/// <summary>Device memory on a real GPU only: out-of-memory errors, copies through the pinned staging buffers, availability (the training-loop checks are <see cref="Gpu.DeviceMemoryTests"/>).</summary>
[NonParallelizable]
public class DeviceMemoryCudaTests
{
    [Test, Category("Cuda")]
    public void AnOutOfMemoryRequestIsATypedErrorAndTheDeviceStaysUsable()
    {
        TestDevice.Cuda.Require();
        long total = CudaProbe.Devices[0].TotalMemoryBytes;
        var e = Assert.Throws<DeviceOutOfMemoryException>(() => Tensor.Empty([total], DType.Float32, Device.Cuda(0)))!;
        Assert.That(e.Requested, Is.EqualTo(total * 4));
        Assert.That(e.Message, Does.Contain("requested").And.Contain("free"));
        using var t = Tensor.Ones([5], DType.Float32, Device.Cuda(0));
        Assert.That(t.ToArray<float>(), Is.All.EqualTo(1f));
    }

    [Test, Category("Cuda")]
    public void LargeCopiesThroughThePinnedStagingBuffersRoundTrip()
    {
        TestDevice.Cuda.Require();
        var g = TestUtil.Gen();
        foreach (long n in new long[] { 1, 1023, (3L << 20) + 5, (11L << 20) / 4 + 3 })   // the last spans three 4 MiB chunks
        {
            using var x = Tensor.Randn([n], DType.Float32, g);
            using var d = x.To(Device.Cuda(0));
            using var back = d.To(Device.Cpu);
            Assert.That(back.ToArray<float>(), Is.EqualTo(x.ToArray<float>()), $"{n} floats");
        }
    }

    [Test]
    public void AvailabilityAgreesWithTheProbeAndExplainsItself()
    {
        Assert.That(Engine.Cuda.IsAvailable, Is.EqualTo(CudaProbe.IsAvailable));
        if (Engine.Cuda.IsAvailable) Assert.That((Engine.Cuda.Reason, Engine.Cuda.DeviceCount), Is.EqualTo(("", CudaProbe.Devices.Count)));
        else
        {
            Assert.That(Engine.Cuda.Reason, Is.Not.Empty);
            Assert.That(Engine.Cuda.DeviceCount, Is.Zero);
            Assert.Throws<DeviceException>(() => Engine.Cuda.Synchronize());
            Assert.Throws<DeviceException>(() => Engine.Cuda.MemoryStats());
        }
    }
}
