using Engine.Kernels;
using Engine.Kernels.Gpu;
using F = Engine.Functional;

namespace Engine.Tests.Emulated;

/// <summary>
/// The hand-written average-pooling kernels (avg_pool.ptx) on the emulated device against the CPU backend, forward and
/// backward, bit for bit (same summation order, one IEEE division): random 2-D and 3-D geometries with padding, stride
/// larger than the kernel (inputs in no window), ceil mode, count_include_pad on and off, divisor_override, and adaptive
/// pooling with uneven overlapping windows; and that the kernels (not a CPU fallback) ran. On a real GPU the same kernels
/// serve every geometry cuDNN cannot map.
/// </summary>
[NonParallelizable]
public class AvgPoolKernelTests
{
    private static readonly Device Emu = Device.Emulated;

    private static Random Rng() => new((int)TestContext.CurrentContext.Random.NextUInt());

    private static void Check(Func<Tensor, Tensor> pool, Tensor x, string what, Device device, double rtol = 0)
    {
        var gpu = (GpuBackend)Backends.For(device);
        using var xc = x.Detach().RequiresGrad_();
        using var xe = x.To(device).Detach().RequiresGrad_();
        using var y = pool(xc);
        long launches = gpu.PtxLaunches;
        var fallbacks = new Dictionary<string, long>(gpu.CpuFallbackOps);
        using var ye = pool(xe);
        Assert.That(gpu.PtxLaunches, Is.GreaterThan(launches), what + ": the forward kernel ran");
        TestUtil.AssertClose(ye, y, 0, rtol);
        using var gy = Tensor.Randn(y.Shape, x.DType, TestUtil.Gen());
        y.Backward(gy);
        launches = gpu.PtxLaunches;
        ye.Backward(gy.To(device));
        Assert.That(gpu.PtxLaunches, Is.GreaterThan(launches), what + ": the backward kernel ran");
        TestUtil.AssertClose(xe.Grad!, xc.Grad!, 0, rtol);
        var fellBack = gpu.CpuFallbackOps.Where(kv => kv.Value > fallbacks.GetValueOrDefault(kv.Key)).Select(kv => kv.Key);
        Assert.That(fellBack, Has.None.StartsWith("avg_pool"), what + ": no CPU fallback");
    }

    // A random ordinary geometry for one dim: kernel, stride (up to beyond the kernel), padding within half the kernel,
    // and an input at least as large as the kernel.
    private static (int K, int S, int P, int N) Dim(Random r)
    {
        int k = r.Next(1, 5), s = r.Next(1, 4), p = r.Next(0, k / 2 + 1);
        return (k, s, p, r.Next(Math.Max(k - 2 * p, 1), 12));
    }

    [Test]
    public void AvgPool2dMatchesTheCpu([Values(DType.Float32, DType.Float64)] DType dt, [Range(0, 7)] int trial)
    {
        var r = Rng();
        var (kh, sh, ph, h) = Dim(r);
        var (kw, sw, pw, w) = Dim(r);
        bool ceil = (trial & 1) != 0, include = (trial & 2) != 0;
        int? divisor = (trial & 4) != 0 ? r.Next(1, 10) : null;
        // A non-contiguous input: the op makes it contiguous before the kernel sees it.
        using var x0 = Tensor.Randn([r.Next(1, 4), h, w, r.Next(1, 3)], dt, TestUtil.Gen());
        using var x = x0.Permute(0, 3, 1, 2);
        Check(t => F.AvgPool2d(t, [kh, kw], [sh, sw], [ph, pw], ceil, include, divisor), x,
            $"k{kh}x{kw} s{sh}x{sw} p{ph}x{pw} in {h}x{w} ceil {ceil} count_include_pad {include} divisor {divisor}", Emu);
    }

    [Test]
    public void AvgPool3dMatchesTheCpu([Values(DType.Float32, DType.Float64)] DType dt, [Range(0, 3)] int trial)
    {
        var r = Rng();
        var dims = new[] { Dim(r), Dim(r), Dim(r) };
        bool ceil = (trial & 1) != 0, include = (trial & 2) != 0;
        int? divisor = r.Next(3) == 0 ? r.Next(1, 30) : null;
        using var x = Tensor.Randn([r.Next(1, 3), r.Next(1, 3), dims[0].N, dims[1].N, dims[2].N], dt, TestUtil.Gen());
        var d = string.Join(", ", dims.Select(v => $"k{v.K} s{v.S} p{v.P} n{v.N}"));
        Check(t => F.AvgPool3d(t, dims.Select(v => v.K).ToArray(), dims.Select(v => v.S).ToArray(), dims.Select(v => v.P).ToArray(), ceil, include, divisor),
            x, $"{d} ceil {ceil} count_include_pad {include} divisor {divisor}", Emu);
    }

    [Test]
    public void AdaptiveAvgPoolWithUnevenWindowsMatchesTheCpu([Values(DType.Float32, DType.Float64)] DType dt, [Range(0, 2)] int trial)
    {
        var r = Rng();
        var gen = TestUtil.Gen();
        // Output sizes that do not divide the input give windows of different lengths that overlap; larger outputs than
        // inputs repeat inputs.
        using var x2 = Tensor.Randn([r.Next(1, 3), r.Next(1, 4), r.Next(1, 14), r.Next(1, 14)], dt, gen);
        int oh = r.Next(1, 16), ow = r.Next(1, 16);
        Check(t => F.AdaptiveAvgPool2d(t, oh, ow), x2, $"adaptive 2-D {x2.Size(2)}x{x2.Size(3)} -> {oh}x{ow}", Emu);
        using var x3 = Tensor.Randn([1, r.Next(1, 3), r.Next(1, 8), r.Next(1, 8), r.Next(1, 8)], dt, gen);
        int[] o3 = [r.Next(1, 9), r.Next(1, 9), r.Next(1, 9)];
        Check(t => F.AdaptiveAvgPool3d(t, o3[0], o3[1], o3[2]), x3, $"adaptive 3-D -> {string.Join("x", o3)}", Emu);
    }

    [Test]
    public void PartialWindowsAndUncoveredInputsGetTheCpuGradients()
    {
        // 5x5, kernel 2, stride 3: windows [0, 2) and [3, 5), so row and column 2 lie in no window (their gradient must be
        // 0 without a zeroing pass). Kernel 3, stride 2, padding 1: windows clipped by the padding, divided by the clipped
        // or the padded length.
        using var x = Tensor.FromArray(Enumerable.Range(0, 25).Select(i => (float)i).ToArray(), 1, 1, 5, 5);
        Check(t => F.AvgPool2d(t, 2, 3, 0, ceilMode: true), x, "uncovered inputs", Emu);
        Check(t => F.AvgPool2d(t, 3, 2, 1, ceilMode: true, countIncludePad: false), x, "partial windows", Emu);
        Check(t => F.AvgPool2d(t, 3, 2, 1, ceilMode: true, countIncludePad: true), x, "partial windows, padding counted", Emu);
    }

    [Test, Category("Cuda")]
    public void GeometriesCudnnCannotMapRunTheKernelsOnARealGpu([Values(DType.Float32, DType.Float64)] DType dt)
    {
        if (!Engine.Kernels.Cuda.CudaProbe.IsAvailable) Assert.Ignore(Engine.Kernels.Cuda.CudaProbe.Reason);
        var gpu = Device.Cuda(0);
        var gen = TestUtil.Gen();
        using var x = Tensor.Randn([4, 8, 33, 29], dt, gen);
        Check(t => F.AvgPool2d(t, 3, 2, 0, ceilMode: true), x, "ceil mode, partial last window", gpu);
        Check(t => F.AvgPool2d(t, 3, 2, 1, ceilMode: true, countIncludePad: false), x, "ceil mode, padding not counted", gpu);
        Check(t => F.AvgPool2d(t, 3, 3, 0, divisorOverride: 5), x, "divisor_override", gpu);
        Check(t => F.AdaptiveAvgPool2d(t, 7, 6), x, "adaptive, uneven windows", gpu);
        using var x3 = Tensor.Randn([2, 3, 9, 10, 11], dt, gen);
        Check(t => F.AvgPool3d(t, [2, 3, 2], [2, 2, 2], [1, 1, 0], ceilMode: true), x3, "3-D, ceil mode", gpu);
        Check(t => F.AdaptiveAvgPool3d(t, 4, 3, 5), x3, "adaptive 3-D", gpu);
    }
}
