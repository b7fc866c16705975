using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The softmax kernels of softmax.ptx on a real GPU (<see cref="Device.Cuda"/>) against the CPU backend in float64 on the
/// same float32 inputs: the twin of <c>Emulated.SoftmaxKernelTests</c> with the sizes the emulator is too slow for.
/// Ignored when <see cref="CudaProbe.IsAvailable"/> is false.
/// </summary>
[NonParallelizable, Category("Cuda")]
public class SoftmaxCudaTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static IBackend Cpu => Backends.For(Device.Cpu);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);

    // The hardware's ex2.approx.f32 is good to 2^-22.5 relative, lg2.approx to 2^-22.6 absolute, rcp.approx to 1 ulp.
    private const double Rtol = 1e-5, LogAtol = 1e-6, LogRtol = 2e-6;

    // The float32 sum Σ over a row of n carries a relative error of about 6e-8·√n (more for the simple kernel's sequential
    // sum, less for the others' tree), which every softmax output and every log-softmax output (as ln Σ) inherits.
    private static double SumTol(long n) => 2e-7 * Math.Sqrt(n);

    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    private static Tensor Logits(Generator g, long rows, long n) => (Tensor.Randn([rows, n], DType.Float64, g) * 3).To(DType.Float32);

    private static Tensor Forward(IBackend b, Tensor x, bool log, double scale, SoftmaxKernel kernel)
    {
        var y = Tensor.Empty(x.Shape, x.DType, x.Device);
        if (b is GpuBackend gb) gb.Softmax(y.View("t"), x.View("t"), log, scale, kernel);
        else b.Softmax(y.View("t"), x.View("t"), log, scale);
        return y;
    }

    private static Tensor Backward(IBackend b, Tensor g, Tensor y, bool log, double scale, SoftmaxKernel kernel)
    {
        var dx = Tensor.Empty(y.Shape, y.DType, y.Device);
        if (b is GpuBackend gb) gb.SoftmaxBackward(dx.View("t"), g.View("t"), y.View("t"), log, scale, kernel);
        else b.SoftmaxBackward(dx.View("t"), g.View("t"), y.View("t"), log, scale);
        return dx;
    }

    public static IEnumerable<TestCaseData> Cases() =>
        from n in new[] { 1, 10, 31, 33, 128, 129, 512, 513, 1000, 1024, 1025, 5000, 12160, 12161, 100_000 }
        from kernel in new[] { SoftmaxKernel.Auto, SoftmaxKernel.Simple, SoftmaxKernel.Online }
        select new TestCaseData(n, kernel);

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchFloat64Cpu(int n, SoftmaxKernel kernel)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long rows = Math.Max(3, Math.Min(4099, 2_000_000 / n));
        foreach (double t in new[] { 0.5, 1, 4, 20 })
            foreach (bool log in new[] { false, true })
            {
                double k = 1 / t;
                var x = Logits(g, rows, n);
                long launches = Gpu.PtxLaunches;
                var yd = Forward(Gpu, x.To(Gpu0), log, k, kernel);
                TestUtil.AssertClose(yd.To(Device.Cpu), Forward(Cpu, x.To(DType.Float64), log, k, kernel), log ? LogAtol + SumTol(n) : 1e-7, log ? LogRtol : Rtol + SumTol(n));
                var grad = Tensor.Randn(x.Shape, DType.Float32, g);
                var dxd = Backward(Gpu, grad.To(Gpu0), yd, log, k, kernel);
                var dxRef = Backward(Cpu, grad.To(DType.Float64), yd.To(Device.Cpu).To(DType.Float64), log, k, kernel);
                TestUtil.AssertClose(dxd.To(Device.Cpu), dxRef, 1e-6 * Math.Max(1, dxRef.Abs().Max().Item()) + 1e-7 * k, Rtol);
                Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(2));
            }
    }

    [Test]
    public void ExtremeLogitsAndAutogradMatchTheCpu([Values(0.5, 1.0, 4.0, 20.0)] double temperature)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        float[] data = [1e4f, -1e4f, 0, 1e4f - 1, 5, 5, 5, 5, 1e4f, 1e4f, 1e4f, 1e4f, float.NegativeInfinity, 0, 0, 1];
        var x = Tensor.FromArray(data, 4, 4);
        foreach (bool log in new[] { false, true })
        {
            var xc = x.Clone().RequiresGrad_();
            var xd = x.To(Gpu0).RequiresGrad_();
            var yc = log ? Functional.LogSoftmax(xc, temperature) : Functional.Softmax(xc, temperature);
            var yd = log ? Functional.LogSoftmax(xd, temperature) : Functional.Softmax(xd, temperature);
            TestUtil.AssertClose(yd.To(Device.Cpu), yc, log ? LogAtol : 1e-7, log ? LogRtol : Rtol);
            var w = Tensor.Randn([4, 4], DType.Float32, TestUtil.Gen());
            yc.Backward(w);   // no reduction: those have no GPU kernel yet
            yd.Backward(w.To(Gpu0));
            TestUtil.AssertClose(xd.Grad!.To(Device.Cpu), xc.Grad!, 2e-6 / temperature, 1e-4);
        }
    }
}
