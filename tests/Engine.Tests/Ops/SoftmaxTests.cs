namespace Engine.Tests.Ops;

public class SoftmaxTests
{
    private static Tensor Vec(params double[] v) => Tensor.FromArray(v);

    /// <summary>Reference (log-)softmax along <paramref name="dim"/> of row-major values, max subtracted.</summary>
    private static double[] Oracle(double[] v, long[] shape, int dim, bool log)
    {
        var strides = Kernels.ShapeUtil.ContiguousStrides(shape);
        long n = shape[dim], st = strides[dim];
        var r = new double[v.Length];
        for (long e = 0; e < v.Length; e++)
        {
            if (OpsUtil.Unravel(e, shape)[dim] != 0) continue;
            double m = double.NegativeInfinity;
            for (long j = 0; j < n; j++) m = Math.Max(m, v[e + j * st]);
            double s = 0;
            for (long j = 0; j < n; j++) s += Math.Exp(v[e + j * st] - m);
            for (long j = 0; j < n; j++)
            {
                double x = v[e + j * st] - m;
                r[e + j * st] = log ? x - Math.Log(s) : Math.Exp(x) / s;
            }
        }
        return r;
    }

    // ---- literal values ----------------------------------------------------------------------------------

    [Test]
    public void SoftmaxMatchesHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        TestUtil.AssertClose(Vec(1, 2, 3).Softmax(0), [0.09003057317038046, 0.24472847105479767, 0.6652409557748219], 1e-16, 1e-15);
        TestUtil.AssertClose(Vec(1, 2, 3).To(DType.Float32).Softmax(-1), [0.09003057, 0.24472847, 0.66524096], 1e-7, 1e-6);
        TestUtil.AssertClose(Vec(1, 2, 3).LogSoftmax(0), [-2.40760596444438, -1.4076059644443801, -0.40760596444438013], 1e-15, 1e-15);
        var m = Tensor.FromArray(new double[] { 1, 2, 3, 4 }, 2, 2);
        TestUtil.AssertClose(m.Softmax(0), [0.11920292202211755, 0.11920292202211755, 0.8807970779778823, 0.8807970779778823], 1e-16, 1e-15);
        TestUtil.AssertClose(m.Softmax(1), [0.2689414213699951, 0.7310585786300049, 0.2689414213699951, 0.7310585786300049], 1e-16, 1e-15);
        var s = Tensor.Scalar(3.5, DType.Float64);
        Assert.That(s.Softmax(0).Item(), Is.EqualTo(1));
        Assert.That(s.LogSoftmax(-1).Item(), Is.EqualTo(0));
        Assert.That(s.Softmax(0).Shape, Is.Empty);
    }

    [Test]
    public void SoftmaxIsStableForHugeAndEqualLogits([Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        TestUtil.AssertClose(Vec(1e4, -1e4, 0).To(dt).Softmax(0), [1, 0, 0], 1e-30, 0);
        TestUtil.AssertClose(Vec(1e4, 1e4).To(dt).Softmax(0), [0.5, 0.5], 1e-7, 0);
        TestUtil.AssertClose(Vec(-1e4, -1e4, -1e4, -1e4).To(dt).Softmax(0), [0.25, 0.25, 0.25, 0.25], 1e-7, 0);
        TestUtil.AssertClose(Tensor.Full([3, 5], 7.25, dt).Softmax(1), Enumerable.Repeat(0.2, 15).ToArray(), 1e-7, 0);
        TestUtil.AssertClose(Tensor.Full([3, 5], 7.25, dt).Softmax(0), Enumerable.Repeat(1.0 / 3, 15).ToArray(), 1e-7, 0);
        TestUtil.AssertClose(Vec(1e4, 0).To(dt).LogSoftmax(0), [0, -1e4], 1e-7, 1e-7);
        TestUtil.AssertClose(Vec(-1e4, 1e4).To(dt).LogSoftmax(0), [-2e4, 0], 1e-7, 1e-7);
        TestUtil.AssertClose(Vec(1e4, 1e4).To(dt).LogSoftmax(0), [-Math.Log(2), -Math.Log(2)], 1e-6, 1e-6);
        TestUtil.AssertClose(Vec(double.NegativeInfinity, 0, 0).To(dt).Softmax(0), [0, 0.5, 0.5], 1e-7, 0);
        TestUtil.AssertClose(Vec(double.NegativeInfinity, 0, 0).To(dt).LogSoftmax(0), [double.NegativeInfinity, -Math.Log(2), -Math.Log(2)], 1e-6, 1e-6);
    }

    // ---- oracle and properties on random inputs --------------------------------------------------------------

    [Test]
    public void SoftmaxAndLogSoftmaxMatchOracleAlongEveryDim()
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 12; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 1, 4, 5);
            var layout = OpsUtil.RandLayout(g);
            var dt = trial % 2 == 0 ? DType.Float64 : DType.Float32;
            var (x, v) = OpsUtil.Input(g, shape, layout, z => 3 * z, dt);
            for (int dim = 0; dim < shape.Length; dim++)
            {
                foreach (int spelled in new[] { dim, dim - shape.Length })
                {
                    string what = $"{Kernels.ShapeUtil.Format(shape)} dim {spelled} {layout} {dt}";
                    double tol = dt == DType.Float64 ? 1e-14 : 1e-6;
                    var sm = x.Softmax(spelled);
                    Assert.That(sm.DType, Is.EqualTo(dt));
                    OpsUtil.AssertTensor(sm, shape, Oracle(v, shape, dim, false), tol, tol, "softmax " + what);
                    OpsUtil.AssertTensor(x.LogSoftmax(spelled), shape, Oracle(v, shape, dim, true), tol, tol, "log_softmax " + what);
                }
            }
        }
    }

    [Test]
    public void SoftmaxSumsToOneAlongEveryDim()
    {
        var g = TestUtil.Gen();
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
        {
            foreach (var layout in OpsUtil.AllLayouts)
            {
                using var scope = Tensor.NewDisposeScope();
                long[] shape = [3, 4, 5, 2];
                var (x, _) = OpsUtil.Input(g, shape, layout, z => 10 * z, dt);
                for (int dim = 0; dim < 4; dim++)
                {
                    var sums = x.Softmax(dim).Sum(dim).ToDoubleArray();
                    OpsUtil.AssertAllClose(sums, Enumerable.Repeat(1.0, sums.Length).ToArray(), dt == DType.Float32 ? 1e-6 : 1e-14, 0, $"dim {dim} {layout} {dt}");
                    var y = x.Softmax(dim).ToDoubleArray();
                    Assert.That(y, Is.All.InRange(0.0, 1.0));
                }
            }
        }
    }

    [Test]
    public void LogSoftmaxEqualsLogOfSoftmax()
    {
        var g = TestUtil.Gen();
        foreach (var layout in OpsUtil.AllLayouts)
        {
            using var scope = Tensor.NewDisposeScope();
            var (x, _) = OpsUtil.Input(g, [4, 6, 3], layout, z => 4 * z);
            for (int dim = 0; dim < 3; dim++)
                OpsUtil.AssertAllClose(x.LogSoftmax(dim).ToDoubleArray(), x.Softmax(dim).Log().ToDoubleArray(), 1e-13, 1e-13, $"dim {dim} {layout}");
            var (xf, _) = OpsUtil.Input(g, [4, 6, 3], layout, z => 4 * z, DType.Float32);
            for (int dim = 0; dim < 3; dim++)
                OpsUtil.AssertAllClose(xf.LogSoftmax(dim).ToDoubleArray(), xf.Softmax(dim).Log().ToDoubleArray(), 1e-5, 1e-5, $"float32 dim {dim} {layout}");
        }
    }

    [Test]
    public void SoftmaxIsInvariantToShiftingARow()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.Randn(g, 5, 7);
        var shift = TestUtil.Randn(g, 5, 1).Mul(100);
        OpsUtil.AssertAllClose(x.Add(shift).Softmax(1).ToDoubleArray(), x.Softmax(1).ToDoubleArray(), 1e-13, 1e-12, "softmax");
        OpsUtil.AssertAllClose(x.Add(shift).LogSoftmax(1).ToDoubleArray(), x.LogSoftmax(1).ToDoubleArray(), 1e-12, 1e-12, "log_softmax");
    }

    [Test]
    public void LargeSoftmaxMatchesOracle()
    {
        // enough rows for the parallel path, along the last dim and along dim 0 of a permuted input
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        long[] shape = [300, 130];
        var (x, v) = OpsUtil.Input(g, shape, Layout.Permuted, z => 5 * z);
        OpsUtil.AssertTensor(x.Softmax(1), shape, Oracle(v, shape, 1, false), 1e-14, 1e-13, "softmax dim 1");
        OpsUtil.AssertTensor(x.Softmax(0), shape, Oracle(v, shape, 0, false), 1e-14, 1e-13, "softmax dim 0");
        OpsUtil.AssertTensor(x.LogSoftmax(-1), shape, Oracle(v, shape, 1, true), 1e-13, 1e-13, "log_softmax dim -1");
        var y = x.Detach().RequiresGrad_();
        var w = TestUtil.Randn(g, shape);
        y.Softmax(1).Mul(w).Sum().Backward();
        // d/dx Σ w·softmax(x) = s ⊙ (w − Σ_j s_j w_j), row by row
        var s = Oracle(v, shape, 1, false);
        var wv = w.ToArray<double>();
        var expected = new double[s.Length];
        for (int r = 0; r < 300; r++)
        {
            double dot = 0;
            for (int j = 0; j < 130; j++) dot += s[r * 130 + j] * wv[r * 130 + j];
            for (int j = 0; j < 130; j++) expected[r * 130 + j] = s[r * 130 + j] * (wv[r * 130 + j] - dot);
        }
        OpsUtil.AssertAllClose(y.Grad!.ToDoubleArray(), expected, 1e-14, 1e-12, "softmax gradient");
    }

    // ---- gradient checks ----------------------------------------------------------------------------------------

    [Test]
    public void SoftmaxGradCheckAlongEveryDim([Values] Layout layout)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = OpsUtil.Leaf(g, [2, 3, 4], layout, z => 2 * z);
        foreach (int dim in new[] { 0, 1, 2, -1, -3 })
        {
            TestUtil.GradCheck(t => t[0].Softmax(dim), x);
            TestUtil.GradCheck(t => t[0].LogSoftmax(dim), x);
        }
        var v = OpsUtil.Leaf(g, [5], layout);
        TestUtil.GradCheck(t => t[0].Softmax(0), v);
        TestUtil.GradCheck(t => t[0].LogSoftmax(0), v);
    }

    [Test]
    public void SoftmaxGradCheckInsideCompositions()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var q = TestUtil.Leaf(g, 3, 4);
        var k = TestUtil.StridedLeaf(g, 5, 4);
        var val = TestUtil.Leaf(g, 5, 2);
        // attention: softmax(q kᵀ / 2) v
        TestUtil.GradCheck(t => t[0].MatMul(t[1].T).Div(2.0).Softmax(-1).MatMul(t[2]), q, k, val);
        // cross-entropy style: -mean(log_softmax(x)[i, y_i])
        var labels = Tensor.FromArray(new long[] { 3, 0, 1 }, 3, 1);
        TestUtil.GradCheck(t => t[0].LogSoftmax(1).Gather(1, labels).Mean().Neg(), q);
        // softmax of a transposed view
        TestUtil.GradCheck(t => t[0].T.Softmax(0).Mul(t[0].T), q);
    }

    [Test]
    public void SoftmaxGradientsMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Vec(1, 2, 3).RequiresGrad_();
        x.Softmax(0).Sum().Backward();
        // Σ softmax = 1 whatever x is, so its gradient is zero
        TestUtil.AssertClose(x.Grad!, [0, 0, 0], 1e-16, 0);
        var y = Vec(1, 2, 3).RequiresGrad_();
        y.LogSoftmax(0).Select(0, 2).Backward();
        // d log_softmax_2 / dx = e_2 − softmax(x)
        TestUtil.AssertClose(y.Grad!, [-0.09003057317038046, -0.24472847105479767, 1 - 0.6652409557748219], 1e-15, 1e-14);
    }

    [TestCase(0.5)]
    [TestCase(1.0)]
    [TestCase(4.0)]
    [TestCase(20.0)]
    public void FusedTemperatureSoftmaxMatchesDividingFirstAndPassesGradCheck(double temperature)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        // the fused op (one kernel of scale·x) against the composition x / T then softmax, values and gradients
        var x = TestUtil.Randn(g, 4, 9);
        var w = TestUtil.Randn(g, 4, 9);
        foreach (bool log in new[] { false, true })
        {
            var xf = x.Clone().RequiresGrad_();
            var xr = x.Clone().RequiresGrad_();
            var fused = log ? Functional.LogSoftmax(xf, temperature) : Functional.Softmax(xf, temperature);
            var reference = log ? xr.Div(temperature).LogSoftmax(-1) : xr.Div(temperature).Softmax(-1);
            TestUtil.AssertClose(fused, reference, 1e-14, 1e-12);
            fused.Mul(w).Sum().Backward();
            reference.Mul(w).Sum().Backward();
            TestUtil.AssertClose(xf.Grad!, xr.Grad!, 1e-14, 1e-12);
        }
        TestUtil.GradCheck(t => Functional.Softmax(t[0], temperature), TestUtil.Leaf(g, 3, 6));
        TestUtil.GradCheck(t => Functional.LogSoftmax(t[0], temperature, 0), TestUtil.StridedLeaf(g, 5, 3));
        TestUtil.GradCheck(t => Functional.Softmax(t[0], temperature).Mul(t[0]), TestUtil.StridedLeaf(g, 2, 7));
    }

    [Test]
    public void TemperatureIsCheckedBeforeAnyKernelAndTheDTypeToo()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros([2, 3], DType.Float32);
        foreach (double t in new[] { 0.0, -2.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e-320 })
        {
            var e = Assert.Throws<ArgumentValueException>(() => Functional.Softmax(x, t));
            Assert.That(e!.Message, Does.Contain("softmax").And.Contain(t.ToString()));
            Assert.Throws<ArgumentValueException>(() => Functional.LogSoftmax(x, t));
        }
        var ints = Tensor.Zeros([2, 3], DType.Int64);
        Assert.That(Assert.Throws<DTypeException>(() => Functional.Softmax(ints, 2.0))!.Message, Does.Contain("softmax"));
        Assert.That(Assert.Throws<DTypeException>(() => Functional.LogSoftmax(ints, 2.0))!.Message, Does.Contain("log_softmax"));
    }
}
