using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The generated reduction kernels on a real GPU (<see cref="Device.Cuda"/>) against the CPU backend, at sizes the
/// emulator cannot run: every op and dtype over every subset of dims of a rank-3 tensor, long reductions through the
/// chunked two-pass path, arg-reductions with ties and NaN, and bit-identical results run to run. Every test is
/// [Category("Cuda")] and reports Ignored without a usable CUDA device.
/// </summary>
[NonParallelizable]
public class ReduceCudaTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static IBackend Cpu => Backends.For(Device.Cpu);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);

    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    private static readonly DType[] AllTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool];

    public static IEnumerable<TestCaseData> OpsAndTypes() =>
        from op in new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min } from dt in AllTypes select new TestCaseData(op, dt);

    private static Tensor Values(Generator g, long[] shape, DType dt) => dt switch
    {
        DType.Float32 or DType.Float64 => (Tensor.Randn(shape, DType.Float64, g) * 3).To(dt),
        DType.Int64 or DType.Int32 => Tensor.RandInt(-1000, 1000, shape, dt, g),
        DType.UInt8 => Tensor.RandInt(0, 256, shape, DType.UInt8, g),
        _ => Tensor.RandInt(0, 2, shape, DType.UInt8, g).To(DType.Bool),
    };

    private static void Check(ReduceOp op, Tensor c, Tensor d, long[] keep, string what)
    {
        var co = Tensor.Empty(keep, c.DType, Device.Cpu);
        var dout = Tensor.Empty(keep, c.DType, Gpu0);
        Cpu.Reduce(op, co.View("t"), c.View("t"));
        Gpu.Reduce(op, dout.View("t"), d.View("t"));
        var a = dout.ToDoubleArray();
        var e = co.ToDoubleArray();
        double[]? s = null;
        if (op == ReduceOp.Sum && c.DType is DType.Float32 or DType.Float64)
        {
            var abs = Tensor.Empty(keep, DType.Float64, Device.Cpu);
            Cpu.Reduce(ReduceOp.Sum, abs.View("t"), c.To(DType.Float64).Abs().View("t"));
            s = abs.ToDoubleArray();
        }
        double rel = c.DType == DType.Float32 ? 1e-5 : 1e-12;
        for (int i = 0; i < a.Length; i++)
        {
            bool ok = (double.IsNaN(a[i]) && double.IsNaN(e[i])) || a[i] == e[i] || (s is not null && Math.Abs(a[i] - e[i]) <= rel * s[i]);
            Assert.That(ok, $"{what}: element {i}: got {a[i]:R}, CPU {e[i]:R}");
        }
    }

    [TestCaseSource(nameof(OpsAndTypes)), Category("Cuda")]
    public void ReduceOverEverySubsetOfDimsMatchesCpu(ReduceOp op, DType dt)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long[] shape = [37, 301, 129];
        var c = Values(g, shape, dt);
        var d = c.To(Gpu0);
        for (int mask = 0; mask < 8; mask++)
        {
            var keep = (long[])shape.Clone();
            for (int i = 0; i < 3; i++) if ((mask >> i & 1) != 0) keep[i] = 1;
            Check(op, c, d, keep, $"{op} {dt.Name()} mask {mask}");
            Check(op, c.Permute(2, 0, 1), d.Permute(2, 0, 1), [keep[2], keep[0], keep[1]], $"{op} {dt.Name()} permuted mask {mask}");
        }
    }

    [Test, Category("Cuda")]
    public void LongReductionsMatchCpuAndAreDeterministic([Values(DType.Float32, DType.Float64, DType.Int64)] DType dt)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        foreach (var (shape, keep) in new (long[], long[])[] { ([1 << 24], [1]), ([3, 3_000_001], [3, 1]), ([1_000_003, 5], [1, 5]), ([8192, 1000], [8192, 1]), ([1000, 8192], [1, 8192]) })
        {
            var c = Values(g, shape, dt);
            var d = c.To(Gpu0);
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min })
            {
                Check(op, c, d, keep, $"{op} {dt.Name()} {ShapeUtil.Format(shape)}");
                var a = Tensor.Empty(keep, dt, Gpu0);
                var b = Tensor.Empty(keep, dt, Gpu0);
                Gpu.Reduce(op, a.View("t"), d.View("t"));
                Gpu.Reduce(op, b.View("t"), d.View("t"));
                Assert.That(b.ToDoubleArray(), Is.EqualTo(a.ToDoubleArray()), "bit-identical on a second run");
            }
        }
    }

    [Test, Category("Cuda")]
    public void ArgReductionsMatchCpuWithTiesAndNaN([Values(DType.Float32, DType.Int32, DType.UInt8)] DType dt)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        foreach (var shape in new long[][] { [1 << 22], [64, 50_001], [50_001, 64], [17, 33, 65] })
        {
            var c = dt == DType.Float32 ? Tensor.RandInt(-20, 20, shape, DType.Int32, g).To(dt) : Values(g, shape, dt);
            if (dt == DType.Float32) c = Tensor.Where(Tensor.RandInt(0, 5000, shape, DType.Int64, g).Eq(0), Tensor.Scalar(double.NaN), c);
            var d = c.To(Gpu0);
            for (int dim = 0; dim < shape.Length; dim++)
                foreach (var max in new[] { true, false })
                {
                    var keep = (long[])shape.Clone();
                    keep[dim] = 1;
                    var cv = Tensor.Empty(keep, dt, Device.Cpu); var ci = Tensor.Empty(keep, DType.Int64, Device.Cpu);
                    var dv = Tensor.Empty(keep, dt, Gpu0); var di = Tensor.Empty(keep, DType.Int64, Gpu0);
                    Cpu.ArgReduce(max, cv.View("t"), ci.View("t"), c.View("t"), dim);
                    Gpu.ArgReduce(max, dv.View("t"), di.View("t"), d.View("t"), dim);
                    Assert.That(di.ToArray<long>(), Is.EqualTo(ci.ToArray<long>()), $"{(max ? "argmax" : "argmin")} {ShapeUtil.Format(shape)} dim {dim}");
                    Assert.That(dv.ToDoubleArray(), Is.EqualTo(cv.ToDoubleArray()));
                }
        }
    }

    [Test, Category("Cuda")]
    public void TheTensorApiReducesOnTheGpu()
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var c = Tensor.Randn([64, 513, 7], DType.Float32, g);
        var d = c.To(Gpu0);
        long fallbacks = Gpu.CpuFallbacks;
        TestUtil.AssertClose(d.Sum(), c.Sum(), 1e-3, 1e-5);
        TestUtil.AssertClose(d.Mean(1), c.Mean(1), 1e-6, 1e-5);
        TestUtil.AssertClose(d.Amax([0, 2]), c.Amax([0, 2]), 0, 0);
        Assert.That(d.ArgMax(1).ToArray<long>(), Is.EqualTo(c.ArgMax(1).ToArray<long>()));
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks));
    }
}
