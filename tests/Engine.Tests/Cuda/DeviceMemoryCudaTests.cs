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
}
