using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Emulated;

/// <summary>
/// Pooling window tables live on the device in a bounded cache owned by the backend: one upload per distinct geometry
/// (whatever geometry object describes it), and evicted tables go back to the allocator at once.
/// </summary>
[NonParallelizable]
public class PoolTableCacheTests
{
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Device.Emulated);

    [Test]
    public void TheSameGeometryUploadsItsTablesOnce()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Randn([2, 3, 17, 13], DType.Float32, TestUtil.Gen()).To(Device.Emulated);
        _ = Functional.MaxPool2d(x, 3, 2);   // make sure this geometry's tables exist
        int before = Gpu.CachedPoolTables;
        long blocks = Gpu.Memory.Stats.ActiveBlocks;
        for (int i = 0; i < 5; i++) _ = Functional.MaxPool2d(x, 3, 2);
        Assert.That(Gpu.CachedPoolTables, Is.EqualTo(before));
        Assert.That(Gpu.Memory.Stats.ActiveBlocks - blocks, Is.EqualTo(10), "only the 5 outputs and their 5 index tensors were allocated");
    }

    [Test]
    public void ManyGeometriesKeepTheCacheBounded()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        for (int h = 3; h < 3 + 300; h++)
        {
            using var inner = Tensor.NewDisposeScope();
            var x = Tensor.Randn([1, 1, h, 2], DType.Float32, g).To(Device.Emulated);
            _ = Functional.AvgPool2d(x, 2, 1);
        }
        Assert.That(Gpu.CachedPoolTables, Is.LessThanOrEqualTo(256));
    }
}
