using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// Device memory of a training loop on each GPU device: after warm-up a step allocates nothing from the device (every
/// block comes from the cache) and the memory held by live tensors is the same after every step (40 steps on the
/// emulator, 10,000 on a real GPU); memory statistics count live tensors; zeros from a cached block are zero.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class DeviceMemoryTests(TestDevice dev) : DeviceTests(dev)
{
    /// <summary>Runs <paramref name="steps"/> SGD steps of a two-layer MLP on <paramref name="device"/>; returns (allocated, device allocations) after each.</summary>
    private static (long Allocated, long DeviceAllocations)[] TrainingSteps(Device device, int steps)
    {
        var gpu = (GpuBackend)Backends.For(device);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var g = TestUtil.Gen();
        using var w1 = Tensor.Randn([12, 16], DType.Float32, g).To(device).RequiresGrad_();
        using var w2 = Tensor.Randn([16, 5], DType.Float32, g).To(device).RequiresGrad_();
        using var x = Tensor.Randn([24, 12], DType.Float32, g).To(device);
        using var y = Tensor.Randn([24, 5], DType.Float32, g).To(device);
        var trace = new (long, long)[steps];
        for (int step = 0; step < steps; step++)
        {
            using (Tensor.NewDisposeScope())
            {
                var h = x.MatMul(w1).Relu();
                var loss = (h.MatMul(w2) - y).Square().Mean();
                loss.Backward();
                using (Tensor.NoGrad())
                {
                    w1.AddInPlace(w1.Grad!, -0.01);
                    w2.AddInPlace(w2.Grad!, -0.01);
                    w1.Grad!.ZeroInPlace();
                    w2.Grad!.ZeroInPlace();
                }
            }
            var s = gpu.Memory.Stats;
            trace[step] = (s.Allocated, s.DeviceAllocations);
        }
        return trace;
    }

    [Test]
    public void AfterWarmUpATrainingStepMakesNoDeviceAllocationAndHoldsTheSameMemory()
    {
        var trace = TrainingSteps(Device, Dev.Pick(40, 10_000));
        for (int i = 4; i < trace.Length; i++)
        {
            Assert.That(trace[i].Allocated, Is.EqualTo(trace[3].Allocated), $"allocated bytes after step {i}");
            Assert.That(trace[i].DeviceAllocations, Is.EqualTo(trace[3].DeviceAllocations), $"device allocations by step {i}");
        }
        if (Dev.IsCuda) Engine.Cuda.Synchronize();
    }

    [Test]
    public void MemoryStatsCountLiveTensors()
    {
        // storages leaked by earlier tests return their blocks from the finalizer thread: let that happen first
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = Engine.Cuda.MemoryStats(Device);
        using (var t = Tensor.Ones([1000], DType.Float32, Device))
        {
            var during = Engine.Cuda.MemoryStats(Device);
            // a fresh 4096-byte block, or a cached one up to a quarter larger
            Assert.That(during.Allocated - before.Allocated, Is.InRange(4096, 5120));
            Assert.That(during.ActiveBlocks - before.ActiveBlocks, Is.EqualTo(1));
            Assert.That(t.ToArray<float>(), Is.All.EqualTo(1f));
        }
        Assert.That(Engine.Cuda.MemoryStats(Device).Allocated, Is.EqualTo(before.Allocated));
        Assert.Throws<DeviceException>(() => Engine.Cuda.MemoryStats(Device.Cpu));
    }

    [Test]
    public void ZerosFromACachedBlockAreZero()
    {
        using (var dirty = Tensor.Full([777], 3.5f, DType.Float32, Device)) { }
        using var z = Tensor.Zeros([777], DType.Float32, Device);
        Assert.That(z.ToArray<float>(), Is.All.EqualTo(0f));
    }
}
