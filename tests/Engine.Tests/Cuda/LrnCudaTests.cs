using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The hand-written LRN kernels (lrn.ptx), sliding and simple, on <see cref="Device.Cuda"/> against the CPU backend run
/// in float64 on the same values: forward, backward and through autograd, at sizes up to AlexNet's first LRN layer.
/// Every test carries [Category("Cuda")] and is ignored when <see cref="CudaProbe.IsAvailable"/> is false.
/// </summary>
[NonParallelizable]
public class LrnCudaTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static IBackend Cpu => Backends.For(Device.Cpu);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);

    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    /// <summary>(N, C, S, size): AlexNet's LRN (at batch 16), many channels, ragged spatial sizes, C = 1, size > C.</summary>
    private static readonly (int N, int C, int S, int Size)[] Shapes =
        [(16, 96, 55 * 55, 5), (4, 384, 13 * 13, 5), (3, 13, 1001, 7), (2, 1, 4097, 1), (2, 5, 300, 11), (5, 64, 27 * 27, 4)];

    private static readonly (double Alpha, double Beta, double K)[] Params = [(1e-4, 0.75, 2.0), (0.5, 0.75, 1.0), (2.0, 0.6, 1.0), (0.7, 1.37, 0.8)];

    private static Random Rng() => new((int)TestContext.CurrentContext.Random.NextUInt());

    private static Tensor Values(Generator g, int n, int c, int s, DType dt, double scale = 3) =>
        (Tensor.Randn([n, c, s], DType.Float64, g) * scale).To(dt);

    private static (double Atol, double Rtol) Tol(DType dt, Tensor reference)
    {
        double max = reference.Abs().Max().Item();
        return dt == DType.Float32 ? (1e-5 * max + 1e-7, 1e-5) : (1e-12 * max + 1e-14, 1e-11);
    }

    private static void WithKernels(LrnKernels which, Action body)
    {
        var old = Gpu.LrnKernels;
        Gpu.LrnKernels = which;
        try { body(); }
        finally { Gpu.LrnKernels = old; }
    }

    [Test, Category("Cuda")]
    public void ForwardAndBackwardMatchCpu([Values] LrnKernels which, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        RequireGpu();
        var g = TestUtil.Gen();
        var r = Rng();
        long launches = Gpu.PtxLaunches;
        WithKernels(which, () =>
        {
            foreach (var (n, c, s, size) in Shapes)
            {
                using var scope = Tensor.NewDisposeScope();
                var (alpha, beta, k) = Params[r.Next(Params.Length)];
                var x = Values(g, n, c, s, dt);
                var dy = Values(g, n, c, s, dt, 1);
                var x64 = x.To(DType.Float64);
                var y64 = Tensor.Empty([n, c, s], DType.Float64, Device.Cpu);
                Cpu.LrnForward(n, c, s, size, alpha, beta, k, y64.View("t"), x64.View("t"));
                var dx64 = Tensor.Empty([n, c, s], DType.Float64, Device.Cpu);
                Cpu.LrnBackward(n, c, s, size, alpha, beta, k, dx64.View("t"), dy.To(DType.Float64).View("t"), x64.View("t"), y64.View("t"));
                var xd = x.To(Gpu0);
                var yd = Tensor.Empty([n, c, s], dt, Gpu0);
                var dxd = Tensor.Empty([n, c, s], dt, Gpu0);
                Gpu.LrnForward(n, c, s, size, alpha, beta, k, yd.View("t"), xd.View("t"));
                Gpu.LrnBackward(n, c, s, size, alpha, beta, k, dxd.View("t"), dy.To(Gpu0).View("t"), xd.View("t"), yd.View("t"));
                TestContext.Out.WriteLine($"{which} {dt.Name()} N={n} C={c} S={s} size={size} alpha={alpha} beta={beta} k={k}");
                var (atol, rtol) = Tol(dt, y64);
                TestUtil.AssertClose(yd.To(Device.Cpu), y64, atol, rtol);
                (atol, rtol) = Tol(dt, dx64);
                TestUtil.AssertClose(dxd.To(Device.Cpu), dx64, atol, rtol);
            }
        });
        Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(2 * Shapes.Length), "two PTX launches per shape");
    }

    [Test, Category("Cuda")]
    public void AutogradMatchesCpu([Values] LrnKernels which, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        RequireGpu();
        var g = TestUtil.Gen();
        WithKernels(which, () =>
        {
            using var scope = Tensor.NewDisposeScope();
            var x = (Tensor.Randn([8, 96, 27, 27], DType.Float64, g) * 3).To(dt);
            var upstream = Tensor.Randn([8, 96, 27, 27], DType.Float64, g).To(dt);
            var xc = x.Clone().RequiresGrad_();
            var yc = Functional.LocalResponseNorm(xc, 5, 1e-4, 0.75, 2.0);
            yc.Backward(upstream);
            var xd = x.To(Gpu0).RequiresGrad_();
            var yd = Functional.LocalResponseNorm(xd, 5, 1e-4, 0.75, 2.0);
            yd.Backward(upstream.To(Gpu0));
            var (atol, rtol) = Tol(dt, yc);
            TestUtil.AssertClose(yd.To(Device.Cpu), yc, atol, rtol);
            (atol, rtol) = Tol(dt, xc.Grad!);
            TestUtil.AssertClose(xd.Grad!.To(Device.Cpu), xc.Grad!, 2 * atol, 2 * rtol);
        });
    }
}
