using Engine.Kernels;

namespace Engine.Tests.Ops;

/// <summary>How a test input is laid out in memory; every layout holds the same logical values.</summary>
public enum Layout
{
    /// <summary>Row-major, no gaps.</summary>
    Contiguous,
    /// <summary>The transpose (all dims reversed) of a contiguous tensor of the reversed shape.</summary>
    Permuted,
    /// <summary>Every second element of a contiguous tensor along a new last dim (last-dim stride 2, offset 1).</summary>
    Sliced,
}

/// <summary>
/// Helpers for the op tests: random inputs in a chosen layout, and plain-C# reference implementations
/// ("oracles") over row-major double arrays that do not share any code with the engine.
/// </summary>
internal static class OpsUtil
{
    public static readonly Layout[] AllLayouts = [Layout.Contiguous, Layout.Permuted, Layout.Sliced];

    /// <summary>A uniform integer in [lo, hi) drawn from the generator.</summary>
    public static int Int(Generator g, int lo, int hi) => lo + (int)Math.Min(hi - lo - 1, Math.Floor(g.NextDouble() * (hi - lo)));

    public static Layout RandLayout(Generator g) => AllLayouts[Int(g, 0, AllLayouts.Length)];

    public static long NumEl(long[] shape) => ShapeUtil.NumEl(shape);

    /// <summary>Standard normal values (never all zero) from the generator.</summary>
    public static double[] Randn(Generator g, long n)
    {
        using var t = Tensor.Randn([n], DType.Float64, g);
        return t.ToArray<double>();
    }

    /// <summary>Rounds values to float32 precision so float32 and float64 oracles see the same inputs.</summary>
    public static double[] ToFloat32(double[] v) => v.Select(x => (double)(float)x).ToArray();

    /// <summary>A tensor holding <paramref name="vals"/> (row-major logical order) with the given shape, layout and dtype.</summary>
    public static Tensor Make(double[] vals, long[] shape, Layout layout, DType dtype = DType.Float64)
    {
        using var _ = Tensor.NoGrad();
        var c = Tensor.FromSpan<double>(vals, shape).To(dtype);
        switch (layout)
        {
            case Layout.Permuted when shape.Length >= 2:
                {
                    var rev = Enumerable.Range(0, shape.Length).Reverse().ToArray();
                    var b = c.Permute(rev).Contiguous();
                    return b.Permute(rev);
                }
            case Layout.Permuted:
            case Layout.Sliced:
                if (shape.Length == 0) return c;
                return Tensor.Stack([c, c], -1).Select(-1, 1);
            default:
                return c;
        }
    }

    /// <summary>Random standard-normal input (optionally mapped through <paramref name="domain"/>) in a layout.</summary>
    public static (Tensor T, double[] V) Input(Generator g, long[] shape, Layout layout, Func<double, double>? domain = null, DType dtype = DType.Float64)
    {
        var v = Randn(g, NumEl(shape));
        if (domain is not null) v = v.Select(domain).ToArray();
        if (dtype == DType.Float32) v = ToFloat32(v);
        return (Make(v, shape, layout, dtype), v);
    }

    /// <summary>A float64 leaf that requires grad, holding <paramref name="vals"/> in the given layout.</summary>
    public static Tensor Leaf(double[] vals, long[] shape, Layout layout) => Make(vals, shape, layout).RequiresGrad_();

    /// <summary>A random float64 leaf that requires grad.</summary>
    public static Tensor Leaf(Generator g, long[] shape, Layout layout, Func<double, double>? domain = null) => Input(g, shape, layout, domain).T.RequiresGrad_();

    /// <summary>Moves values that lie within 1e-3 of a kink 1e-2 past it.</summary>
    public static double AwayFrom(double v, double[]? kinks)
    {
        if (kinks is null) return v;
        foreach (var k in kinks)
            if (Math.Abs(v - k) < 1e-3) return v + 1e-2;
        return v;
    }

    /// <summary>A random shape of rank in [minRank, maxRank] with sizes in [1, maxDim].</summary>
    public static long[] RandShape(Generator g, int minRank, int maxRank, int maxDim)
    {
        int r = Int(g, minRank, maxRank + 1);
        var s = new long[r];
        for (int i = 0; i < r; i++) s[i] = Int(g, 1, maxDim + 1);
        return s;
    }

    /// <summary>Two random shapes that broadcast together (dropped leading dims, size-1 dims).</summary>
    public static (long[] A, long[] B) RandBroadcastPair(Generator g)
    {
        var o = RandShape(g, 1, 4, 4);
        long[] Derive()
        {
            int drop = Int(g, 0, o.Length + 1);
            var s = o.Skip(drop).ToArray();
            for (int i = 0; i < s.Length; i++) if (g.NextDouble() < 0.3) s[i] = 1;
            return s;
        }
        return (Derive(), Derive());
    }

    public static long[] BroadcastShape(long[] a, long[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var s = new long[r];
        for (int i = 0; i < r; i++)
        {
            long x = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            long y = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            Assert.That(x == y || x == 1 || y == 1, $"test bug: {ShapeUtil.Format(a)} and {ShapeUtil.Format(b)} do not broadcast");
            s[i] = x == 1 ? y : x;
        }
        return s;
    }

    /// <summary>Row-major multi-index of flat position <paramref name="e"/>.</summary>
    public static long[] Unravel(long e, long[] shape)
    {
        var idx = new long[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--) { idx[d] = e % shape[d]; e /= shape[d]; }
        return idx;
    }

    /// <summary>Flat row-major position of a multi-index.</summary>
    public static long Ravel(long[] idx, long[] shape)
    {
        long e = 0;
        for (int d = 0; d < shape.Length; d++) e = e * shape[d] + idx[d];
        return e;
    }

    /// <summary>Broadcasts row-major values of shape <paramref name="from"/> to shape <paramref name="to"/>.</summary>
    public static double[] Expand(double[] v, long[] from, long[] to)
    {
        int off = to.Length - from.Length;
        long n = NumEl(to);
        var r = new double[n];
        var src = new long[from.Length];
        for (long e = 0; e < n; e++)
        {
            var idx = Unravel(e, to);
            for (int d = 0; d < from.Length; d++) src[d] = from[d] == 1 ? 0 : idx[d + off];
            r[e] = v[Ravel(src, from)];
        }
        return r;
    }

    /// <summary>Elementwise oracle with broadcasting.</summary>
    public static double[] Zip(double[] a, long[] sa, double[] b, long[] sb, Func<double, double, double> f, out long[] shape)
    {
        shape = BroadcastShape(sa, sb);
        var ea = Expand(a, sa, shape);
        var eb = Expand(b, sb, shape);
        var r = new double[ea.Length];
        for (int i = 0; i < r.Length; i++) r[i] = f(ea[i], eb[i]);
        return r;
    }

    /// <summary>Asserts every element is within atol + rtol·|expected| (NaN matches NaN), reporting the first miss.</summary>
    public static void AssertAllClose(double[] actual, double[] expected, double atol, double rtol, string what = "")
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: element count");
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            bool ok = TestUtil.Close(a, e, atol, rtol);
            if (!ok) Assert.Fail($"{what}: element {i}: got {a:R}, expected {e:R}");
        }
    }

    /// <summary>Asserts the tensor has the shape and (within tolerance) the values.</summary>
    public static void AssertTensor(Tensor actual, long[] shape, double[] expected, double atol = 1e-12, double rtol = 1e-12, string what = "")
    {
        Assert.That(actual.Shape, Is.EqualTo(shape), $"{what}: shape");
        AssertAllClose(actual.ToDoubleArray(), expected, atol, rtol, what);
    }

    private const double CdfStep = 1e-3;
    private static double[]? s_cdfTable;

    private static double Pdf(double t) => Math.Exp(-0.5 * t * t) / Math.Sqrt(2 * Math.PI);

    private static double Simpson(double a, double b) => (b - a) / 6 * (Pdf(a) + 4 * Pdf(0.5 * (a + b)) + Pdf(b));

    /// <summary>
    /// Φ(x) by Simpson integration of the normal density over panels of width 1e-3 (cumulative table built once),
    /// independent of the engine's erf. Error ~1e-15.
    /// </summary>
    public static double NormalCdf(double x)
    {
        var table = s_cdfTable;
        if (table is null)
        {
            table = new double[12001];
            for (int k = 1; k < table.Length; k++) table[k] = table[k - 1] + Simpson((k - 1) * CdfStep, k * CdfStep);
            s_cdfTable = table;
        }
        double ax = Math.Min(Math.Abs(x), 12);
        int i = (int)(ax / CdfStep);
        double integral = table[i] + Simpson(i * CdfStep, ax);
        return x >= 0 ? 0.5 + integral : 0.5 - integral;
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}

/// <summary>A one-operand op with its oracle, the inputs it accepts, and its non-differentiable points.</summary>
public sealed record UnaryCase(string Name, Func<Tensor, Tensor> Op, Func<double, double> Oracle, Func<double, double>? Domain = null, double[]? Kinks = null)
{
    public override string ToString() => Name;
}

/// <summary>A two-operand broadcasting op with its oracle and input domains.</summary>
public sealed record BinaryCase(string Name, Func<Tensor, Tensor, Tensor> Op, Func<double, double, double> Oracle,
    Func<double, double>? DomainA = null, Func<double, double>? DomainB = null, bool HasKinkAtEqual = false)
{
    public override string ToString() => Name;
}

public class ElementwiseTests
{
    private static double Positive(double x) => Math.Abs(x) + 0.5;
    private static double AwayFromZero(double x) => x >= 0 ? x + 0.5 : x - 0.5;

    public static IEnumerable<UnaryCase> UnaryCases()
    {
        yield return new("neg", x => x.Neg(), x => -x);
        yield return new("neg_operator", x => -x, x => -x);
        yield return new("abs", x => x.Abs(), Math.Abs, Kinks: [0]);
        yield return new("exp", x => x.Exp(), Math.Exp);
        yield return new("log", x => x.Log(), Math.Log, Positive);
        yield return new("sqrt", x => x.Sqrt(), Math.Sqrt, Positive);
        yield return new("rsqrt", x => x.Rsqrt(), x => 1 / Math.Sqrt(x), Positive);
        yield return new("square", x => x.Square(), x => x * x);
        yield return new("reciprocal", x => x.Reciprocal(), x => 1 / x, AwayFromZero);
        yield return new("clamp", x => x.Clamp(-0.5, 0.7), x => Math.Min(Math.Max(x, -0.5), 0.7), Kinks: [-0.5, 0.7]);
        yield return new("clamp_min", x => x.Clamp(min: 0.2), x => Math.Max(x, 0.2), Kinks: [0.2]);
        yield return new("clamp_max", x => x.Clamp(max: -0.3), x => Math.Min(x, -0.3), Kinks: [-0.3]);
        yield return new("relu", x => x.Relu(), x => Math.Max(x, 0), Kinks: [0]);
        yield return new("relu6", x => x.Relu6(), x => Math.Min(Math.Max(x, 0), 6), x => 4 * x + 3, [0, 6]);
        yield return new("leaky_relu", x => x.LeakyRelu(), x => x > 0 ? x : 0.01 * x, Kinks: [0]);
        yield return new("leaky_relu_0.2", x => x.LeakyRelu(0.2), x => x > 0 ? x : 0.2 * x, Kinks: [0]);
        yield return new("sigmoid", x => x.Sigmoid(), OpsUtil.Sigmoid, x => 3 * x);
        yield return new("tanh", x => x.Tanh(), Math.Tanh, x => 2 * x);
        yield return new("silu", x => x.Silu(), x => x * OpsUtil.Sigmoid(x), x => 3 * x);
        yield return new("gelu", x => x.Gelu(), x => x * OpsUtil.NormalCdf(x), x => 2 * x);
        yield return new("softsign", x => x.Apply(UnaryOp.Softsign), x => x / (1 + Math.Abs(x)), x => 3 * x);
        yield return new("pow_3", x => x.Pow(3.0), x => x * x * x);
        yield return new("pow_2.5", x => x.Pow(2.5), x => Math.Pow(x, 2.5), Positive);
        yield return new("pow_-1.5", x => x.Pow(-1.5), x => Math.Pow(x, -1.5), Positive);
        yield return new("pow_0.5", x => x.Pow(0.5), Math.Sqrt, Positive);
        yield return new("pow_0", x => x.Pow(0.0), _ => 1);
        yield return new("pow_1", x => x.Pow(1.0), x => x);
        yield return new("pow_2", x => x.Pow(2.0), x => x * x);
        yield return new("pow_-2", x => x.Pow(-2.0), x => 1 / (x * x), AwayFromZero);
        yield return new("add_scalar", x => x.Add(2.5), x => x + 2.5);
        yield return new("add_scalar_operator", x => 2.5 + x, x => x + 2.5);
        yield return new("sub_scalar", x => x.Sub(1.5), x => x - 1.5);
        yield return new("mul_scalar", x => x.Mul(-3.0), x => -3 * x);
        yield return new("mul_scalar_operator", x => x * 0.25, x => x * 0.25);
        yield return new("div_scalar", x => x.Div(4.0), x => x / 4);
        yield return new("div_scalar_operator", x => x / 3.0, x => x / 3);
        yield return new("rsub_scalar", x => x.RSub(2.0), x => 2 - x);
        yield return new("rsub_scalar_operator", x => 2.0 - x, x => 2 - x);
        yield return new("rdiv_scalar", x => x.RDiv(3.0), x => 3 / x, AwayFromZero);
        yield return new("rdiv_scalar_operator", x => 3.0 / x, x => 3 / x, AwayFromZero);
    }

    public static IEnumerable<BinaryCase> BinaryCases()
    {
        yield return new("add", (a, b) => a.Add(b), (x, y) => x + y);
        yield return new("add_operator", (a, b) => a + b, (x, y) => x + y);
        yield return new("add_alpha", (a, b) => a.Add(b, 2.5), (x, y) => x + 2.5 * y);
        yield return new("sub", (a, b) => a.Sub(b), (x, y) => x - y);
        yield return new("sub_operator", (a, b) => a - b, (x, y) => x - y);
        yield return new("mul", (a, b) => a.Mul(b), (x, y) => x * y);
        yield return new("mul_operator", (a, b) => a * b, (x, y) => x * y);
        yield return new("div", (a, b) => a.Div(b), (x, y) => x / y, DomainB: AwayFromZero);
        yield return new("div_operator", (a, b) => a / b, (x, y) => x / y, DomainB: AwayFromZero);
        yield return new("pow", (a, b) => a.Pow(b), Math.Pow, DomainA: Positive);
        yield return new("maximum", (a, b) => a.Maximum(b), Math.Max, HasKinkAtEqual: true);
        yield return new("minimum", (a, b) => a.Minimum(b), Math.Min, HasKinkAtEqual: true);
    }

    // ---- literal forward values ------------------------------------------------------------------------

    private static Tensor Vec(params double[] v) => Tensor.FromArray(v);

    [Test]
    public void ActivationsMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        TestUtil.AssertClose(Vec(0, 2, -2).Sigmoid(), [0.5, 0.8807970779778823, 0.11920292202211755], 1e-15, 1e-14);
        TestUtil.AssertClose(Vec(0.5, -1).Tanh(), [0.46211715726000974, -0.7615941559557649], 1e-15, 1e-14);
        TestUtil.AssertClose(Vec(1, -1, 0, 2, -0.5, 3).Gelu(),
            [0.8413447460685429, -0.15865525393145707, 0, 1.9544997361036416, -0.15426876936299344, 2.99595030590511], 1e-15, 1e-13);
        TestUtil.AssertClose(Vec(1, -1, 2).Silu(), [0.7310585786300049, -0.2689414213699951, 1.7615941559557646], 1e-15, 1e-14);
        TestUtil.AssertClose(Vec(-1, 0, 2).Relu(), [0, 0, 2], 0, 0);
        TestUtil.AssertClose(Vec(-1, 3, 7).Relu6(), [0, 3, 6], 0, 0);
        TestUtil.AssertClose(Vec(-2, 3).LeakyRelu(0.1), [-0.2, 3], 1e-15, 0);
        TestUtil.AssertClose(Vec(-100).LeakyRelu(), [-1], 1e-15, 0);
    }

    [Test]
    public void SigmoidAndSiluAreStableForLargeInputs()
    {
        using var scope = Tensor.NewDisposeScope();
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
        {
            var x = Vec(-1000, 1000, -80, 80).To(dt);
            TestUtil.AssertClose(x.Sigmoid(), [0, 1, 1.8048513878454153e-35, 1], 1e-30, 1e-6);
            TestUtil.AssertClose(x.Silu(), [0, 1000, -80 * 1.8048513878454153e-35, 80], 1e-30, 1e-6);
            var t = x.Tanh().ToDoubleArray();
            Assert.That(t, Is.EqualTo(new double[] { -1, 1, -1, 1 }));
        }
    }

    [Test]
    public void MathFunctionsMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        TestUtil.AssertClose(Vec(1, 0.5).Exp(), [Math.E, 1.6487212707001282], 0, 1e-15);
        TestUtil.AssertClose(Vec(Math.E, 1, 0.25).Log(), [1, 0, -1.3862943611198906], 1e-15, 1e-15);
        TestUtil.AssertClose(Vec(4, 2.25, 1e-6).Sqrt(), [2, 1.5, 1e-3], 0, 1e-15);
        TestUtil.AssertClose(Vec(4, 0.01).Rsqrt(), [0.5, 10], 0, 1e-15);
        TestUtil.AssertClose(Vec(4, -0.5).Reciprocal(), [0.25, -2], 0, 0);
        TestUtil.AssertClose(Vec(-3, 1.5).Square(), [9, 2.25], 0, 0);
        TestUtil.AssertClose(Vec(-2.5, 3, -0.0).Abs(), [2.5, 3, 0], 0, 0);
        TestUtil.AssertClose(Vec(-2.5, 3).Neg(), [2.5, -3], 0, 0);
        TestUtil.AssertClose(Vec(-2.5, 3, 0.1).Sign(), [-1, 1, 1], 0, 0);
        TestUtil.AssertClose(Vec(-2, 0.5, 3).Clamp(-1, 1), [-1, 0.5, 1], 0, 0);
        TestUtil.AssertClose(Vec(-2, 0.5, 3).Clamp(min: 0), [0, 0.5, 3], 0, 0);
        TestUtil.AssertClose(Vec(-2, 0.5, 3).Clamp(max: 0), [-2, 0, 0], 0, 0);
        TestUtil.AssertClose(Vec(2, 9, 0.25).Pow(10.0), [1024, 3486784401, 9.5367431640625e-07], 0, 1e-15);
        TestUtil.AssertClose(Vec(9, 0.25).Pow(0.5), [3, 0.5], 0, 1e-15);
        TestUtil.AssertClose(Vec(2, 3, 4).Pow(Vec(3, 2, -0.5)), [8, 9, 0.5], 0, 1e-15);
    }

    [Test]
    public void ArithmeticBroadcastsAsNumPy()
    {
        using var scope = Tensor.NewDisposeScope();
        var col = Tensor.FromArray(new[] { 1.0, 2.0 }, 2, 1);
        var row = Vec(10, 20, 30);
        var sum = col.Add(row);
        Assert.That(sum.Shape, Is.EqualTo(new long[] { 2, 3 }));
        TestUtil.AssertClose(sum, [11, 21, 31, 12, 22, 32], 0, 0);
        TestUtil.AssertClose(col.Sub(row), [-9, -19, -29, -8, -18, -28], 0, 0);
        TestUtil.AssertClose(row.Sub(col), [9, 19, 29, 8, 18, 28], 0, 0);
        TestUtil.AssertClose(col.Mul(row), [10, 20, 30, 20, 40, 60], 0, 0);
        TestUtil.AssertClose(col.Div(row), [0.1, 0.05, 1.0 / 30, 0.2, 0.1, 2.0 / 30], 0, 1e-15);
        TestUtil.AssertClose(col.Maximum(Vec(1.5, 0.5, 3)), [1.5, 1, 3, 2, 2, 3], 0, 0);
        TestUtil.AssertClose(col.Minimum(Vec(1.5, 0.5, 3)), [1, 0.5, 1, 1.5, 0.5, 2], 0, 0);
        var s = Tensor.Scalar(2.0, DType.Float64);
        TestUtil.AssertClose(s.Mul(row), [20, 40, 60], 0, 0);
        Assert.That(s.Mul(row).Shape, Is.EqualTo(new long[] { 3 }));
    }

    [Test]
    public void ScalarOpsMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Vec(1, 2, 4);
        TestUtil.AssertClose(x.Add(1), [2, 3, 5], 0, 0);
        TestUtil.AssertClose(x.Sub(1), [0, 1, 3], 0, 0);
        TestUtil.AssertClose(x.Mul(3), [3, 6, 12], 0, 0);
        TestUtil.AssertClose(x.Div(2), [0.5, 1, 2], 0, 0);
        TestUtil.AssertClose(x.RSub(10), [9, 8, 6], 0, 0);
        TestUtil.AssertClose(x.RDiv(8), [8, 4, 2], 0, 0);
        TestUtil.AssertClose(10 - x, [9, 8, 6], 0, 0);
        TestUtil.AssertClose(8 / x, [8, 4, 2], 0, 0);
    }

    [Test]
    public void MaximumAndMinimumPropagateNaN()
    {
        using var scope = Tensor.NewDisposeScope();
        var a = Vec(double.NaN, 1, 2);
        var b = Vec(0, double.NaN, 1);
        TestUtil.AssertClose(a.Maximum(b), [double.NaN, double.NaN, 2], 0, 0);
        TestUtil.AssertClose(a.Minimum(b), [double.NaN, double.NaN, 1], 0, 0);
    }

    // ---- oracle comparisons on random shapes and layouts -------------------------------------------------

    [TestCaseSource(nameof(UnaryCases))]
    public void UnaryMatchesOracle(UnaryCase c)
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 12; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 0, 4, 5);
            var layout = OpsUtil.RandLayout(g);
            var dt = trial % 2 == 0 ? DType.Float64 : DType.Float32;
            var (x, v) = OpsUtil.Input(g, shape, layout, c.Domain, dt);
            var y = c.Op(x);
            Assert.That(y.DType, Is.EqualTo(dt));
            var expected = v.Select(c.Oracle).ToArray();
            if (dt == DType.Float64) OpsUtil.AssertTensor(y, shape, expected, 1e-12, 1e-11, $"{c.Name} float64 {layout}");
            else OpsUtil.AssertTensor(y, shape, expected, 1e-5, 1e-5, $"{c.Name} float32 {layout}");
        }
    }

    [TestCaseSource(nameof(BinaryCases))]
    public void BinaryMatchesOracleWithBroadcasting(BinaryCase c)
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 16; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var (sa, sb) = OpsUtil.RandBroadcastPair(g);
            if (trial % 4 == 0) sb = [];
            var dt = trial % 2 == 0 ? DType.Float64 : DType.Float32;
            var (a, va) = OpsUtil.Input(g, sa, OpsUtil.RandLayout(g), c.DomainA, dt);
            var (b, vb) = OpsUtil.Input(g, sb, OpsUtil.RandLayout(g), c.DomainB, dt);
            var expected = OpsUtil.Zip(va, sa, vb, sb, c.Oracle, out var shape);
            var y = c.Op(a, b);
            if (dt == DType.Float64) OpsUtil.AssertTensor(y, shape, expected, 1e-12, 1e-12, $"{c.Name} {Kernels.ShapeUtil.Format(sa)} {Kernels.ShapeUtil.Format(sb)}");
            else OpsUtil.AssertTensor(y, shape, expected, 1e-6, 1e-6, $"{c.Name} float32 {Kernels.ShapeUtil.Format(sa)} {Kernels.ShapeUtil.Format(sb)}");
        }
    }

    [Test]
    public void LargeStridedBinaryMatchesOracle()
    {
        // Big enough that the row kernels run in parallel chunks; operands permuted and broadcast.
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        long[] sa = [40, 1, 37, 24], sb = [9, 37, 24];
        var (a, va) = OpsUtil.Input(g, sa, Layout.Permuted);
        var (b, vb) = OpsUtil.Input(g, sb, Layout.Sliced);
        var expected = OpsUtil.Zip(va, sa, vb, sb, (x, y) => x * y, out var shape);
        OpsUtil.AssertTensor(a.Mul(b), shape, expected, 0, 0, "mul");
        var expected2 = OpsUtil.Zip(va, sa, vb, sb, (x, y) => x - y, out _);
        OpsUtil.AssertTensor(a.Sub(b), shape, expected2, 0, 0, "sub");
        var ex = va.Select(Math.Exp).ToArray();
        OpsUtil.AssertTensor(a.Exp(), sa, ex, 1e-300, 1e-14, "exp");
    }

    // ---- gradient checks ---------------------------------------------------------------------------------

    [TestCaseSource(nameof(UnaryCases))]
    public void UnaryGradCheck(UnaryCase c)
    {
        var g = TestUtil.Gen();
        foreach (var (shape, layout) in new (long[], Layout)[] { ([2, 3], Layout.Contiguous), ([3, 4], Layout.Permuted), ([2, 5], Layout.Sliced), ([], Layout.Contiguous), ([2, 3, 2], Layout.Permuted) })
        {
            using var scope = Tensor.NewDisposeScope();
            var v = OpsUtil.Randn(g, OpsUtil.NumEl(shape)).Select(x => OpsUtil.AwayFrom(c.Domain is null ? x : c.Domain(x), c.Kinks)).ToArray();
            var x = OpsUtil.Leaf(v, shape, layout);
            TestUtil.GradCheck(t => c.Op(t[0]), x);
        }
        {
            // the op applied to a non-contiguous view taken inside the function
            using var scope = Tensor.NewDisposeScope();
            var v = OpsUtil.Randn(g, 12).Select(x => OpsUtil.AwayFrom(c.Domain is null ? x : c.Domain(x), c.Kinks)).ToArray();
            var x = OpsUtil.Leaf(v, [3, 4], Layout.Contiguous);
            TestUtil.GradCheck(t => c.Op(t[0].T), x);
            TestUtil.GradCheck(t => c.Op(t[0].Slice(1, 1, 4, 2)), x);
        }
    }

    private static readonly (long[] A, long[] B, Layout LA, Layout LB)[] BinaryGradShapes =
    [
        ([2, 3], [2, 3], Layout.Contiguous, Layout.Contiguous),
        ([3, 1, 4], [5, 4], Layout.Contiguous, Layout.Contiguous),
        ([5, 4], [3, 1, 4], Layout.Permuted, Layout.Sliced),
        ([4], [2, 3, 4], Layout.Sliced, Layout.Permuted),
        ([], [2, 3], Layout.Contiguous, Layout.Permuted),
        ([2, 3], [], Layout.Sliced, Layout.Contiguous),
        ([2, 1], [1, 3], Layout.Contiguous, Layout.Contiguous),
        ([3, 4], [3, 4], Layout.Permuted, Layout.Sliced),
    ];

    [TestCaseSource(nameof(BinaryCases))]
    public void BinaryGradCheckWithBroadcastingAndStrides(BinaryCase c)
    {
        var g = TestUtil.Gen();
        foreach (var (sa, sb, la, lb) in BinaryGradShapes)
        {
            using var scope = Tensor.NewDisposeScope();
            double[] va, vb;
            int tries = 0;
            while (true)
            {
                va = OpsUtil.Randn(g, OpsUtil.NumEl(sa));
                vb = OpsUtil.Randn(g, OpsUtil.NumEl(sb));
                if (c.DomainA is not null) va = va.Select(c.DomainA).ToArray();
                if (c.DomainB is not null) vb = vb.Select(c.DomainB).ToArray();
                // keep maximum/minimum away from ties, where they are not differentiable
                if (!c.HasKinkAtEqual || OpsUtil.Zip(va, sa, vb, sb, (x, y) => Math.Abs(x - y), out _).Min() > 1e-3) break;
                Assert.That(++tries, Is.LessThan(100), "could not draw inputs away from the kink");
            }
            var a = OpsUtil.Leaf(va, sa, la);
            var b = OpsUtil.Leaf(vb, sb, lb);
            TestUtil.GradCheck(t => c.Op(t[0], t[1]), a, b);
        }
    }

    [Test]
    public void BinaryGradCheckWithTransposedOperandsInsideTheFunction()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var a = TestUtil.Leaf(g, 4, 3);
        var b = TestUtil.StridedLeaf(g, 3, 4);
        var p = OpsUtil.Leaf(g, [3, 4], Layout.Contiguous, x => Math.Abs(x) + 0.5);
        TestUtil.GradCheck(t => t[0].T.Mul(t[1]).Add(t[1].Div(t[2])).Sub(t[0].T.Square().Add(0.5).Pow(t[2]).Mul(0.1)), a, b, p);
        TestUtil.GradCheck(t => t[0].Permute(1, 0).Div(t[1].Square().Add(0.5)), a, b);
    }

    [Test]
    public void OneInputUsedTwiceAccumulatesItsGradient()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.StridedLeaf(g, 3, 4);
        TestUtil.GradCheck(t => t[0].Mul(t[0]).Add(t[0].Exp()).Sub(t[0].T.Sum(0).Unsqueeze(-1)), x);
        // d/dx (x*x) = 2x exactly
        x.Mul(x).Sum().Backward();
        OpsUtil.AssertAllClose(x.Grad!.ToDoubleArray(), x.ToDoubleArray().Select(v => 2 * v).ToArray(), 0, 0, "grad of x*x");
    }

    [Test]
    public void MaximumSplitsTheGradientOnTies()
    {
        using var scope = Tensor.NewDisposeScope();
        var a = Vec(1, 2, 3).RequiresGrad_();
        var b = Vec(1, 5, 0).RequiresGrad_();
        a.Maximum(b).Sum().Backward();
        Assert.That(a.Grad!.ToArray<double>(), Is.EqualTo(new[] { 0.5, 0, 1 }));
        Assert.That(b.Grad!.ToArray<double>(), Is.EqualTo(new[] { 0.5, 1, 0 }));
    }

    [Test]
    public void ActivationGradientsMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Vec(1.0).RequiresGrad_();
        x.Gelu().Sum().Backward();
        Assert.That(x.Grad!.Item(), Is.EqualTo(1.0833154705876864).Within(1e-14));
        var y = Vec(0.0).RequiresGrad_();
        y.Sigmoid().Sum().Backward();
        Assert.That(y.Grad!.Item(), Is.EqualTo(0.25));
        var z = Vec(-2, 3, 7).RequiresGrad_();
        z.Relu6().Sum().Backward();
        Assert.That(z.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 0, 1, 0 }));
        var w = Vec(-2, 3).RequiresGrad_();
        w.LeakyRelu(0.1).Sum().Backward();
        Assert.That(w.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 0.1, 1 }));
        var c = Vec(-2, 0.5, 3).RequiresGrad_();
        c.Clamp(-1, 1).Sum().Backward();
        Assert.That(c.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 0, 1, 0 }));
    }

    // ---- comparisons ---------------------------------------------------------------------------------------

    public static IEnumerable<TestCaseData> Comparisons()
    {
        yield return new TestCaseData("eq", (Func<Tensor, Tensor, Tensor>)((a, b) => a.Eq(b)), (Func<double, double, bool>)((x, y) => x == y));
        yield return new TestCaseData("ne", (Func<Tensor, Tensor, Tensor>)((a, b) => a.Ne(b)), (Func<double, double, bool>)((x, y) => x != y));
        yield return new TestCaseData("lt", (Func<Tensor, Tensor, Tensor>)((a, b) => a.Lt(b)), (Func<double, double, bool>)((x, y) => x < y));
        yield return new TestCaseData("le", (Func<Tensor, Tensor, Tensor>)((a, b) => a.Le(b)), (Func<double, double, bool>)((x, y) => x <= y));
        yield return new TestCaseData("gt", (Func<Tensor, Tensor, Tensor>)((a, b) => a.Gt(b)), (Func<double, double, bool>)((x, y) => x > y));
        yield return new TestCaseData("ge", (Func<Tensor, Tensor, Tensor>)((a, b) => a.Ge(b)), (Func<double, double, bool>)((x, y) => x >= y));
    }

    private static Tensor ScalarCompare(string name, Tensor a, double s) => name switch
    {
        "eq" => a.Eq(s),
        "ne" => a.Ne(s),
        "lt" => a.Lt(s),
        "le" => a.Le(s),
        "gt" => a.Gt(s),
        _ => a.Ge(s),
    };

    [TestCaseSource(nameof(Comparisons))]
    public void ComparisonsReturnBoolTensorsMatchingTheOracle(string name, Func<Tensor, Tensor, Tensor> op, Func<double, double, bool> oracle)
    {
        var g = TestUtil.Gen();
        foreach (var dt in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32 })
        {
            for (int trial = 0; trial < 4; trial++)
            {
                using var scope = Tensor.NewDisposeScope();
                var (sa, sb) = OpsUtil.RandBroadcastPair(g);
                // small integers so that ties are common
                var va = OpsUtil.Randn(g, OpsUtil.NumEl(sa)).Select(v => Math.Round(v * 1.5)).ToArray();
                var vb = OpsUtil.Randn(g, OpsUtil.NumEl(sb)).Select(v => Math.Round(v * 1.5)).ToArray();
                var a = OpsUtil.Make(va, sa, OpsUtil.RandLayout(g), dt);
                var b = OpsUtil.Make(vb, sb, OpsUtil.RandLayout(g), dt);
                var r = op(a, b);
                Assert.That(r.DType, Is.EqualTo(DType.Bool), name);
                var expected = OpsUtil.Zip(va, sa, vb, sb, (x, y) => oracle(x, y) ? 1 : 0, out var shape);
                Assert.That(r.Shape, Is.EqualTo(shape));
                Assert.That(r.ToArray<bool>(), Is.EqualTo(expected.Select(e => e != 0).ToArray()), $"{name} {dt}");
                var rs = ScalarCompare(name, a, 1.0);
                Assert.That(rs.DType, Is.EqualTo(DType.Bool));
                Assert.That(rs.ToArray<bool>(), Is.EqualTo(va.Select(x => oracle(x, 1.0)).ToArray()), $"{name} scalar {dt}");
            }
        }
    }

    [Test]
    public void ComparisonLiterals()
    {
        using var scope = Tensor.NewDisposeScope();
        var a = Vec(1, 2, 3);
        var b = Vec(3, 2, 1);
        Assert.That(a.Eq(b).ToArray<bool>(), Is.EqualTo(new[] { false, true, false }));
        Assert.That(a.Lt(b).ToArray<bool>(), Is.EqualTo(new[] { true, false, false }));
        Assert.That(a.Ge(b).ToArray<bool>(), Is.EqualTo(new[] { false, true, true }));
        Assert.That(a.Ne(2).ToArray<bool>(), Is.EqualTo(new[] { true, false, true }));
        Assert.That(Vec(double.NaN).Eq(Vec(double.NaN)).ToArray<bool>(), Is.EqualTo(new[] { false }));
        Assert.That(Vec(double.NaN).Ne(Vec(double.NaN)).ToArray<bool>(), Is.EqualTo(new[] { true }));
        Assert.That(a.Gt(b).RequiresGrad, Is.False);
    }

    // ---- integer dtypes -----------------------------------------------------------------------------------------

    [Test]
    public void Int64ArithmeticIsExactBeyondDoublePrecision()
    {
        using var scope = Tensor.NewDisposeScope();
        const long big = 9007199254740993; // 2^53 + 1: not representable as a double
        var a = Tensor.FromArray(new[] { big, -5L, 7L, long.MaxValue - 1 });
        var b = Tensor.FromArray(new[] { 2L, 3L, -4L, 1L });
        Assert.That(a.Add(b).ToArray<long>(), Is.EqualTo(new[] { big + 2, -2L, 3L, long.MaxValue }));
        Assert.That(a.Sub(b).ToArray<long>(), Is.EqualTo(new[] { big - 2, -8L, 11L, long.MaxValue - 2 }));
        Assert.That(a.Narrow(0, 0, 3).Mul(b.Narrow(0, 0, 3)).ToArray<long>(), Is.EqualTo(new[] { 2 * big, -15L, -28L }));
        Assert.That(a.Neg().ToArray<long>(), Is.EqualTo(new[] { -big, 5L, -7L, -(long.MaxValue - 1) }));
        Assert.That(a.Abs().ToArray<long>(), Is.EqualTo(new[] { big, 5L, 7L, long.MaxValue - 1 }));
        Assert.That(a.Add(b).DType, Is.EqualTo(DType.Int64));
        // broadcasting with a column
        var col = Tensor.FromArray(new[] { big, 1L }, 2, 1);
        Assert.That(col.Add(b).ToArray<long>(), Is.EqualTo(new[] { big + 2, big + 3, big - 4, big + 1, 3L, 4L, -3L, 2L }));
    }

    [Test]
    public void Int32ArithmeticIsExact()
    {
        using var scope = Tensor.NewDisposeScope();
        var a = Tensor.FromArray(new[] { 2147483600, -2147483647, 46340, 16777217 });
        var b = Tensor.FromArray(new[] { 40, -1, 46340, 2 });
        Assert.That(a.Add(b).ToArray<int>(), Is.EqualTo(new[] { 2147483640, int.MinValue, 92680, 16777219 }));
        Assert.That(a.Mul(b).Narrow(0, 2, 2).ToArray<int>(), Is.EqualTo(new[] { 2147395600, 33554434 }));
        Assert.That(a.Neg().ToArray<int>(), Is.EqualTo(new[] { -2147483600, 2147483647, -46340, -16777217 }));
        Assert.That(a.Abs().ToArray<int>(), Is.EqualTo(new[] { 2147483600, 2147483647, 46340, 16777217 }));
        Assert.That(a.Add(b).DType, Is.EqualTo(DType.Int32));
    }

    [Test]
    public void IntegerClampReluSignAreExact()
    {
        using var scope = Tensor.NewDisposeScope();
        const long big = 9007199254740993;
        var a = Tensor.FromArray(new[] { -5L, 3L, big, -big, long.MaxValue, long.MinValue });
        Assert.That(a.Clamp(min: 0).ToArray<long>(), Is.EqualTo(new[] { 0L, 3L, big, 0L, long.MaxValue, 0L }));
        Assert.That(a.Clamp(max: 4).ToArray<long>(), Is.EqualTo(new[] { -5L, 3L, 4L, -big, 4L, long.MinValue }));
        Assert.That(a.Clamp(-4, 4).ToArray<long>(), Is.EqualTo(new[] { -4L, 3L, 4L, -4L, 4L, -4L }));
        Assert.That(a.Relu().ToArray<long>(), Is.EqualTo(new[] { 0L, 3L, big, 0L, long.MaxValue, 0L }));
        Assert.That(a.Sign().ToArray<long>(), Is.EqualTo(new[] { -1L, 1L, 1L, -1L, 1L, -1L }));
        var b = Tensor.FromArray(new[] { -7, 0, 12, int.MaxValue, int.MinValue });
        Assert.That(b.Clamp(min: -3).ToArray<int>(), Is.EqualTo(new[] { -3, 0, 12, int.MaxValue, -3 }));
        Assert.That(b.Clamp(max: 10).ToArray<int>(), Is.EqualTo(new[] { -7, 0, 10, 10, int.MinValue }));
        Assert.That(b.Relu().ToArray<int>(), Is.EqualTo(new[] { 0, 0, 12, int.MaxValue, 0 }));
        Assert.That(b.Square().Narrow(0, 0, 3).ToArray<int>(), Is.EqualTo(new[] { 49, 0, 144 }));
    }

    [Test]
    public void IntegerArithmeticMatchesOracleOnRandomStridedBroadcastInputs()
    {
        var g = TestUtil.Gen();
        foreach (var dt in new[] { DType.Int64, DType.Int32 })
        {
            for (int trial = 0; trial < 8; trial++)
            {
                using var scope = Tensor.NewDisposeScope();
                var (sa, sb) = OpsUtil.RandBroadcastPair(g);
                var ia = Tensor.RandInt(-40000, 40000, sa, dt, g);
                var ib = Tensor.RandInt(-40000, 40000, sb, dt, g);
                var la = ia.ToDoubleArray().Select(v => (long)v).ToArray();
                var lb = ib.ToDoubleArray().Select(v => (long)v).ToArray();
                var a = OpsUtil.Make(la.Select(v => (double)v).ToArray(), sa, OpsUtil.RandLayout(g), dt);
                var b = OpsUtil.Make(lb.Select(v => (double)v).ToArray(), sb, OpsUtil.RandLayout(g), dt);
                var shape = OpsUtil.BroadcastShape(sa, sb);
                var ea = OpsUtil.Expand(la.Select(v => (double)v).ToArray(), sa, shape).Select(v => (long)v).ToArray();
                var eb = OpsUtil.Expand(lb.Select(v => (double)v).ToArray(), sb, shape).Select(v => (long)v).ToArray();
                long[] Get(Tensor t) => dt == DType.Int64 ? t.ToArray<long>() : t.ToArray<int>().Select(v => (long)v).ToArray();
                Assert.That(Get(a.Add(b)), Is.EqualTo(ea.Zip(eb, (x, y) => x + y).ToArray()), "add");
                Assert.That(Get(a.Sub(b)), Is.EqualTo(ea.Zip(eb, (x, y) => x - y).ToArray()), "sub");
                Assert.That(Get(a.Mul(b)), Is.EqualTo(ea.Zip(eb, (x, y) => x * y).ToArray()), "mul");
                Assert.That(Get(a.Maximum(b)), Is.EqualTo(ea.Zip(eb, Math.Max).ToArray()), "maximum");
                Assert.That(Get(a.Neg()), Is.EqualTo(la.Select(x => -x).ToArray()), "neg");
                Assert.That(Get(a.Abs()), Is.EqualTo(la.Select(Math.Abs).ToArray()), "abs");
                Assert.That(Get(a.Mul(3.0)), Is.EqualTo(la.Select(x => 3 * x).ToArray()), "mul scalar");
                Assert.That(Get(a.Add(7.0)), Is.EqualTo(la.Select(x => x + 7).ToArray()), "add scalar");
            }
        }
    }
}
