using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The generated float64 softmax kernels (SoftmaxGen) and the exact GELU / GeluBackward kernels (PtxGen.Erf64) on a real
/// GPU against the CPU backend, at sizes the emulator is too slow for: the twins of <c>Emulated.Float64SoftmaxKernelTests</c>
/// and <c>Emulated.GeluKernelTests</c>. Ignored when <see cref="CudaProbe.IsAvailable"/> is false.
/// </summary>
[NonParallelizable, Category("Cuda")]
public class GeneratedFloat64CudaTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static IBackend Cpu => Backends.For(Device.Cpu);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);

    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    [Test]
    public void Float64SoftmaxMatchesTheCpu([Values(1, 255, 5000, 100_000)] int n, [Values(false, true)] bool log, [Values(0.5, 1.0, 20.0)] double temperature)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long rows = Math.Max(3, Math.Min(4099, 2_000_000 / n));
        var x = Tensor.Randn([rows, n], DType.Float64, g) * 3;
        double k = 1 / temperature;
        long launches = Gpu.PtxLaunches;
        var ye = Tensor.Empty(x.Shape, DType.Float64, Gpu0);
        Gpu.Softmax(ye.View("t"), x.To(Gpu0).View("t"), log, k);
        var yc = Tensor.Empty(x.Shape, DType.Float64, Device.Cpu);
        Cpu.Softmax(yc.View("t"), x.View("t"), log, k);
        TestUtil.AssertClose(ye.To(Device.Cpu), yc, log ? 2e-13 * Math.Log(n) + 1e-300 : 1e-16, 1e-13);

        var grad = Tensor.Randn(x.Shape, DType.Float64, g);
        var de = Tensor.Empty(x.Shape, DType.Float64, Gpu0);
        Gpu.SoftmaxBackward(de.View("t"), grad.To(Gpu0).View("t"), ye.View("t"), log, k);
        var dc = Tensor.Empty(x.Shape, DType.Float64, Device.Cpu);
        Cpu.SoftmaxBackward(dc.View("t"), grad.View("t"), ye.To(Device.Cpu).View("t"), log, k);
        double gmax = grad.Abs().Max().Item() * Math.Sqrt(n);
        TestUtil.AssertClose(de.To(Device.Cpu), dc, 1e-12 * k * gmax, 1e-13);
        Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(2), "forward and backward ran as PTX");
    }

    [Test]
    public void GeluAndBackwardMatchTheCpu([Values(DType.Float32, DType.Float64)] DType dt)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = (Tensor.Randn([1 << 20], DType.Float64, g) * 5).To(dt);
        var dy = Tensor.Randn([1 << 20], dt, g);
        var (atol, rtol) = dt == DType.Float32 ? (1e-30, 1e-6) : (1e-14, 1e-13);
        var ye = Tensor.Empty(x.Shape, dt, Gpu0);
        Gpu.Unary(UnaryOp.Gelu, ye.View("t"), x.To(Gpu0).View("t"), 0, 0);
        var yc = Tensor.Empty(x.Shape, dt, Device.Cpu);
        Cpu.Unary(UnaryOp.Gelu, yc.View("t"), x.View("t"), 0, 0);
        TestUtil.AssertClose(ye.To(Device.Cpu), yc, atol, rtol);
        var de = Tensor.Empty(x.Shape, dt, Gpu0);
        Gpu.Binary(BinaryOp.GeluBackward, de.View("t"), dy.To(Gpu0).View("t"), x.To(Gpu0).View("t"), 0, 0);
        var dc = Tensor.Empty(x.Shape, dt, Device.Cpu);
        Cpu.Binary(BinaryOp.GeluBackward, dc.View("t"), dy.View("t"), x.View("t"), 0, 0);
        TestUtil.AssertClose(de.To(Device.Cpu), dc, atol * 10, rtol);
    }
}
