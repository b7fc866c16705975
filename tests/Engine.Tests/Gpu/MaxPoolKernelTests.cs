using Engine.Kernels;
using Engine.Kernels.Gpu;
using F = Engine.Functional;

namespace Engine.Tests.Gpu;

/// <summary>
/// The hand-written max-pooling kernels (max_pool.ptx) on each GPU device against the CPU backend: values, int64
/// indices and gradients for 2-D and 3-D pooling with padding, dilation, ceil mode and adaptive windows, NaN as a
/// maximum, a ResNet stem at full size on a real GPU, and that the kernels (not a CPU fallback) ran.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class MaxPoolKernelTests(TestDevice dev) : DeviceTests(dev)
{
    private void Check(Func<Tensor, (Tensor Y, Tensor I)> pool, Tensor x, string what)
    {
        using var xc = x.Detach().RequiresGrad_();
        using var xe = x.To(Device).Detach().RequiresGrad_();
        var (y, i) = pool(xc);
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        var (ye, ie) = pool(xe);
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches), what + ": the kernel ran");
        TestUtil.AssertClose(ye, y, 0, 0);
        Assert.That(ie.ToArray<long>(), Is.EqualTo(i.ToArray<long>()), what + ": indices");
        using var gy = Tensor.Randn(y.Shape, x.DType, TestUtil.Gen());
        y.Backward(gy);
        ye.Backward(gy.To(Device));
        TestUtil.AssertClose(xe.Grad!, xc.Grad!, 1e-12, 1e-6);
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), what + ": no CPU fallback");
        y.Dispose(); i.Dispose(); ye.Dispose(); ie.Dispose();
    }

    [Test]
    public void MaxPool2dMatchesTheCpu([Values(DType.Float32, DType.Float64)] DType dt, [Range(0, 3)] int trial)
    {
        var r = TestUtil.Rng();
        int k = r.Next(1, 4), s = r.Next(1, 3), dil = r.Next(1, 3), p = r.Next(0, ((k - 1) * dil + 1) / 2 + 1);
        bool ceil = trial % 2 == 1;
        long h = r.Next((k - 1) * dil + 1, 14), w = r.Next((k - 1) * dil + 1, 14);
        using var x = Tensor.Randn([r.Next(1, 3), r.Next(1, 4), h, w], dt, TestUtil.Gen());
        Check(t => F.MaxPool2dWithIndices(t, [k, k], [s, s], [p, p], [dil, dil], ceil), x, $"k{k} s{s} p{p} d{dil} ceil {ceil}");
    }

    [Test]
    public void MaxPool3dAndAdaptiveMatchTheCpu([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var gen = TestUtil.Gen();
        using var x3 = Tensor.Randn([2, 2, 5, 6, 7], dt, gen);
        Check(t => F.MaxPool3dWithIndices(t, [2, 3, 2], [1, 2, 2], [1, 1, 0], [1, 1, 2], ceilMode: true), x3, "3-D");
        using var x2 = Tensor.Randn([2, 3, 11, 9], dt, gen);
        Check(t => F.AdaptiveMaxPool2dWithIndices(t, 4, 5), x2, "adaptive");
    }

    [Test]
    public void OverlappingWindowsAccumulateGradientsAndNaNIsAMaximum()
    {
        // Stride 1 with a 3-wide window: each input is the maximum of several windows, so the backward adds several dy.
        using var x = Tensor.FromArray(new float[] { 0, 1, 9, 2, 3, float.NaN, 4, 5, 6 }, 1, 1, 3, 3);
        Check(t => F.MaxPool2dWithIndices(t, [2, 2], [1, 1]), x, "NaN and overlaps");
    }

    /// <summary>A ResNet stem's max pool (at full size on a real GPU), dilated with ceil mode, and 3-D.</summary>
    [Test]
    public void StemDilatedAnd3dPoolsMatchTheCpu([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var gen = TestUtil.Gen();
        using var x = Tensor.Randn(Dev.Pick<long[]>([1, 2, 15, 15], [8, 16, 57, 57]), dt, gen);
        Check(t => F.MaxPool2dWithIndices(t, [3, 3], [2, 2], [1, 1]), x, "ResNet stem max pool");
        Check(t => F.MaxPool2dWithIndices(t, [3, 3], [2, 2], [0, 0], [2, 2], ceilMode: true), x, "dilated, ceil");
        using var x3 = Tensor.Randn(Dev.Pick<long[]>([1, 2, 5, 6, 7], [2, 3, 9, 10, 11]), dt, gen);
        Check(t => F.MaxPool3dWithIndices(t, [2, 2, 2], [2, 2, 2]), x3, "3-D");
    }
}
