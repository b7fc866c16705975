using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The softmax kernels of softmax.ptx on each GPU device against the CPU backend run in float64 on the same float32
/// values (an oracle more exact than either): every row strategy (warp, cached block, online block, simple), forward
/// and backward, softmax and log-softmax, temperatures, extreme logits, and through the tensor API and autograd. On a
/// real GPU each launch takes thousands of rows (the emulator tens).
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class SoftmaxKernelTests(TestDevice dev) : DeviceTests(dev)
{
    private static readonly double[] Temperatures = [0.5, 1, 4, 20];

    // Softmax: ex2.approx with an argument (x − max)·k2 rounded to float32 (relative error 6e-8·|argument|), rcp.approx and
    // float32 sums: a few 1e-7 relative; 1e-5 leaves room for the hardware's ex2.approx (2^-22.5 relative), which the
    // emulator computes more exactly. Log-softmax: (x − max)·k as the CPU computes it, minus lg2.approx(Σ)·ln 2
    // (2^-22.6 absolute on the hardware): 1e-6 absolute plus 2e-6 relative.
    private const double Rtol = 1e-5, LogAtol = 1e-6, LogRtol = 2e-6;

    // The float32 sum Σ over a row of n carries a relative error of about 6e-8·√n (more for the simple kernel's sequential
    // sum, less for the others' tree), which every softmax output and every log-softmax output (as ln Σ) inherits.
    private double SumTol(long n) => 2e-7 * Math.Sqrt(n);

    /// <summary>Logits: N(0, 3²) as float32 (on the CPU).</summary>
    private Tensor Logits(Generator g, long rows, long n) => (Tensor.Randn([rows, n], DType.Float64, g) * 3).To(DType.Float32);

    private Tensor Forward(IBackend b, Tensor x, bool log, double scale, SoftmaxKernel kernel = SoftmaxKernel.Auto)
    {
        var y = Tensor.Empty(x.Shape, x.DType, x.Device);
        if (b is GpuBackend gb) gb.Softmax(y.View("t"), x.View("t"), log, scale, kernel);
        else b.Softmax(y.View("t"), x.View("t"), log, scale);
        return y;
    }

    private Tensor Backward(IBackend b, Tensor g, Tensor y, bool log, double scale, SoftmaxKernel kernel = SoftmaxKernel.Auto)
    {
        var dx = Tensor.Empty(y.Shape, y.DType, y.Device);
        if (b is GpuBackend gb) gb.SoftmaxBackward(dx.View("t"), g.View("t"), y.View("t"), log, scale, kernel);
        else b.SoftmaxBackward(dx.View("t"), g.View("t"), y.View("t"), log, scale);
        return dx;
    }

    /// <summary>
    /// Forward then backward of <paramref name="x"/> (float32, CPU) on the emulator with <paramref name="kernel"/>, each
    /// against the float64 CPU result on the same inputs; asserts PTX ran and nothing fell back to the CPU.
    /// </summary>
    private void Check(Tensor x, double temperature, bool log, SoftmaxKernel kernel, string what)
    {
        using var scope = Tensor.NewDisposeScope();
        double k = 1 / temperature;
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        var ye = Forward(Gpu, x.To(Device), log, k, kernel);
        var yRef = Forward(Cpu, x.To(DType.Float64), log, k);
        double sum = SumTol(x.Shape[^1]);
        TestUtil.AssertClose(ye.To(Device.Cpu), yRef, log ? LogAtol + sum : 1e-7, log ? LogRtol : Rtol + sum);

        var g = Tensor.Randn(x.Shape, DType.Float32, TestUtil.Gen());
        var dxe = Backward(Gpu, g.To(Device), ye, log, k, kernel);
        var dxRef = Backward(Cpu, g.To(DType.Float64), ye.To(Device.Cpu).To(DType.Float64), log, k);
        double big = dxRef.Abs().Max().Item();
        TestUtil.AssertClose(dxe.To(Device.Cpu), dxRef, 1e-6 * Math.Max(1, big) + 1e-7 * k, Rtol);

        Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(2), $"{what}: forward and backward ran as PTX");
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), $"{what}: no CPU fallback");
    }

    public static IEnumerable<TestCaseData> Lengths() =>
        from n in new[] { 1, 10, 31, 33, 128, 129, 513, 1000, 1025, 5000 }
        from log in new[] { false, true }
        select new TestCaseData(n, log);

    [TestCaseSource(nameof(Lengths))]
    public void AutoKernelMatchesFloat64Cpu(int n, bool log)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        // several rows per launch, a ragged last block of warps
        long rows = Dev.Pick(Math.Max(2, Math.Min(37, 40_000 / n)), Math.Max(3, Math.Min(4099, 2_000_000 / n)));
        foreach (double t in Temperatures)
            Check(Logits(g, rows, n), t, log, SoftmaxKernel.Auto, $"n {n} T {t} log {log}");
    }

    public static IEnumerable<TestCaseData> ForcedKernels() =>
        from kernel in new[] { SoftmaxKernel.Simple, SoftmaxKernel.Warp, SoftmaxKernel.Block, SoftmaxKernel.Online }
        from n in new[] { 1, 33, 300, 512 }
        from log in new[] { false, true }
        select new TestCaseData(kernel, n, log);

    [TestCaseSource(nameof(ForcedKernels))]
    public void EveryKernelMatchesFloat64Cpu(SoftmaxKernel kernel, int n, bool log)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        foreach (double t in new[] { 0.5, 4 })
            Check(Logits(g, Dev.Pick(11, 4099), n), t, log, kernel, $"{kernel} n {n} T {t} log {log}");
    }

    [Test]
    public void LongRowsUseTheOnlineKernel([Values(false, true)] bool log)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        // 100,000 classes (two rows: about 10 M emulated instructions a pass), and a row just past the shared-memory cache
        Check(Logits(g, 2, 100_000), 1, log, SoftmaxKernel.Auto, "n 100000");
        Check(Logits(g, 2, GpuBackend.SoftmaxCachedMax + 1), 4, log, SoftmaxKernel.Auto, "n cached max + 1");
        Check(Logits(g, 2, GpuBackend.SoftmaxCachedMax), 20, log, SoftmaxKernel.Auto, "n cached max");
    }

    public static IEnumerable<TestCaseData> ExtremeCases() =>
        from kernel in new[] { SoftmaxKernel.Simple, SoftmaxKernel.Warp, SoftmaxKernel.Block, SoftmaxKernel.Online }
        from t in Temperatures
        select new TestCaseData(kernel, t);

    [TestCaseSource(nameof(ExtremeCases))]
    public void ExtremeLogitsMatchTheCpu(SoftmaxKernel kernel, double temperature)
    {
        using var scope = Tensor.NewDisposeScope();
        float ninf = float.NegativeInfinity;
        float[] data =
        [
            1e4f, -1e4f, 0, 1e4f - 1, 3, 2,          // a dominant entry
            -1e4f, -1e4f, -1e4f, -1e4f, -1e4f, -1e4f, // all equal, far below 0
            5, 5, 5, 5, 5, 5,                         // all equal
            1e4f, 1e4f, 1e4f, 1e4f, 1e4f, 1e4f,       // all equal, far above 0
            ninf, 0, 0, ninf, 1, -3,                  // −inf entries
            -1e4f, 1e4f, -1e4f, -1e4f, 9999.5f, 1e4f, // two maxima
        ];
        var x = Tensor.FromArray(data, 6, 6);
        double k = 1 / temperature;
        foreach (bool log in new[] { false, true })
        {
            var ye = Forward(Gpu, x.To(Device), log, k, kernel).To(Device.Cpu);
            var yc = Forward(Cpu, x, log, k);
            var yRef = Forward(Cpu, x.To(DType.Float64), log, k);
            TestUtil.AssertClose(ye, yRef, log ? LogAtol : 1e-7, log ? LogRtol : Rtol);
            TestUtil.AssertClose(ye, yc, log ? LogAtol : 1e-7, log ? LogRtol : Rtol);
            var p = ye.ToArray<float>();
            for (int r = 0; r < 6; r++)
            {
                double s = p.Skip(6 * r).Take(6).Sum(v => log ? Math.Exp(v) : v);
                Assert.That(s, Is.EqualTo(1).Within(1e-5), $"row {r} sums to 1 ({kernel}, T {temperature}, log {log})");
            }
            if (log) Assert.That(p[24], Is.EqualTo(float.NegativeInfinity), "log-softmax of −inf");
            else Assert.That(p[24], Is.EqualTo(0f), "softmax of −inf");
            // backward through the same extremes
            var grad = Tensor.Randn([6, 6], DType.Float32, TestUtil.Gen());
            var dxe = Backward(Gpu, grad.To(Device), ye.To(Device), log, k, kernel).To(Device.Cpu);
            var dxRef = Backward(Cpu, grad.To(DType.Float64), ye.To(DType.Float64), log, k);
            TestUtil.AssertClose(dxe, dxRef, 1e-6 * Math.Max(1, k), Rtol);
        }
    }

    [Test]
    public void AnAllMinusInfinityRowIsNaNLikeTheCpu([Values(SoftmaxKernel.Simple, SoftmaxKernel.Warp, SoftmaxKernel.Block, SoftmaxKernel.Online)] SoftmaxKernel kernel)
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, 1, 2, 3 }, 2, 3);
        foreach (bool log in new[] { false, true })
        {
            var ye = Forward(Gpu, x.To(Device), log, 1, kernel).ToArray<float>();
            var yc = Forward(Cpu, x, log, 1).ToArray<float>();
            Assert.That(yc.Take(3), Is.All.NaN, "the CPU reference");
            Assert.That(ye.Take(3), Is.All.NaN, $"{kernel} log {log}");
            Assert.That(ye.Skip(3), Is.EqualTo(yc.Skip(3)).Within(1e-6), "the finite row is unaffected");
        }
    }

    [Test]
    public void KernelsThatCannotTakeTheRowAreRefused()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros([2, 1025], DType.Float32, Device);
        var y = Tensor.Empty([2, 1025], DType.Float32, Device);
        var e = Assert.Throws<ArgumentValueException>(() => Gpu.Softmax(y.View("t"), x.View("t"), false, 1, SoftmaxKernel.Warp));
        Assert.That(e!.Message, Does.Contain("softmax").And.Contain("1025"));
        Assert.Throws<ArgumentValueException>(() => Gpu.SoftmaxBackward(y.View("t"), x.View("t"), x.View("t"), false, 1, SoftmaxKernel.Warp));
        var big = Tensor.Zeros([1, GpuBackend.SoftmaxCachedMax + 1], DType.Float32, Device);
        var bigY = Tensor.Empty(big.Shape, DType.Float32, Device);
        Assert.Throws<ArgumentValueException>(() => Gpu.Softmax(bigY.View("t"), big.View("t"), false, 1, SoftmaxKernel.Block));
    }

    [Test]
    public void ThroughTheTensorApiWithNonContiguousInputAndAutograd([Values(0.5, 1.0, 4.0, 20.0)] double temperature)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        // [7, 40, 3] permuted to [3, 7, 40], then a slice along the last dim: softmax over a strided last dim
        var baseCpu = (Tensor.Randn([7, 81, 3], DType.Float64, g) * 3).To(DType.Float32);
        var w = Tensor.Randn([3, 7, 40], DType.Float32, g);
        foreach (bool log in new[] { false, true })
        {
            foreach (int dim in new[] { -1, 1 })
            {
                var xc = baseCpu.Clone().RequiresGrad_();
                var xe = baseCpu.To(Device).RequiresGrad_();
                Tensor View(Tensor t) => t.Permute(2, 0, 1).Slice(2, 1, 81, 2);
                Assert.That(View(xe).IsContiguous, Is.False);
                long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
                var yc = log ? Functional.LogSoftmax(View(xc), temperature, dim) : Functional.Softmax(View(xc), temperature, dim);
                var ye = log ? Functional.LogSoftmax(View(xe), temperature, dim) : Functional.Softmax(View(xe), temperature, dim);
                Assert.That(ye.Device, Is.EqualTo(Device));
                TestUtil.AssertClose(ye.To(Device.Cpu), yc, log ? LogAtol : 1e-7, log ? LogRtol : Rtol);
                yc.Mul(w).Sum().Backward();
                ye.Mul(w.To(Device)).Sum().Backward();
                TestUtil.AssertClose(xe.Grad!.To(Device.Cpu), xc.Grad!, 2e-6 / temperature, 1e-4);
                Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches + 1), "softmax forward and backward ran as PTX");
                // the elementwise ops around it run as PTX too; the sum reduction is still a CPU fallback
                TestContext.Out.WriteLine($"T {temperature} log {log} dim {dim}: {Gpu.CpuFallbacks - fallbacks} CPU fallbacks (reductions)");
            }
        }
    }

    [Test]
    public void SoftmaxKernelsAreCountedSoftmaxOnlyLaunchesOnePtxKernel()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Logits(TestUtil.Gen(), 5, 77).To(Device);
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        var y = x.Softmax(1);   // contiguous input: exactly one kernel
        Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(1));
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks));
        TestUtil.AssertClose(y.To(Device.Cpu), x.To(Device.Cpu).To(DType.Float64).Softmax(1), 1e-7, Rtol);
    }

    [Test]
    public void Float64RunsTheGeneratedKernel()
    {
        // float64 has its own generated kernels (SoftmaxGen; tested in Float64SoftmaxKernelTests): no CPU fallback
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Randn([4, 9], DType.Float64, TestUtil.Gen());
        long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
        var ye = Functional.Softmax(x.To(Device), 2.0);
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks));
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
        TestUtil.AssertClose(ye.To(Device.Cpu), Functional.Softmax(x, 2.0), 1e-16, 1e-13);
    }

    [Test]
    public void BadInputIsRejectedBeforeAnyLaunch()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros([2, 3], DType.Float32, Device);
        long launches = Gpu.PtxLaunches;
        foreach (double t in new[] { 0.0, -1.0, double.NaN, double.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentValueException>(() => Functional.Softmax(x, t));
            Assert.That(e!.Message, Does.Contain("softmax").And.Contain(t.ToString()));
            Assert.Throws<ArgumentValueException>(() => Functional.LogSoftmax(x, t));
        }
        var ints = Tensor.Zeros([2, 3], DType.Int32, Device);
        Assert.That(Assert.Throws<DTypeException>(() => ints.Softmax(1))!.Message, Does.Contain("softmax"));
        Assert.That(Assert.Throws<DTypeException>(() => Functional.LogSoftmax(ints, 2))!.Message, Does.Contain("log_softmax"));
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches), "nothing launched");
    }
}
