using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The activation-gradient and power ops of the GPU backend's generated elementwise kernels, and its integer unary
/// ops, on each GPU device against the CPU backend: random ragged shapes, broadcast and strided operands, the ops'
/// scalar parameters, and special values (±0, ±∞, NaN, the kinks at 0, ±3 and 6).
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class BackwardOpKernelTests(TestDevice dev) : DeviceTests(dev)
{
    // (op, scalar a, scalar b, exact in float, also for integers)
    public static readonly object[] Ops =
    [
        new object[] { BinaryOp.Relu6Backward, 0.0, 0.0, true, true },
        new object[] { BinaryOp.LeakyReluBackward, 0.01, 0.0, true, true },
        new object[] { BinaryOp.ClampBackward, -1.5, 2.0, true, true },
        new object[] { BinaryOp.AbsBackward, 0.0, 0.0, true, true },
        new object[] { BinaryOp.SigmoidBackward, 0.0, 0.0, true, false },
        new object[] { BinaryOp.TanhBackward, 0.0, 0.0, true, false },
        new object[] { BinaryOp.HardsigmoidBackward, 0.0, 0.0, true, false },
        new object[] { BinaryOp.HardswishBackward, 0.0, 0.0, true, false },
        new object[] { BinaryOp.SoftsignBackward, 0.0, 0.0, true, false },
        new object[] { BinaryOp.SiluBackward, 0.0, 0.0, false, false },
        new object[] { BinaryOp.GeluBackward, 0.0, 0.0, false, false },
        new object[] { BinaryOp.PowScalarBackward, 3.0, 0.0, false, false },
        new object[] { BinaryOp.PowScalarBackward, 0.5, 0.0, false, false },
        new object[] { BinaryOp.PowScalarBackward, 0.0, 0.0, true, false },
        new object[] { BinaryOp.Pow, 0.0, 0.0, false, false },
    ];

    private (double, double) Tol(DType t, bool exact) => exact ? (0, 0) : t == DType.Float32 ? (1e-6, 4e-6) : (1e-13, 1e-12);

    [TestCaseSource(nameof(Ops))]
    public void BinaryOpMatchesCpu(BinaryOp op, double a, double b, bool exact, bool integers)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
        DType[] types = integers ? [DType.Float32, DType.Float64, DType.Int64, DType.Int32] : [DType.Float32, DType.Float64];
        int runs = 0;
        foreach (var dt in types)
            for (int rep = 0; rep < 3; rep++)
            {
                long[] shape = [r.Next(1, 7), r.Next(1, 11), r.Next(1, 13)];
                long[] yShape = [.. shape.Select(d => r.Next(3) == 0 ? 1 : d)];
                // the gradient operand may broadcast; the saved operand is read through a transposed view
                var gx = Scaled(g, yShape, dt, 3);
                var sx = Scaled(g, [shape[2], shape[1], shape[0]], dt, op is BinaryOp.SigmoidBackward ? 0.3 : 4).Permute(2, 1, 0);
                if (op == BinaryOp.Pow && rep == 1) sx = sx.Abs();   // non-integer exponents of positive bases too
                var co = Tensor.Empty(shape, dt, Device.Cpu);
                var eo = Tensor.Empty(shape, dt, Device);
                Cpu.Binary(op, co.View("t"), gx.ViewAs("t", shape), sx.ViewAs("t", shape), a, b);
                Gpu.Binary(op, eo.View("t"), gx.To(Device).ViewAs("t", shape), sx.To(Device).ViewAs("t", shape), a, b);
                var (atol, rtol) = Tol(dt, exact);
                TestUtil.AssertClose(eo, co, atol, rtol);
                runs++;
            }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no op fell back to the CPU");
        Assert.That(Gpu.PtxLaunches - launches, Is.GreaterThanOrEqualTo(runs));
    }

    private Tensor Scaled(Generator g, long[] shape, DType dt, double scale)
    {
        var x = Tensor.Randn(shape, DType.Float64, g) * scale;
        return x.To(dt);   // integers: truncated
    }

    [TestCaseSource(nameof(Ops))]
    public void BinaryOpSpecialValuesMatchCpu(BinaryOp op, double a, double b, bool exact, bool integers)
    {
        using var scope = Tensor.NewDisposeScope();
        double[] special = [0, -0.0, 1, -1, 0.5, -0.5, 2, -2, 3, -3, 2.9999, -2.9999, 6, 5.9999, 6.0001, 1e-3, 1e300, -1e300, 1e-310,
            double.PositiveInfinity, double.NegativeInfinity, double.NaN, -1.5, 2.5];
        int n = special.Length;
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
        {
            // every pair (special[i], special[j]) as (first operand, second operand)
            var x = Tensor.FromArray(special).Reshape([n, 1]).To(dt);
            var y = Tensor.FromArray(special).Reshape([1, n]).To(dt);
            long[] shape = [n, n];
            var co = Tensor.Empty(shape, dt, Device.Cpu);
            var eo = Tensor.Empty(shape, dt, Device);
            Cpu.Binary(op, co.View("t"), x.ViewAs("t", shape), y.ViewAs("t", shape), a, b);
            Gpu.Binary(op, eo.View("t"), x.To(Device).ViewAs("t", shape), y.To(Device).ViewAs("t", shape), a, b);
            var (atol, rtol) = Tol(dt, exact);
            var e = eo.ToDoubleArray();
            var c = co.ToDoubleArray();
            for (int k = 0; k < e.Length; k++)
            {
                bool ok = TestUtil.Close(e[k], c[k], atol, rtol);
                Assert.That(ok, $"{op} {dt.Name()} ({special[k / n]:R}, {special[k % n]:R}): emulated {e[k]:R}, cpu {c[k]:R}");
            }
        }
    }

    public static readonly UnaryOp[] IntUnary = [UnaryOp.Neg, UnaryOp.Abs, UnaryOp.Square, UnaryOp.Sign, UnaryOp.Affine, UnaryOp.Relu, UnaryOp.Relu6, UnaryOp.Clamp];

    [TestCaseSource(nameof(IntUnary))]
    public void IntegerUnaryOpsMatchCpuExactly(UnaryOp op)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long fallbacks = Gpu.CpuFallbacks;
        foreach (var dt in new[] { DType.Int64, DType.Int32 })
        {
            var c = Tensor.RandInt(-50_000, 50_000, [7, 13], DType.Int64, g).To(dt).T;   // transposed view
            var co = Tensor.Empty(c.Shape, dt, Device.Cpu);
            var eo = Tensor.Empty(c.Shape, dt, Device);
            Cpu.Unary(op, co.View("t"), c.View("t"), -3.7, 12.2);
            Gpu.Unary(op, eo.View("t"), c.To(Device).View("t"), -3.7, 12.2);
            Assert.That(eo.ToDoubleArray(), Is.EqualTo(co.ToDoubleArray()), $"{op} {dt.Name()}");
        }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no op fell back to the CPU");
    }
}
