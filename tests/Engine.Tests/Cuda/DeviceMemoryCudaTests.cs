using Engine.Kernels.Cuda;
using Engine.Tests.Emulated;

namespace Engine.Tests.Cuda;

/// <summary>The device-memory checks of issue 5 on a real GPU: 10,000 training steps with flat allocated memory.</summary>
[NonParallelizable]
public class DeviceMemoryCudaTests
{
    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore($"CUDA is not available: {CudaProbe.Reason}");
    }

    [Test, Category("Cuda")]
    public void TenThousandTrainingStepsOnTheGpuKeepAllocatedMemoryFlat()
    {
        RequireGpu();
        var trace = DeviceMemoryTests.TrainingSteps(Device.Cuda(0), 10_000);
        for (int i = 4; i < trace.Length; i++)
        {
            Assert.That(trace[i].Allocated, Is.EqualTo(trace[3].Allocated), $"allocated bytes after step {i}");
            Assert.That(trace[i].DeviceAllocations, Is.EqualTo(trace[3].DeviceAllocations), $"cuMemAlloc calls by step {i}");
        }
        Engine.Cuda.Synchronize();
    }

    [Test, Category("Cuda")]
    public void AnOutOfMemoryRequestIsATypedErrorAndTheDeviceStaysUsable()
    {
        RequireGpu();
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
        RequireGpu();
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
