using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;
using F = Engine.Functional;

namespace Engine.Tests.CudaTests;

/// <summary>
/// Convolution, average pooling, batch norm and LRN through cuDNN on a real GPU against the CPU backend, forward and
/// backward, over random shapes (2-D and 3-D, groups, dilation, stride, asymmetric padding). float64 is compared tightly,
/// float32 with TF32 on loosely (~1e-3 relative) and off tightly. [Category("Cuda")]: ignored without a GPU.
/// </summary>
[NonParallelizable]
public class CudnnTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);

    private static double Tol(DType dt, bool tf32) => dt == DType.Float64 ? 1e-10 : tf32 ? 5e-3 : 2e-5;

    // |got − expected| ≤ tol·(1 + max|expected|): conv sums many products, so errors scale with the output's magnitude.
    private static void AssertNear(Tensor got, Tensor expected, double tol, string what)
    {
        var g = got.ToDoubleArray();
        var e = expected.ToDoubleArray();
        Assert.That(got.Shape, Is.EqualTo(expected.Shape), what + " shape");
        double scale = 1 + e.Select(Math.Abs).DefaultIfEmpty(0).Max();
        for (int i = 0; i < g.Length; i++)
            Assert.That(Math.Abs(g[i] - e[i]), Is.LessThanOrEqualTo(tol * scale), $"{what} element {i}: got {g[i]}, expected {e[i]}");
    }

    private static Tensor Leaf(Tensor t) => t.Detach().RequiresGrad_();

    [Test, Category("Cuda")]
    public void ConvolutionMatchesTheCpuForwardAndBackward([Values(2, 3)] int spatial, [Values(DType.Float32, DType.Float64)] DType dt,
        [Values(true, false)] bool tf32, [Range(0, 3)] int trial)
    {
        TestDevice.Cuda.Require();
        if (dt == DType.Float64 && !tf32) Assert.Pass("float64 is unaffected by the TF32 switch (covered by the other case)");
        var r = TestUtil.Rng();
        var gen = TestUtil.Gen();
        bool was = GpuBackend.AllowTf32;
        GpuBackend.AllowTf32 = tf32;
        try
        {
            int groups = trial % 2 == 0 ? 1 : 2, c = groups * r.Next(1, 4), o = groups * r.Next(1, 4), n = r.Next(1, 4);
            int[] size = Enumerable.Range(0, spatial).Select(_ => r.Next(5, spatial == 2 ? 14 : 8)).ToArray();
            int[] kernel = Enumerable.Range(0, spatial).Select(_ => r.Next(1, 4)).ToArray();
            int[] stride = Enumerable.Range(0, spatial).Select(_ => r.Next(1, 3)).ToArray();
            int[] dil = Enumerable.Range(0, spatial).Select(_ => r.Next(1, 3)).ToArray();
            int[] pad = trial == 3
                ? Enumerable.Range(0, 2 * spatial).Select(_ => r.Next(0, 3)).ToArray()   // per side (asymmetric)
                : Enumerable.Range(0, spatial).Select(_ => r.Next(0, 2)).ToArray();
            long[] xs = [n, c, .. size.Select(v => (long)v)];
            long[] ws = [o, c / groups, .. kernel.Select(v => (long)v)];
            using var x = Leaf(Tensor.Randn(xs, dt, gen));
            using var w = Leaf(Tensor.Randn(ws, dt, gen));
            using var b = Leaf(Tensor.Randn([o], dt, gen));
            using var xg = Leaf(x.To(Gpu0));
            using var wg = Leaf(w.To(Gpu0));
            using var bg = Leaf(b.To(Gpu0));
            Tensor Conv(Tensor xx, Tensor ww, Tensor bb) => spatial == 2
                ? F.Conv2d(xx, ww, bb, stride, pad, dil, groups)
                : F.Conv3d(xx, ww, bb, stride, pad, dil, groups);
            long calls = Gpu.LibraryCalls, fallbacks = Gpu.CpuFallbacks;
            using var y = Conv(x, w, b);
            using var yg = Conv(xg, wg, bg);
            double tol = Tol(dt, tf32);
            AssertNear(yg, y, tol, "y");
            using var gy = Tensor.Randn(y.Shape, dt, gen);
            y.Backward(gy);
            yg.Backward(gy.To(Gpu0));
            AssertNear(xg.Grad!, x.Grad!, tol, "dx");
            AssertNear(wg.Grad!, w.Grad!, tol, "dw");
            AssertNear(bg.Grad!, b.Grad!, tol, "db");
            Assert.That(Gpu.LibraryCalls, Is.GreaterThan(calls + 3), "cuDNN ran forward, backward data, weight and bias");
            Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no CPU fallback");
        }
        finally { GpuBackend.AllowTf32 = was; }
    }

    [Test, Category("Cuda")]
    public void AlgorithmChoiceIsCachedPerShape()
    {
        TestDevice.Cuda.Require();
        var gen = TestUtil.Gen();
        var rt = (CudaRuntime)Gpu.Runtime;
        using var x = Tensor.Randn([2, 3, 9, 9], DType.Float32, gen, Gpu0);
        using var w = Tensor.Randn([4, 3, 3, 3], DType.Float32, gen, Gpu0);
        using (F.Conv2d(x, w, null, 1, 1)) { }
        int after = rt.ConvAlgorithmCount;
        using (F.Conv2d(x, w, null, 1, 1)) { }
        Assert.That(rt.ConvAlgorithmCount, Is.EqualTo(after), "the same shape reuses its algorithm");
        using (F.Conv2d(x, w, null, 2, 1)) { }
        Assert.That(rt.ConvAlgorithmCount, Is.EqualTo(after + 1), "a new stride is a new search");
    }

    [Test, Category("Cuda")]
    public void AveragePoolingMatchesTheCpu([Values(DType.Float32, DType.Float64)] DType dt, [Values(true, false)] bool includePad, [Range(0, 3)] int trial)
    {
        TestDevice.Cuda.Require();
        var r = TestUtil.Rng();
        var gen = TestUtil.Gen();
        int k = r.Next(1, 5), s = r.Next(1, 4), p = r.Next(0, k / 2 + 1);
        using var x = Leaf(Tensor.Randn([r.Next(1, 4), r.Next(1, 5), r.Next(k, 20), r.Next(k, 20)], dt, gen));
        using var xg = Leaf(x.To(Gpu0));
        using var y = F.AvgPool2d(x, k, s, p, countIncludePad: includePad);
        long calls = Gpu.LibraryCalls;
        using var yg = F.AvgPool2d(xg, k, s, p, countIncludePad: includePad);
        double tol = dt == DType.Float64 ? 1e-12 : 1e-5;
        AssertNear(yg, y, tol, "y");
        using var gy = Tensor.Randn(y.Shape, dt, gen);
        y.Backward(gy);
        yg.Backward(gy.To(Gpu0));
        AssertNear(xg.Grad!, x.Grad!, tol, "dx");
        Assert.That(Gpu.LibraryCalls, Is.EqualTo(calls + 2));
    }

    [Test, Category("Cuda")]
    public void AdaptiveAveragePoolingWithUniformWindowsRunsOnCudnn()
    {
        TestDevice.Cuda.Require();
        var gen = TestUtil.Gen();
        using var x = Tensor.Randn([2, 3, 12, 8], DType.Float32, gen);
        using var xg = x.To(Gpu0);
        AssertNear(F.AdaptiveAvgPool2d(xg, 4, 2), F.AdaptiveAvgPool2d(x, 4, 2), 1e-5, "adaptive");
        AssertNear(F.GlobalAvgPool2d(xg), F.GlobalAvgPool2d(x), 1e-5, "global");
        using var x3 = Tensor.Randn([1, 2, 6, 6, 6], DType.Float64, gen);
        AssertNear(F.AvgPool3d(x3.To(Gpu0), 2), F.AvgPool3d(x3, 2), 1e-12, "avg_pool3d");
    }

    [Test, Category("Cuda")]
    public void BatchNormTrainingMatchesTheCpuIncludingRunningStats([Values(DType.Float32, DType.Float64)] DType dt, [Values(true, false)] bool affine, [Values(2, 4)] int rank)
    {
        TestDevice.Cuda.Require();
        var r = TestUtil.Rng();
        var gen = TestUtil.Gen();
        int n = r.Next(2, 6), c = r.Next(1, 9);
        long[] shape = rank == 2 ? [n, c] : [n, c, r.Next(1, 9), r.Next(1, 9)];
        using var x = Leaf(Tensor.Randn(shape, dt, gen) * 2 + 1);
        using var xg = Leaf(x.To(Gpu0));
        using var w = affine ? Leaf(Tensor.Randn([c], dt, gen)) : null;
        using var b = affine ? Leaf(Tensor.Randn([c], dt, gen)) : null;
        using var wg = w is null ? null : Leaf(w.To(Gpu0));
        using var bg = b is null ? null : Leaf(b.To(Gpu0));
        using var rm = Tensor.Randn([c], dt, gen);
        using var rv = Tensor.Randn([c], dt, gen).Abs() + 0.5;
        using var rmg = rm.To(Gpu0);
        using var rvg = rv.To(Gpu0);
        using var y = F.BatchNorm(x, rm, rv, w, b, training: true, momentum: 0.3, eps: 1e-4);
        long calls = Gpu.LibraryCalls;
        using var yg = F.BatchNorm(xg, rmg, rvg, wg, bg, training: true, momentum: 0.3, eps: 1e-4);
        double tol = dt == DType.Float64 ? 1e-10 : 1e-4;
        AssertNear(yg, y, tol, "y");
        AssertNear(rmg, rm, tol, "running mean (momentum)");
        AssertNear(rvg, rv, tol, "running var (unbiased)");
        using var gy = Tensor.Randn(y.Shape, dt, gen);
        y.Backward(gy);
        yg.Backward(gy.To(Gpu0));
        AssertNear(xg.Grad!, x.Grad!, tol, "dx");
        if (affine) { AssertNear(wg!.Grad!, w!.Grad!, tol, "dw"); AssertNear(bg!.Grad!, b!.Grad!, tol, "db"); }
        Assert.That(Gpu.LibraryCalls, Is.GreaterThanOrEqualTo(calls + 2));
    }

    [Test, Category("Cuda")]
    public void BatchNormEvalMatchesTheCpuForwardAndBackward([Values(DType.Float32, DType.Float64)] DType dt)
    {
        TestDevice.Cuda.Require();
        var gen = TestUtil.Gen();
        int c = 5;
        using var x = Leaf(Tensor.Randn([3, c, 4, 6], dt, gen));
        using var xg = Leaf(x.To(Gpu0));
        using var w = Leaf(Tensor.Randn([c], dt, gen));
        using var b = Leaf(Tensor.Randn([c], dt, gen));
        using var wg = Leaf(w.To(Gpu0));
        using var bg = Leaf(b.To(Gpu0));
        using var rm = Tensor.Randn([c], dt, gen);
        using var rv = Tensor.Randn([c], dt, gen).Abs() + 0.5;
        using var y = F.BatchNorm(x, rm, rv, w, b, training: false);
        using var yg = F.BatchNorm(xg, rm.To(Gpu0), rv.To(Gpu0), wg, bg, training: false);
        double tol = dt == DType.Float64 ? 1e-10 : 1e-5;
        AssertNear(yg, y, tol, "y");
        using var gy = Tensor.Randn(y.Shape, dt, gen);
        y.Backward(gy);
        yg.Backward(gy.To(Gpu0));
        AssertNear(xg.Grad!, x.Grad!, tol, "dx");
        AssertNear(wg.Grad!, w.Grad!, tol, "dw");
        AssertNear(bg.Grad!, b.Grad!, tol, "db");
    }

    [Test, Category("Cuda")]
    public void CudnnLrnMatchesTheCpu([Values(DType.Float32, DType.Float64)] DType dt, [Values(1, 3, 5)] int size)
    {
        TestDevice.Cuda.Require();
        var r = TestUtil.Rng();
        var gen = TestUtil.Gen();
        int n = r.Next(1, 4), c = r.Next(1, 12), s = r.Next(1, 40);
        double alpha = 1e-2, beta = 0.75, k = 2;
        using var x = Tensor.Randn([n, c, s], dt, gen) * 3;
        using var dy = Tensor.Randn([n, c, s], dt, gen);
        var cpu = Backends.For(Device.Cpu);
        using var y = Tensor.Zeros([n, c, s], dt);
        using var dx = Tensor.Zeros([n, c, s], dt);
        cpu.LrnForward(new(n, c, s, size, alpha, beta, k), y.View("t"), x.View("t"));
        cpu.LrnBackward(new(n, c, s, size, alpha, beta, k), dx.View("t"), dy.View("t"), x.View("t"), y.View("t"));
        using var xg = x.To(Gpu0);
        using var dyg = dy.To(Gpu0);
        using var yg = Tensor.Zeros([n, c, s], dt, Gpu0);
        using var dxg = Tensor.Zeros([n, c, s], dt, Gpu0);
        Gpu.CudnnLrnForward(new(n, c, s, size, alpha, beta, k), yg.View("t"), xg.View("t"));
        Gpu.CudnnLrnBackward(new(n, c, s, size, alpha, beta, k), dxg.View("t"), dyg.View("t"), xg.View("t"), yg.View("t"));
        double tol = dt == DType.Float64 ? 1e-10 : 1e-5;
        AssertNear(yg, y, tol, "y");
        AssertNear(dxg, dx, tol, "dx");
    }

    [Test, Category("Cuda")]
    public void CudnnLrnRejectsWhatItCannotMatch()
    {
        TestDevice.Cuda.Require();
        using var x = Tensor.Zeros([1, 4, 3], DType.Float32, Gpu0);
        using var y = Tensor.Zeros([1, 4, 3], DType.Float32, Gpu0);
        Assert.Throws<ArgumentValueException>(() => Gpu.CudnnLrnForward(new(1, 4, 3, 4, 1e-4, 0.75, 1), y.View("t"), x.View("t")), "even window");
        Assert.Throws<ArgumentValueException>(() => Gpu.CudnnLrnForward(new(1, 4, 3, 17, 1e-4, 0.75, 1), y.View("t"), x.View("t")), "window above 16");
        Assert.Throws<ArgumentValueException>(() => Gpu.CudnnLrnForward(new(1, 4, 3, 5, 1e-4, 0.001, 1), y.View("t"), x.View("t")), "beta below 0.01");
    }
}
