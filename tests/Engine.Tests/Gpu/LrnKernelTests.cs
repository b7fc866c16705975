using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The hand-written LRN kernels (src/Kernels/Gpu/Kernels/lrn.ptx), sliding and simple, float32 and float64, on each GPU
/// device against the CPU backend: forward, backward, through autograd, on ragged shapes (C not a multiple of the
/// window, S not a multiple of 4, C = 1, size = 1, size > C, even size) and, on a real GPU, at sizes up to AlexNet's
/// first LRN layer; and bad input. Float32 results are compared with the CPU op run in float64 on the same values (the
/// float32 CPU op's own running sum drifts at large C, see <see cref="Float32StaysAccurateOverManyChannelsWithSpikes"/>).
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class LrnKernelTests(TestDevice dev) : DeviceTests(dev)
{
    /// <summary>(N, C, S, size): fixed ragged cases; random ones are added per test.</summary>
    private static readonly (int N, int C, int S, int Size)[] Shapes =
    [
        (2, 7, 15, 5),     // C not a multiple of the window, S not a multiple of 4
        (1, 1, 6, 1),      // C = 1, size = 1
        (2, 3, 10, 7),     // size > C
        (3, 10, 1, 3),     // S = 1
        (1, 6, 35, 2),     // even window (PyTorch's convention: lo = 1, hi = 0)
        (2, 9, 33, 4),
        (2, 4, 9, 1_000_001),   // a window far wider than C (the backend cuts it to 2C + 1)
        (1, 3, 5, 1_000_000),
    ];

    private static readonly (double Alpha, double Beta, double K)[] Params =
        [(1e-4, 0.75, 1.0), (0.5, 0.75, 2.0), (2.0, 0.6, 1.0), (1.3, 1.0, 0.5), (0.9, 0.5, 1.5), (0.7, 1.37, 0.8)];

    /// <summary>(N, C, S, size) on a real GPU: AlexNet's LRN (at batch 16), many channels, ragged spatial sizes, C = 1, size > C.</summary>
    private static readonly (int N, int C, int S, int Size)[] GpuShapes =
        [(16, 96, 55 * 55, 5), (4, 384, 13 * 13, 5), (3, 13, 1001, 7), (2, 1, 4097, 1), (2, 5, 300, 11), (5, 64, 27 * 27, 4)];

    private IEnumerable<(int N, int C, int S, int Size)> Cases(Random r)
    {
        if (Dev.IsCuda)
        {
            foreach (var s in GpuShapes) yield return s;
            yield break;
        }
        foreach (var s in Shapes) yield return s;
        for (int i = 0; i < 3; i++) yield return (r.Next(1, 4), r.Next(1, 20), r.Next(1, 70), r.Next(1, 10));
    }

    private static Tensor Values(Generator g, int n, int c, int s, DType dt, double scale = 3) => TestUtil.Values(g, [n, c, s], dt, scale);

    private static (double Atol, double Rtol) Tol(DType dt, Tensor reference)
    {
        // Backward terms cancel, so the absolute part scales with the largest reference value.
        double max = reference.ToDoubleArray().Select(Math.Abs).DefaultIfEmpty(0).Max();
        return dt == DType.Float32 ? (1e-5 * max + 1e-7, 1e-5) : (1e-12 * max + 1e-14, 1e-11);
    }

    private void WithKernels(LrnKernels which, Action body) => TestUtil.With(() => Gpu.LrnKernels, k => Gpu.LrnKernels = k, which, body);

    private static Tensor CpuForward(Tensor x64, int n, int c, int s, int size, double alpha, double beta, double k)
    {
        var y = Tensor.Empty([n, c, s], DType.Float64, Device.Cpu);
        Cpu.LrnForward(new(n, c, s, size, alpha, beta, k), y.View("t"), x64.View("t"));
        return y;
    }

    private static Tensor CpuBackward(Tensor x64, Tensor y64, Tensor dy64, int n, int c, int s, int size, double alpha, double beta, double k)
    {
        var dx = Tensor.Empty([n, c, s], DType.Float64, Device.Cpu);
        Cpu.LrnBackward(new(n, c, s, size, alpha, beta, k), dx.View("t"), dy64.View("t"), x64.View("t"), y64.View("t"));
        return dx;
    }

    /// <summary>
    /// Runs <paramref name="pass"/> (returning the device result and the float64 CPU reference) on every case with
    /// random parameters; each must match, launch one PTX kernel and fall back to the CPU never.
    /// </summary>
    private void CheckEveryCase(LrnKernels which, DType dt, string what, Func<Generator, LrnParams, (Tensor Got, Tensor Want)> pass)
    {
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
        int runs = 0;
        WithKernels(which, () =>
        {
            foreach (var (n, c, s, size) in Cases(r))
            {
                using var scope = Tensor.NewDisposeScope();
                var (alpha, beta, k) = Params[r.Next(Params.Length)];
                var (got, want) = pass(g, new(n, c, s, size, alpha, beta, k));
                runs++;
                TestContext.Out.WriteLine($"{which} {dt.Name()} N={n} C={c} S={s} size={size} alpha={alpha} beta={beta} k={k}");
                var (atol, rtol) = Tol(dt, want);
                TestUtil.AssertClose(got, want, atol, rtol);
            }
        });
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no CPU fallback");
        Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(runs), $"one PTX launch per {what}");
    }

    [Test]
    public void ForwardMatchesCpu([Values] LrnKernels which, [Values(DType.Float32, DType.Float64)] DType dt) =>
        CheckEveryCase(which, dt, "forward", (g, p) =>
        {
            var (n, c, s, size, alpha, beta, k) = p;
            var x = Values(g, n, c, s, dt);
            var want = CpuForward(x.To(DType.Float64), n, c, s, size, alpha, beta, k);
            var ye = Tensor.Empty([n, c, s], dt, Device);
            Gpu.LrnForward(p, ye.View("t"), x.To(Device).View("t"));
            return (ye, want);
        });

    [Test]
    public void BackwardMatchesCpu([Values] LrnKernels which, [Values(DType.Float32, DType.Float64)] DType dt) =>
        CheckEveryCase(which, dt, "backward", (g, p) =>
        {
            var (n, c, s, size, alpha, beta, k) = p;
            var x = Values(g, n, c, s, dt);
            var dy = Values(g, n, c, s, dt, 1);
            var x64 = x.To(DType.Float64);
            var y64 = CpuForward(x64, n, c, s, size, alpha, beta, k);
            var want = CpuBackward(x64, y64, dy.To(DType.Float64), n, c, s, size, alpha, beta, k);
            var dxe = Tensor.Empty([n, c, s], dt, Device);
            Gpu.LrnBackward(p, dxe.View("t"), dy.To(Device).View("t"), x.To(Device).View("t"), y64.To(dt).To(Device).View("t"));
            return (dxe, want);
        });

    [Test]
    public void AutogradMatchesCpu([Values] LrnKernels which, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        WithKernels(which, () =>
        {
            var shapes = Dev.Pick(new[] { (2, 7, 3, 5, 5), (1, 4, 2, 3, 9), (2, 1, 5, 1, 1), (r.Next(1, 3), r.Next(2, 12), r.Next(1, 6), r.Next(1, 7), r.Next(1, 8)) },
                [(8, 96, 27, 27, 5)]);
            foreach (var (n, c, h, w, size) in shapes)
            {
                using var scope = Tensor.NewDisposeScope();
                var (alpha, beta, k) = Params[r.Next(Params.Length)];
                var x = (Tensor.Randn([n, c, h, w], DType.Float64, g) * 3).To(dt);
                var upstream = Tensor.Randn([n, c, h, w], DType.Float64, g).To(dt);
                var xc = x.Clone().RequiresGrad_();
                var yc = Functional.LocalResponseNorm(xc, size, alpha, beta, k);
                yc.Backward(upstream);
                var xe = x.To(Device).RequiresGrad_();
                var ue = upstream.To(Device);
                long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
                var ye = Functional.LocalResponseNorm(xe, size, alpha, beta, k);
                Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(1), "the forward ran as PTX");
                launches = Gpu.PtxLaunches;
                ye.Backward(ue);
                Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches), "the backward ran PTX");
                Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "nothing fell back to the CPU");
                TestContext.Out.WriteLine($"{which} {dt.Name()} [{n}, {c}, {h}, {w}] size={size} alpha={alpha} beta={beta} k={k}");
                var (atol, rtol) = Tol(dt, yc);
                TestUtil.AssertClose(ye, yc, atol, rtol);
                (atol, rtol) = Tol(dt, xc.Grad!);
                TestUtil.AssertClose(xe.Grad!, xc.Grad!, 2 * atol, 2 * rtol);
            }
        });
    }

    /// <summary>The kernels need contiguous [N, C, S]; the tensor layer copies a permuted input first.</summary>
    [Test]
    public void APermutedInputIsCopiedFirst([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var b = (Tensor.Randn([5, 4, 3, 6], DType.Float64, g) * 3).To(dt);
        var want = Functional.LocalResponseNorm(b.Permute(1, 3, 2, 0), 3, 0.5, 0.75, 1.5);
        var xe = b.To(Device).Permute(1, 3, 2, 0);
        Assert.That(xe.IsContiguous, Is.False);
        long fallbacks = Gpu.CpuFallbacks;
        var got = Functional.LocalResponseNorm(xe, 3, 0.5, 0.75, 1.5);
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no CPU fallback");
        var (atol, rtol) = Tol(dt, want);
        TestUtil.AssertClose(got, want, atol, rtol);
    }

    /// <summary>
    /// C = 384 with every 50th channel 300x larger (squares near 10^6 next to squares near 10): a float32 running sum
    /// would keep an error near ulp(10^6) ≈ 0.06 in W for the rest of the column; the kernels' float64 window does not.
    /// </summary>
    [Test]
    public void Float32StaysAccurateOverManyChannelsWithSpikes([Values] LrnKernels which)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int n = 2, c = 384, s = 37, size = 5;
        const double alpha = 1, beta = 0.75, k = 1;
        var scale = Enumerable.Range(0, c).Select(ch => ch % 50 == 7 ? 300.0 : 1.0).ToArray();
        var x = (Tensor.Randn([n, c, s], DType.Float64, g) * 3 * Tensor.FromArray(scale, c, 1)).To(DType.Float32);
        var dy = Tensor.Randn([n, c, s], DType.Float32, g);
        var x64 = x.To(DType.Float64);
        var y64 = CpuForward(x64, n, c, s, size, alpha, beta, k);
        var dx64 = CpuBackward(x64, y64, dy.To(DType.Float64), n, c, s, size, alpha, beta, k);
        var ye = Tensor.Empty([n, c, s], DType.Float32, Device);
        var dxe = Tensor.Empty([n, c, s], DType.Float32, Device);
        WithKernels(which, () =>
        {
            Gpu.LrnForward(new(n, c, s, size, alpha, beta, k), ye.View("t"), x.To(Device).View("t"));
            Gpu.LrnBackward(new(n, c, s, size, alpha, beta, k), dxe.View("t"), dy.To(Device).View("t"), x.To(Device).View("t"), y64.To(DType.Float32).To(Device).View("t"));
        });
        // For the record: the float32 CPU op (a float32 running sum) on the same input.
        var ycpu = Tensor.Empty([n, c, s], DType.Float32, Device.Cpu);
        Cpu.LrnForward(new(n, c, s, size, alpha, beta, k), ycpu.View("t"), x.View("t"));
        double MaxRel(Tensor a, Tensor b) => a.ToDoubleArray().Zip(b.ToDoubleArray(), (u, v) => Math.Abs(u - v) / (Math.Abs(v) + 1e-30)).Max();
        TestContext.Out.WriteLine($"max relative error vs float64: {which} kernel {MaxRel(ye, y64):E2}, float32 CPU op {MaxRel(ycpu, y64):E2}");
        TestUtil.AssertClose(ye, y64, 1e-30, 2e-6);
        var (atol, rtol) = Tol(DType.Float32, dx64);
        TestUtil.AssertClose(dxe, dx64, atol, rtol);
    }

    /// <summary>Past what 32 threads' rings fit in 48 KiB (size > 96 in float64), the backward runs the simple kernel.</summary>
    [Test]
    public void AWindowTooWideForTheRingRunsTheSimpleBackward()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int n = 1, c = 100, s = 5, size = 97;
        var x = Values(g, n, c, s, DType.Float64);
        var dy = Values(g, n, c, s, DType.Float64, 1);
        var y = CpuForward(x, n, c, s, size, 0.8, 0.75, 1.2);
        var want = CpuBackward(x, y, dy, n, c, s, size, 0.8, 0.75, 1.2);
        var dxe = Tensor.Empty([n, c, s], DType.Float64, Device);
        Assert.That(Gpu.LrnKernels, Is.EqualTo(LrnKernels.Sliding));
        Gpu.LrnBackward(new(n, c, s, size, 0.8, 0.75, 1.2), dxe.View("t"), dy.To(Device).View("t"), x.To(Device).View("t"), y.To(Device).View("t"));
        var (atol, rtol) = Tol(DType.Float64, want);
        TestUtil.AssertClose(dxe, want, atol, rtol);
    }

    [Test]
    public void BadInputIsATypedErrorBeforeAnyLaunch()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Randn([2, 3, 4], DType.Float32, null, Device);
        var y = Tensor.Empty([2, 3, 4], DType.Float32, Device);
        var xi = Tensor.Zeros([2, 3, 4], DType.Int32, Device);
        var x64 = Tensor.Zeros([2, 3, 4], DType.Float64, Device);
        var xt = Tensor.Randn([4, 3, 2], DType.Float32, null, Device).Permute(2, 1, 0);
        long launches = Gpu.PtxLaunches;
        Assert.That(Assert.Throws<ArgumentValueException>(() => Gpu.LrnForward(new(2, 3, 4, 0, 1e-4, 0.75, 1), y.View("t"), x.View("t")))!.Message,
            Does.StartWith("local_response_norm:").And.Contain("0"));
        Assert.Throws<DTypeException>(() => Gpu.LrnForward(new(2, 3, 4, 3, 1e-4, 0.75, 1), xi.View("t"), xi.View("t")));
        Assert.Throws<DTypeException>(() => Gpu.LrnForward(new(2, 3, 4, 3, 1e-4, 0.75, 1), y.View("t"), x64.View("t")));
        Assert.Throws<ShapeException>(() => Gpu.LrnForward(new(2, 3, 4, 3, 1e-4, 0.75, 1), y.View("t"), xt.View("t")));
        Assert.Throws<ShapeException>(() => Gpu.LrnForward(new(2, 3, 5, 3, 1e-4, 0.75, 1), y.View("t"), x.View("t")));
        Assert.That(Assert.Throws<DTypeException>(() => Gpu.LrnBackward(new(2, 3, 4, 3, 1e-4, 0.75, 1), y.View("t"), y.View("t"), x.View("t"), x64.View("t")))!.Message,
            Does.StartWith("local_response_norm_backward:"));
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches), "nothing was launched");
        // The tensor layer checks first: size < 1 and integer input.
        Assert.Throws<ArgumentValueException>(() => Functional.LocalResponseNorm(x.Reshape(2, 3, 2, 2), 0));
        Assert.Throws<DTypeException>(() => Functional.LocalResponseNorm(xi, 3));
    }
}
