using Engine.Kernels;
using Engine.Kernels.Gpu;
using F = Engine.Functional;

namespace Engine.Tests.Gpu;

/// <summary>
/// The hand-written average-pooling kernels (avg_pool.ptx) on each GPU device against the CPU backend, forward and
/// backward, bit for bit (same summation order, one IEEE division): random 2-D and 3-D geometries with padding, stride
/// larger than the kernel (inputs in no window), ceil mode, count_include_pad on and off, divisor_override, and adaptive
/// pooling with uneven overlapping windows; and that the kernels (not a CPU fallback) ran. On a real GPU cuDNN serves
/// the geometries its descriptor maps, so there only the geometries it cannot map are checked against the kernels.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class AvgPoolKernelTests(TestDevice dev) : DeviceTests(dev)
{
    private void Check(Func<Tensor, Tensor> pool, Tensor x, string what, double rtol = 0)
    {
        using var xc = x.Detach().RequiresGrad_();
        using var xe = x.To(Device).Detach().RequiresGrad_();
        using var y = pool(xc);
        long launches = Gpu.PtxLaunches;
        var fallbacks = new Dictionary<string, long>(Gpu.CpuFallbackOps);
        using var ye = pool(xe);
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches), what + ": the forward kernel ran");
        TestUtil.AssertClose(ye, y, 0, rtol);
        using var gy = Tensor.Randn(y.Shape, x.DType, TestUtil.Gen());
        y.Backward(gy);
        launches = Gpu.PtxLaunches;
        ye.Backward(gy.To(Device));
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches), what + ": the backward kernel ran");
        TestUtil.AssertClose(xe.Grad!, xc.Grad!, 0, rtol);
        var fellBack = Gpu.CpuFallbackOps.Where(kv => kv.Value > fallbacks.GetValueOrDefault(kv.Key)).Select(kv => kv.Key);
        Assert.That(fellBack, Has.None.StartsWith("avg_pool"), what + ": no CPU fallback");
    }

    // A random ordinary geometry for one dim: kernel, stride (up to beyond the kernel), padding within half the kernel,
    // and an input at least as large as the kernel.
    private (int K, int S, int P, int N) Dim(Random r)
    {
        int k = r.Next(1, 5), s = r.Next(1, 4), p = r.Next(0, k / 2 + 1);
        return (k, s, p, r.Next(Math.Max(k - 2 * p, 1), 12));
    }

    [Test]
    public void AvgPool2dMatchesTheCpu([Values(DType.Float32, DType.Float64)] DType dt, [Range(0, 7)] int trial)
    {
        Dev.RequireEmulator("on a real GPU cuDNN serves the geometries it maps; GeometriesCudnnCannotMapRunTheKernels checks the kernels there");
        var r = TestUtil.Rng();
        var (kh, sh, ph, h) = Dim(r);
        var (kw, sw, pw, w) = Dim(r);
        bool ceil = (trial & 1) != 0, include = (trial & 2) != 0;
        int? divisor = (trial & 4) != 0 ? r.Next(1, 10) : null;
        // A non-contiguous input: the op makes it contiguous before the kernel sees it.
        using var x0 = Tensor.Randn([r.Next(1, 4), h, w, r.Next(1, 3)], dt, TestUtil.Gen());
        using var x = x0.Permute(0, 3, 1, 2);
        Check(t => F.AvgPool2d(t, [kh, kw], [sh, sw], [ph, pw], ceil, include, divisor), x,
            $"k{kh}x{kw} s{sh}x{sw} p{ph}x{pw} in {h}x{w} ceil {ceil} count_include_pad {include} divisor {divisor}");
    }

    [Test]
    public void AvgPool3dMatchesTheCpu([Values(DType.Float32, DType.Float64)] DType dt, [Range(0, 3)] int trial)
    {
        Dev.RequireEmulator("on a real GPU cuDNN serves the geometries it maps; GeometriesCudnnCannotMapRunTheKernels checks the kernels there");
        var r = TestUtil.Rng();
        var dims = new[] { Dim(r), Dim(r), Dim(r) };
        bool ceil = (trial & 1) != 0, include = (trial & 2) != 0;
        int? divisor = r.Next(3) == 0 ? r.Next(1, 30) : null;
        using var x = Tensor.Randn([r.Next(1, 3), r.Next(1, 3), dims[0].N, dims[1].N, dims[2].N], dt, TestUtil.Gen());
        var d = string.Join(", ", dims.Select(v => $"k{v.K} s{v.S} p{v.P} n{v.N}"));
        Check(t => F.AvgPool3d(t, dims.Select(v => v.K).ToArray(), dims.Select(v => v.S).ToArray(), dims.Select(v => v.P).ToArray(), ceil, include, divisor),
            x, $"{d} ceil {ceil} count_include_pad {include} divisor {divisor}");
    }

    [Test]
    public void AdaptiveAvgPoolWithUnevenWindowsMatchesTheCpu([Values(DType.Float32, DType.Float64)] DType dt, [Range(0, 2)] int trial)
    {
        Dev.RequireEmulator("on a real GPU cuDNN serves the geometries it maps; GeometriesCudnnCannotMapRunTheKernels checks the kernels there");
        var r = TestUtil.Rng();
        var gen = TestUtil.Gen();
        // Output sizes that do not divide the input give windows of different lengths that overlap; larger outputs than
        // inputs repeat inputs.
        using var x2 = Tensor.Randn([r.Next(1, 3), r.Next(1, 4), r.Next(1, 14), r.Next(1, 14)], dt, gen);
        int oh = r.Next(1, 16), ow = r.Next(1, 16);
        Check(t => F.AdaptiveAvgPool2d(t, oh, ow), x2, $"adaptive 2-D {x2.Size(2)}x{x2.Size(3)} -> {oh}x{ow}");
        using var x3 = Tensor.Randn([1, r.Next(1, 3), r.Next(1, 8), r.Next(1, 8), r.Next(1, 8)], dt, gen);
        int[] o3 = [r.Next(1, 9), r.Next(1, 9), r.Next(1, 9)];
        Check(t => F.AdaptiveAvgPool3d(t, o3[0], o3[1], o3[2]), x3, $"adaptive 3-D -> {string.Join("x", o3)}");
    }

    [Test]
    public void PartialWindowsAndUncoveredInputsGetTheCpuGradients()
    {
        Dev.RequireEmulator("on a real GPU cuDNN serves the geometries it maps; GeometriesCudnnCannotMapRunTheKernels checks the kernels there");
        // 5x5, kernel 2, stride 3: windows [0, 2) and [3, 5), so row and column 2 lie in no window (their gradient must be
        // 0 without a zeroing pass). Kernel 3, stride 2, padding 1: windows clipped by the padding, divided by the clipped
        // or the padded length.
        using var x = Tensor.FromArray(Enumerable.Range(0, 25).Select(i => (float)i).ToArray(), 1, 1, 5, 5);
        Check(t => F.AvgPool2d(t, 2, 3, 0, ceilMode: true), x, "uncovered inputs");
        Check(t => F.AvgPool2d(t, 3, 2, 1, ceilMode: true, countIncludePad: false), x, "partial windows");
        Check(t => F.AvgPool2d(t, 3, 2, 1, ceilMode: true, countIncludePad: true), x, "partial windows, padding counted");
    }

    [Test]
    public void GeometriesCudnnCannotMapRunTheKernels([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var gen = TestUtil.Gen();
        using var x = Tensor.Randn(Dev.Pick<long[]>([1, 2, 13, 11], [4, 8, 33, 29]), dt, gen);
        Check(t => F.AvgPool2d(t, 3, 2, 0, ceilMode: true), x, "ceil mode, partial last window");
        Check(t => F.AvgPool2d(t, 3, 2, 1, ceilMode: true, countIncludePad: false), x, "ceil mode, padding not counted");
        Check(t => F.AvgPool2d(t, 3, 3, 0, divisorOverride: 5), x, "divisor_override");
        Check(t => F.AdaptiveAvgPool2d(t, 7, 6), x, "adaptive, uneven windows");
        using var x3 = Tensor.Randn(Dev.Pick<long[]>([1, 2, 5, 6, 7], [2, 3, 9, 10, 11]), dt, gen);
        Check(t => F.AvgPool3d(t, [2, 3, 2], [2, 2, 2], [1, 1, 0], ceilMode: true), x3, "3-D, ceil mode");
        Check(t => F.AdaptiveAvgPool3d(t, 4, 3, 5), x3, "adaptive 3-D");
    }
}
