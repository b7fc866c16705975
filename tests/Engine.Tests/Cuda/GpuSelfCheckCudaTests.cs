using System.Diagnostics;
using Engine.Cli;
using Engine.Kernels.Cuda;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The self-check of <c>--device auto</c> on a real GPU: it passes on CUDA device 0, fast, without leaving device memory
/// allocated, and auto then picks the GPU. Ignored without a GPU.
/// </summary>
[NonParallelizable]
[Category("Cuda")]
public class GpuSelfCheckCudaTests
{
    [Test]
    public void PassesOnCudaDevice0InWellUnderASecondAndReleasesItsMemory()
    {
        TestDevice.Cuda.Require();
        var sw = Stopwatch.StartNew();
        var first = GpuSelfCheck.Run(Device.Cuda(0)); // may include context creation, library handles and PTX JIT
        double coldMs = sw.Elapsed.TotalMilliseconds;
        Assert.That(first.Passed, Is.True, first.Detail);
        Training.GpuSelfCheckTests.ReleaseLeakedStorages();
        long allocated = Engine.Cuda.MemoryStats().Allocated;
        sw.Restart();
        var second = GpuSelfCheck.Run(Device.Cuda(0));
        double warmMs = sw.Elapsed.TotalMilliseconds;
        TestContext.Out.WriteLine($"self-check: {coldMs:F0} ms first, {warmMs:F0} ms again");
        Assert.That(second.Passed, Is.True, second.Detail);
        Assert.That(warmMs, Is.LessThan(500), "a warm self-check");
        Training.GpuSelfCheckTests.ReleaseLeakedStorages();
        Assert.That(Engine.Cuda.MemoryStats().Allocated, Is.EqualTo(allocated), "device bytes still allocated after the check");
    }

    [Test]
    public void AutoPicksCudaDevice0()
    {
        TestDevice.Cuda.Require();
        var log = new StringWriter();
        Assert.That(TrainCommand.ResolveDevice("auto", log), Is.EqualTo(Device.Cuda(0)), log.ToString());
        Assert.That(log.ToString(), Is.Empty);
    }
}
