using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The generated elementwise PTX kernels of the GPU backend (unary, binary, copy/cast, fill, where) on each GPU device
/// against the CPU backend on the same inputs: random ragged shapes, broadcasting, permuted and sliced
/// (non-contiguous) operands, special values, the grid-stride loop (millions of elements on a real GPU).
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class ElementwiseKernelTests(TestDevice dev) : DeviceTests(dev)
{
    private static readonly DType[] Floats = [DType.Float32, DType.Float64];

    /// <summary>Layouts of an input: a function from a contiguous base (of the base shape) to the view used.</summary>
    private static readonly (string Name, Func<long[], long[]> BaseShape, Func<Tensor, Tensor> View)[] Layouts =
    [
        ("contiguous", s => s, t => t),
        ("permuted", s => [s[2], s[0], s[1]], t => t.Permute(1, 2, 0)),
        ("sliced", s => [s[0], s[1] * 2 + 1, s[2]], t => t.Slice(1, 1, t.Size(1), 2)),
    ];

    private long[] RandomShape(Random r) => [r.Next(1, 9), r.Next(1, 12), r.Next(1, 17)];

    /// <summary>The same values in the same layout on the CPU and on the device.</summary>
    private (Tensor Cpu, Tensor Device) Pair(Tensor cpuBase, Func<Tensor, Tensor> view)
    {
        var e = cpuBase.To(Device);
        return (view(cpuBase), view(e));
    }

    private static Tensor Values(Generator g, long[] shape, DType dtype, double scale = 3) => TestUtil.Values(g, shape, dtype, scale);

    private (double Atol, double Rtol) Tol(DType t, bool exact) => exact ? (0, 0) : t == DType.Float32 ? (1e-6, 2e-6) : (1e-14, 1e-13);

    public static readonly UnaryOp[] PtxUnary =
    [
        UnaryOp.Neg, UnaryOp.Abs, UnaryOp.Square, UnaryOp.Sign, UnaryOp.Affine, UnaryOp.ScalarDiv, UnaryOp.Relu, UnaryOp.Relu6,
        UnaryOp.LeakyRelu, UnaryOp.Clamp, UnaryOp.Exp, UnaryOp.Log, UnaryOp.Sqrt, UnaryOp.Rsqrt, UnaryOp.Sigmoid, UnaryOp.Tanh, UnaryOp.Silu,
        UnaryOp.Gelu, UnaryOp.Hardsigmoid, UnaryOp.Hardswish, UnaryOp.Softsign, UnaryOp.PowScalar, UnaryOp.ScalarPow,
    ];

    private bool IsExact(UnaryOp op) => op is UnaryOp.Neg or UnaryOp.Abs or UnaryOp.Square or UnaryOp.Sign or UnaryOp.Relu
        or UnaryOp.Relu6 or UnaryOp.Clamp or UnaryOp.LeakyRelu or UnaryOp.Affine or UnaryOp.ScalarDiv or UnaryOp.Sqrt
        or UnaryOp.Hardsigmoid or UnaryOp.Hardswish or UnaryOp.Softsign;

    [TestCaseSource(nameof(PtxUnary))]
    public void UnaryMatchesCpu(UnaryOp op)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
        foreach (var dt in Floats)
            foreach (var (name, baseShape, view) in Layouts)
            {
                var shape = RandomShape(r);
                var (c, e) = Pair(Values(g, baseShape(shape), dt), view);
                Assert.That(e.Shape, Is.EqualTo(shape));
                var co = Tensor.Empty(shape, dt, Device.Cpu);
                var eo = Tensor.Empty(shape, dt, Device);
                Cpu.Unary(op, co.View("t"), c.View("t"), 0.5, 1.25);
                Gpu.Unary(op, eo.View("t"), e.View("t"), 0.5, 1.25);
                var (atol, rtol) = Tol(dt, IsExact(op));
                TestContext.Out.WriteLine($"{op} {dt.Name()} {name} {ShapeUtil.Format(shape)}");
                TestUtil.AssertClose(eo, co, atol, rtol);
            }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no op fell back to the CPU");
        Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(Floats.Length * Layouts.Length));
    }

    [TestCaseSource(nameof(PtxUnary))]
    public void UnarySpecialValuesMatchCpu(UnaryOp op)
    {
        using var scope = Tensor.NewDisposeScope();
        double[] special = [0, -0.0, 1, -1, 0.5, -0.5, 1e-3, -1e-3, 1e-310, -1e-310, 1e-40, 1e300, -1e300, 20, -20, 88, -88, 100, -100, 700, -700,
            709.7, 710, -745, -746, 800, -800, double.PositiveInfinity, double.NegativeInfinity, double.NaN, 6, 6.5, -2.75, 3.1415926535];
        foreach (var dt in Floats)
        {
            var c = Tensor.FromArray(special).To(dt);
            var e = c.To(Device);
            var co = Tensor.Empty(c.Shape, dt, Device.Cpu);
            var eo = Tensor.Empty(c.Shape, dt, Device);
            Cpu.Unary(op, co.View("t"), c.View("t"), -0.25, 2);
            Gpu.Unary(op, eo.View("t"), e.View("t"), -0.25, 2);
            var (atol, rtol) = Tol(dt, IsExact(op));
            var a = eo.ToDoubleArray();
            var x = co.ToDoubleArray();
            for (int i = 0; i < a.Length; i++)
            {
                bool ok = TestUtil.Close(a[i], x[i], atol, rtol);
                Assert.That(ok, $"{op} {dt.Name()} of {special[i]:R}: emulated {a[i]:R}, cpu {x[i]:R}");
            }
        }
    }

    public static readonly BinaryOp[] PtxBinary =
    [
        BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div, BinaryOp.Maximum, BinaryOp.Minimum,
        BinaryOp.Eq, BinaryOp.Ne, BinaryOp.Lt, BinaryOp.Le, BinaryOp.Gt, BinaryOp.Ge, BinaryOp.ReluBackward,
    ];

    [TestCaseSource(nameof(PtxBinary))]
    public void BinaryMatchesCpuWithBroadcastingAndStrides(BinaryOp op)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        bool cmp = op is BinaryOp.Eq or BinaryOp.Ne or BinaryOp.Lt or BinaryOp.Le or BinaryOp.Gt or BinaryOp.Ge;
        DType[] types = op == BinaryOp.Div ? Floats : [DType.Float32, DType.Float64, DType.Int64, DType.Int32];
        long fallbacks = Gpu.CpuFallbacks;
        foreach (var dt in types)
            foreach (var (xl, xBase, xView) in Layouts)
                foreach (var (yl, yBase, yView) in Layouts)
                {
                    var shape = RandomShape(r);
                    // y broadcasts along a random subset of dims (size 1 there), and sometimes has fewer dims
                    var yShape = shape.Select(d => r.Next(3) == 0 ? 1 : d).ToArray();
                    var (cx, ex) = Pair(Values(g, xBase(shape), dt), xView);
                    var (cy, ey) = Pair(Values(g, yBase(yShape), dt), yView);
                    if (r.Next(2) == 0)
                    {   // equal values, so == and the tie-breaking of min/max are exercised
                        cy = cx.Narrow(0, 0, 1).Narrow(1, 0, yShape[1] == 1 ? 1 : shape[1]).Narrow(2, 0, yShape[2] == 1 ? 1 : shape[2]);
                        ey = ex.Narrow(0, 0, 1).Narrow(1, 0, yShape[1] == 1 ? 1 : shape[1]).Narrow(2, 0, yShape[2] == 1 ? 1 : shape[2]);
                    }
                    var odt = cmp ? DType.Bool : dt;
                    var co = Tensor.Empty(shape, odt, Device.Cpu);
                    var eo = Tensor.Empty(shape, odt, Device);
                    Cpu.Binary(op, co.View("t"), cx.ViewAs("t", shape), cy.ViewAs("t", shape), 0, 0);
                    Gpu.Binary(op, eo.View("t"), ex.ViewAs("t", shape), ey.ViewAs("t", shape), 0, 0);
                    TestContext.Out.WriteLine($"{op} {dt.Name()} x {xl} y {yl} {ShapeUtil.Format(shape)}");
                    TestUtil.AssertClose(eo, co, 0, 0);
                }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no op fell back to the CPU");
    }

    [Test]
    public void BinaryIntoANonContiguousOutput()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var (cx, ex) = Pair(Values(g, [5, 7, 3], DType.Float32), t => t);
        var (cy, ey) = Pair(Values(g, [7, 1], DType.Float32), t => t);
        var co = Tensor.Zeros([3, 7, 5], DType.Float32);
        var eo = Tensor.Zeros([3, 7, 5], DType.Float32, Device);
        long[] shape = [5, 7, 3];
        Cpu.Binary(BinaryOp.Mul, co.Permute(2, 1, 0).View("t"), cx.View("t"), cy.ViewAs("t", shape), 0, 0);
        Gpu.Binary(BinaryOp.Mul, eo.Permute(2, 1, 0).View("t"), ex.View("t"), ey.ViewAs("t", shape), 0, 0);
        TestUtil.AssertClose(eo, co, 0, 0);
    }

    private static readonly DType[] CopyTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool];

    public static IEnumerable<TestCaseData> CopyPairs() =>
        from s in CopyTypes
        from d in CopyTypes
        select new TestCaseData(s, d);

    [TestCaseSource(nameof(CopyPairs))]
    public void CopyCastsLikeTheCpu(DType from, DType to)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        foreach (var (name, baseShape, view) in Layouts)
        {
            var shape = RandomShape(r);
            Tensor src = from switch
            {
                DType.Bool => Tensor.RandInt(0, 2, baseShape(shape), DType.Int64, g).To(DType.Bool),
                DType.UInt8 => Tensor.RandInt(0, 256, baseShape(shape), DType.Int64, g).To(DType.UInt8),
                DType.Int64 or DType.Int32 => Tensor.RandInt(-100_000, 100_000, baseShape(shape), DType.Int64, g).To(from),
                _ => Values(g, baseShape(shape), from, scale: 200),
            };
            var (c, e) = Pair(src, view);
            var co = Tensor.Empty(shape, to, Device.Cpu);
            var eo = Tensor.Empty(shape, to, Device);
            Cpu.Copy(co.View("t"), c.View("t"));
            Gpu.Copy(eo.View("t"), e.View("t"));
            TestContext.Out.WriteLine($"{from.Name()} -> {to.Name()} {name} {ShapeUtil.Format(shape)}");
            TestUtil.AssertClose(eo, co, 0, 0);
        }
    }

    [Test]
    public void CopyFromABroadcastSourceIntoAStridedDestination()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var (c, e) = Pair(Values(g, [1, 9], DType.Float64), t => t);
        var cd = Tensor.Zeros([9, 6], DType.Float32);
        var ed = Tensor.Zeros([9, 6], DType.Float32, Device);
        cd.Transpose(0, 1).CopyFrom(c);
        ed.Transpose(0, 1).CopyFrom(e);
        TestUtil.AssertClose(ed, cd, 0, 0);
    }

    [Test]
    public void FillWritesOnlyTheView([Values(DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool)] DType dtype)
    {
        using var scope = Tensor.NewDisposeScope();
        foreach (double v in new[] { 2.5, -3, 300, 0 })
        {
            var c = Tensor.Zeros([6, 11], dtype);
            var e = Tensor.Zeros([6, 11], dtype, Device);
            Cpu.Fill(c.Slice(1, 1, 11, 3).View("t"), v);
            Gpu.Fill(e.Slice(1, 1, 11, 3).View("t"), v);
            TestUtil.AssertClose(e, c, 0, 0);
        }
    }

    [Test]
    public void WhereMatchesCpu([Values(DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool)] DType dtype)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var cond = Tensor.RandInt(0, 2, [5, 1, 7], DType.Int64, g).To(DType.Bool);
        var x = Tensor.RandInt(0, 2, [4, 7], DType.Int64, g).To(dtype);
        var y = Tensor.RandInt(0, 2, [5, 4, 1], DType.Int64, g).To(dtype).Permute(0, 1, 2);
        var c = Tensor.Where(cond, x, y);
        var e = Tensor.Where(cond.To(Device), x.To(Device), y.To(Device));
        Assert.That(e.Device, Is.EqualTo(Device));
        TestUtil.AssertClose(e, c, 0, 0);
    }

    [Test]
    public void GridStrideLoopCoversMoreElementsThanThreads()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        // the emulator: 512 threads for 3001 elements; a GPU: a full grid for three million
        long n = Dev.Pick(3001, 3_000_001);
        TestUtil.With(() => Gpu.MaxBlocks, b => Gpu.MaxBlocks = b, Dev.Pick(2, Gpu.MaxBlocks), () =>
        {
            var (cx, ex) = Pair(Values(g, [n], DType.Float32), t => t);
            var (cy, ey) = Pair(Values(g, [n], DType.Float32), t => t);
            TestUtil.AssertClose(ex * ey + ex, cx * cy + cx, 0, 0);
            TestUtil.AssertClose(ex.Exp(), cx.Exp(), 1e-6, 2e-6);
        });
    }

    [Test]
    public void CoalescingMergesContiguousDims()
    {
        var (dims, strides) = GpuBackend.Coalesce([2, 3, 4], [[12, 4, 1], [0, 0, 1]]);
        Assert.That(dims, Is.EqualTo(new long[] { 6, 4 }));
        Assert.That(strides[0], Is.EqualTo(new long[] { 4, 1 }));
        Assert.That(strides[1], Is.EqualTo(new long[] { 0, 1 }));
        (dims, strides) = GpuBackend.Coalesce([2, 1, 4], [[4, 4, 1], [4, 4, 1]]);
        Assert.That(dims, Is.EqualTo(new long[] { 8 }));
        (dims, _) = GpuBackend.Coalesce([], [[], []]);
        Assert.That(dims, Is.EqualTo(new long[] { 1 }));
    }

    [Test]
    public void HighRankOperandsFallBackToTheCpu()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        long[] shape = [2, 2, 2, 2, 2, 2, 2, 2];
        var c = Values(g, shape, DType.Float32);
        var e = c.To(Device);
        int[] perm = [7, 6, 5, 4, 3, 2, 1, 0];
        long fallbacks = Gpu.CpuFallbacks;
        TestUtil.AssertClose(e.Permute(perm).Relu(), c.Permute(perm).Relu(), 0, 0);
        Assert.That(Gpu.CpuFallbacks, Is.GreaterThan(fallbacks));
    }
}
