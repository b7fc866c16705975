using Engine.Kernels;
using Engine.Kernels.Cpu;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The exact (erf) GELU and its backward as generated PTX (PtxGen.Erf64: the CPU's series and continued fraction) on
/// each GPU device against the CPU backend: a dense grid through both erf branches and their cut-offs, the tails,
/// special values, random values (a million on a real GPU); float32 (computed in f64, rounded once) and float64. Each
/// call runs as PTX.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class GeluKernelTests(TestDevice dev) : DeviceTests(dev)
{
    // |x| < 16 every 1/512 (erf's series for |x|/√2 < 3, continued fraction up to 6, ±1 beyond), the cut-offs and their
    // neighbours, tails and special values
    private double[] Points()
    {
        var v = new List<double>();
        for (int i = -8192; i <= 8192; i++) v.Add(i / 512.0);
        foreach (double c in new[] { 3 * Math.Sqrt(2), 6 * Math.Sqrt(2) })
            foreach (double s in new[] { 1.0, -1.0 })
            {
                double x = s * c;
                v.Add(x); v.Add(Math.BitIncrement(x)); v.Add(Math.BitDecrement(x));
            }
        v.AddRange([0, -0.0, 1e-300, -1e-300, 1e-310, -1e-310, 1e-20, -1e-20, 3, -3, 6, -6, 40, -40, 1e10, -1e10, 1e300, -1e300,
            double.PositiveInfinity, double.NegativeInfinity, double.NaN, double.Epsilon, -double.Epsilon]);
        return [.. v];
    }

    // f64: the CPU's own Φ carries ~1e-16 absolute error (1 + erf cancels for x < 0), so |x|·1e-15 absolute besides 1e-13 relative
    private void AssertClose(double[] got, double[] want, double[] x, DType dt, string what)
    {
        for (int i = 0; i < got.Length; i++)
        {
            double tol = dt == DType.Float32 ? 1e-6 * Math.Abs(want[i]) + 1e-30 : 1e-13 * Math.Abs(want[i]) + 1e-15 * Math.Min(Math.Abs(x[i]), 1e300);
            bool ok = TestUtil.Close(got[i], want[i], tol, 0);
            Assert.That(ok, $"{what} {dt.Name()} at x = {x[i]:R}: emulated {got[i]:R}, cpu {want[i]:R}");
        }
    }

    [Test]
    public void GeluMatchesTheCpuOnADenseGrid([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var c = Tensor.FromArray(Points()).To(dt);
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        var co = Tensor.Empty(c.Shape, dt, Device.Cpu);
        var eo = Tensor.Empty(c.Shape, dt, Device);
        Cpu.Unary(UnaryOp.Gelu, co.View("t"), c.View("t"), 0, 0);
        Gpu.Unary(UnaryOp.Gelu, eo.View("t"), c.To(Device).View("t"), 0, 0);
        AssertClose(eo.ToDoubleArray(), co.ToDoubleArray(), c.ToDoubleArray(), dt, "gelu");
        Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(1), "ran as PTX");
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no CPU fallback");
    }

    [Test]
    public void GeluBackwardMatchesTheCpuOnADenseGrid([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(Points()).To(dt);
        var g = (Tensor.Randn(x.Shape, DType.Float64, TestUtil.Gen()) * 2).To(dt);
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        var co = Tensor.Empty(x.Shape, dt, Device.Cpu);
        var eo = Tensor.Empty(x.Shape, dt, Device);
        Cpu.Binary(BinaryOp.GeluBackward, co.View("t"), g.View("t"), x.View("t"), 0, 0);
        Gpu.Binary(BinaryOp.GeluBackward, eo.View("t"), g.To(Device).View("t"), x.To(Device).View("t"), 0, 0);
        // the bracket Φ(x) + x·φ(x) is what carries the error; scale the absolute part by |g|
        var gd = g.ToDoubleArray();
        var xs = x.ToDoubleArray().Select((v, i) => v * Math.Abs(gd[i])).ToArray();
        AssertClose(eo.ToDoubleArray(), co.ToDoubleArray(), xs, dt, "gelu_backward");
        Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(1), "ran as PTX");
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no CPU fallback");
    }

    [Test]
    public void ErfOfTheKernelMatchesSpecialFunctionsErf()
    {
        // gelu(x)/x = Φ(x) = (1 + erf(x/√2))/2: recover erf on the positive grid (no cancellation there) and compare to the CPU's Erf
        using var scope = Tensor.NewDisposeScope();
        var xs = Enumerable.Range(1, 4000).Select(i => i / 250.0).ToArray();
        var x = Tensor.FromArray(xs).To(Device);
        var y = x.Gelu().ToDoubleArray();
        for (int i = 0; i < xs.Length; i++)
        {
            double erf = 2 * y[i] / xs[i] - 1, want = SpecialFunctions.Erf(xs[i] * 0.70710678118654752);
            Assert.That(erf, Is.EqualTo(want).Within(4e-16 + 1e-14 * want), $"erf({xs[i] * 0.70710678118654752:R})");
        }
    }

    [Test]
    public void RandomNonContiguousValuesThroughTheTensorApiWithAutograd([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long m = Dev.Pick(50, 25_000);
        var x0 = (Tensor.Randn([6, m, 7], DType.Float64, g) * 4).To(dt).Permute(2, 0, 1);
        var w = Tensor.Randn([7, 6, m], dt, g);
        var xc = x0.Clone().RequiresGrad_();
        var xe = x0.To(Device).RequiresGrad_();
        var yc = xc.Gelu();
        var ye = xe.Gelu();
        (yc * w).Sum().Backward();
        (ye * w.To(Device)).Sum().Backward();
        var (atol, rtol) = dt == DType.Float32 ? (1e-7, 1e-6) : (1e-14, 1e-13);
        TestUtil.AssertClose(ye.To(Device.Cpu), yc, atol, rtol);
        TestUtil.AssertClose(xe.Grad!.To(Device.Cpu), xc.Grad!, atol * 10, rtol);
        Assert.That(Gpu.CpuFallbackOps.Keys, Has.None.EqualTo("Gelu").And.None.EqualTo("GeluBackward"), "gelu ran as PTX");
    }
}
