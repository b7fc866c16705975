using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The Philox random-fill kernels (philox.ptx) on each GPU device against the CPU backend: for every kind and dtype the
/// CPU supports, the same (seed, offset) gives the same elements, bit for bit (Uniform, Integer, Bernoulli) or to the
/// last float32 ulp / 1e-13 in float64 (Normal, whose ln and cos are polynomials on the GPU and the platform's libm on
/// the CPU). Ragged sizes, offsets across the 2^32 boundary of the counter's low word, and edge parameters (uniform
/// ranges where rounding reaches the open end, integer ranges below zero for uint8).
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class RandomKernelTests(TestDevice dev) : DeviceTests(dev)
{
    /// <summary>(kind, dtype, a, b) cases: every dtype the CPU fills for each kind, with edge parameters.</summary>
    private static IEnumerable<(RandomKind Kind, DType DType, double A, double B)> Cases()
    {
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
        {
            yield return (RandomKind.Uniform, dt, 0, 1);
            yield return (RandomKind.Uniform, dt, -3.25, 7.5);
            yield return (RandomKind.Uniform, dt, 1, 1 + Math.Pow(2, -20));   // float32: rounding often reaches b
            yield return (RandomKind.Uniform, dt, 2.5, 2.5);                  // empty range
            yield return (RandomKind.Normal, dt, 0, 1);
            yield return (RandomKind.Normal, dt, -1.5, 0.25);
        }
        foreach (var dt in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8 })
        {
            yield return (RandomKind.Integer, dt, 0, 10);
            yield return (RandomKind.Integer, dt, -5, 300);                  // uint8 saturates at both ends
            yield return (RandomKind.Integer, dt, -1_000_000, 3_000_000_000);
            yield return (RandomKind.Integer, dt, -(1L << 40), 1L << 41);
        }
        foreach (var dt in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool })
            foreach (var p in new[] { 0.0, 0.3, 1.0 })
                yield return (RandomKind.Bernoulli, dt, p, 0);
    }

    [Test]
    public void EveryKindAndDTypeMatchesTheCpu()
    {
        var r = TestUtil.Rng();
        long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
        int count = 0;
        foreach (var (kind, dt, a, b) in Cases())
        {
            // ragged sizes; offsets near 0 and just below 2^32 (the counter's high word changes inside the fill)
            long n = r.Next(4) switch { 0 => 1, 1 => r.Next(2, 40), 2 => r.Next(200, 1200), _ => r.Next(1200, 4000) };
            ulong seed = TestContext.CurrentContext.Random.NextULong();
            ulong offset = r.Next(2) == 0 ? (ulong)r.Next(0, 1000) : (1UL << 32) - (ulong)r.Next(1, (int)n + 1);
            using var c = Tensor.Empty([n], dt, Device.Cpu);
            using var g = Tensor.Empty([n], dt, Device);
            Cpu.FillRandom(c.View("t"), kind, seed, offset, a, b);
            Gpu.FillRandom(g.View("t"), kind, seed, offset, a, b);
            count++;
            string what = $"{kind} {dt.Name()} a={a} b={b} n={n} seed={seed} offset={offset}";
            if (kind == RandomKind.Normal) AssertNormalClose(g, c, what);
            else AssertBitwiseEqual(g, c, what);
        }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no random fill fell back to the CPU");
        Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(count), "one kernel launch per fill");
    }

    [Test]
    public void TensorCreationOnTheDeviceMatchesTheCpu()
    {
        ulong seed = TestContext.CurrentContext.Random.NextULong();
        using var scope = Tensor.NewDisposeScope();
        Generator G() => new(seed);
        // several draws from one generator: the second tensor starts at the first one's offset
        Tensor[] Make(Device d)
        {
            var g = G();
            return
            [
                Tensor.Rand([3, 5, 7], DType.Float32, g, d),
                Tensor.Randn([13, 11], DType.Float64, g, d),
                Tensor.RandInt(-7, 9, [257], DType.Int64, g, d),
                Tensor.Bernoulli([5, 41], 0.4, DType.Bool, g, d),
                Tensor.Uniform([1001], -2, 3, DType.Float64, g, d),
                Tensor.Normal([999], 4, 0.5, DType.Float32, g, d),
            ];
        }
        var cpu = Make(Device.Cpu);
        var dev = Make(Device);
        for (int i = 0; i < cpu.Length; i++)
        {
            Assert.That(dev[i].Device, Is.EqualTo(Device));
            Assert.That(dev[i].Shape, Is.EqualTo(cpu[i].Shape));
            if (i is 1 or 5) AssertNormalClose(dev[i], cpu[i], $"tensor {i}");
            else AssertBitwiseEqual(dev[i], cpu[i], $"tensor {i}");
        }
    }

    [Test]
    public void NormalIsStandardNormalOnTheDevice()
    {
        // an independent check of the distribution: mean 0, variance 1, and P(|z| < 1) = 0.6827
        using var t = Tensor.Randn([60_000], DType.Float32, TestUtil.Gen(), Device);
        var v = t.ToArray<float>().Select(x => (double)x).ToArray();
        double mean = v.Average(), var = v.Average(x => (x - mean) * (x - mean));
        Assert.That(mean, Is.EqualTo(0).Within(0.02));
        Assert.That(var, Is.EqualTo(1).Within(0.03));
        Assert.That(v.Count(x => Math.Abs(x) < 1) / (double)v.Length, Is.EqualTo(0.6827).Within(0.01));
    }

    [Test]
    public void ANonContiguousDestinationIsRefused()
    {
        using var t = Tensor.Empty([4, 6], DType.Float32, Device);
        var v = t.View("t");
        var strided = v.With([4, 3], [6, 2]);
        var e = Assert.Throws<ShapeException>(() => Gpu.FillRandom(strided, RandomKind.Uniform, 1, 0, 0, 1));
        Assert.That(e!.Message, Does.Contain("random"));
    }

    private static void AssertBitwiseEqual(Tensor actual, Tensor expected, string what)
    {
        byte[] a = Bytes(actual), e = Bytes(expected);
        for (int i = 0; i < a.Length; i++)
            if (a[i] != e[i])
                Assert.Fail($"{what}: byte {i} (element {i / actual.DType.ElementSize()}) differs: {Show(actual, i)} vs CPU {Show(expected, i)}");
        Assert.That(a.Length, Is.EqualTo(e.Length));
    }

    private static string Show(Tensor t, int byteIndex) => t.ToDoubleArray()[byteIndex / t.DType.ElementSize()].ToString("R");

    private static byte[] Bytes(Tensor t)
    {
        using var c = t.To(Device.Cpu);
        using var u = c.DType == DType.Bool ? c.To(DType.UInt8) : c;
        return u.DType switch
        {
            DType.Float32 => u.ToArray<float>().SelectMany(BitConverter.GetBytes).ToArray(),
            DType.Float64 => u.ToArray<double>().SelectMany(BitConverter.GetBytes).ToArray(),
            DType.Int64 => u.ToArray<long>().SelectMany(BitConverter.GetBytes).ToArray(),
            DType.Int32 => u.ToArray<int>().SelectMany(BitConverter.GetBytes).ToArray(),
            _ => u.ToArray<byte>(),
        };
    }

    /// <summary>Normal fills: float32 within one ulp of the CPU (almost always equal), float64 within 1e-13 relative.</summary>
    private static void AssertNormalClose(Tensor actual, Tensor expected, string what)
    {
        double[] a = actual.ToDoubleArray(), e = expected.ToDoubleArray();
        Assert.That(a.Length, Is.EqualTo(e.Length));
        bool f32 = actual.DType == DType.Float32;
        int equal = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] == e[i]) { equal++; continue; }
            double tol = f32 ? Math.Abs(MathF.BitIncrement((float)Math.Abs(e[i])) - Math.Abs(e[i])) : 1e-13 * Math.Abs(e[i]) + 1e-15;
            Assert.That(Math.Abs(a[i] - e[i]), Is.LessThanOrEqualTo(tol), $"{what}: element {i}: {a[i]:R} vs CPU {e[i]:R}");
        }
        if (f32) Assert.That(equal, Is.GreaterThanOrEqualTo(a.Length - Math.Max(1, a.Length / 1000)), $"{what}: float32 normals equal the CPU's");
    }
}
