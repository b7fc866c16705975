namespace Engine.Tests.Cnn;

/// <summary>
/// Loss functions against PyTorch's definitions: hand-worked literals and an independent double-precision
/// reference (<see cref="LossRef"/>), gradients by closed form and by GradCheck, and bad input.
/// </summary>
public class LossTests
{
    private static readonly double[] W4 = [0.5, 2.0, 1.5, 0.25];

    private static Tensor F64(double[] data, params long[] shape) => Tensor.FromArray(data, shape);

    private static Tensor Labels(params long[] y) => Tensor.FromArray(y);

    // Labels for 7 rows of 4 classes, with two rows carrying the ignore index.
    private static long[] LabelsWithIgnore(long ignoreIndex) => [0, 3, ignoreIndex, 2, 1, ignoreIndex, 3];

    // Random probability rows (some exactly one-hot), built on the host.
    private static double[][] RandomDistributions(Generator g, int rows, int c)
    {
        using var u = Tensor.Rand([rows, c], DType.Float64, g);
        var raw = LossRef.Rows(u.ToArray<double>(), c);
        for (int i = 0; i < rows; i++)
        {
            if (i % 3 == 1) { raw[i] = new double[c]; raw[i][i % c] = 1; continue; } // one-hot row: zero entries
            double s = raw[i].Sum();
            raw[i] = raw[i].Select(v => v / s).ToArray();
        }
        return raw;
    }

    private static Tensor FromRows(double[][] rows) => F64(rows.SelectMany(r => r).ToArray(), rows.Length, rows[0].Length);

    private static void AssertLoss(Tensor actual, double expected, double[] perRow, Reduction r, long[]? noneShape = null)
    {
        if (r == Reduction.None)
        {
            Assert.That(actual.Shape, Is.EqualTo(noneShape ?? [perRow.Length]));
            TestUtil.AssertClose(actual, perRow, 1e-10, 1e-9);
        }
        else
        {
            Assert.That(actual.Shape, Is.Empty);
            LossRef.Close(actual.Item(), expected, what: $"{r} loss");
        }
    }

    // ---- cross-entropy with class indices ------------------------------------------------------------------

    [Test]
    public void CrossEntropyHandWorkedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        // row 0: equal logits, p = 1/3 each → −ln(1/3) = ln 3; row 1: logits ln(1, 2, 5) → p = (1/8, 2/8, 5/8), label 2 → −ln(5/8)
        var logits = F64([0, 0, 0, 0, Math.Log(2), Math.Log(5)], 2, 3);
        var y = Labels(1, 2);
        TestUtil.AssertClose(Functional.CrossEntropy(logits, y, reduction: Reduction.None), [1.0986122886681098, 0.4700036292457356], 1e-13, 1e-13);
        TestUtil.AssertClose(Functional.CrossEntropy(logits, y, reduction: Reduction.Sum), [1.5686159179138454], 1e-13, 1e-13);
        TestUtil.AssertClose(Functional.CrossEntropy(logits, y), [0.7843079589569227], 1e-13, 1e-13);
        // weights (0.2, 1, 3): mean = (1·ln 3 + 3·(−ln 5/8)) / (1 + 3)
        var w = F64([0.2, 1, 3], 3);
        TestUtil.AssertClose(Functional.CrossEntropy(logits, y, w), [0.627155794101329], 1e-13, 1e-13);
        // label smoothing 0.1 without weights: (1 − ε)·nll + ε/C·(−Σ log p); the uniform row keeps ln 3
        TestUtil.AssertClose(Functional.CrossEntropy(logits, y, reduction: Reduction.None, labelSmoothing: 0.1), [1.0986122886681098, 0.5541945840560107], 1e-13, 1e-13);
        // with weights, both terms of the mean are divided by Σ w[y] = 4
        TestUtil.AssertClose(Functional.CrossEntropy(logits, y, w, labelSmoothing: 0.1), [0.6296599244378556], 1e-13, 1e-13);
        // the ignored row drops out of the mean entirely, including its smoothing term
        var yIgn = Labels(-100, 2);
        TestUtil.AssertClose(Functional.CrossEntropy(logits, yIgn, labelSmoothing: 0.1), [0.5541945840560107], 1e-13, 1e-13);
        TestUtil.AssertClose(Functional.CrossEntropy(logits, yIgn, reduction: Reduction.None, labelSmoothing: 0.1), [0, 0.5541945840560107], 1e-13, 1e-13);
    }

    [Test]
    public void CrossEntropyMatchesPyTorchDefinition(
        [Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction,
        [Values] bool weighted,
        [Values(0.0, 0.3)] double smoothing,
        [Values(-100L, 2L)] long ignoreIndex)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var logits = TestUtil.Randn(g, 7, 4).Mul(2.0);
        var y = LabelsWithIgnore(ignoreIndex);
        var w = weighted ? W4 : null;
        double expected = LossRef.CrossEntropy(LossRef.Rows(logits.ToArray<double>(), 4), y, w, ignoreIndex, smoothing, reduction, out var perRow);
        var loss = Functional.CrossEntropy(logits, Labels(y), w is null ? null : F64(w, 4), ignoreIndex, reduction, smoothing);
        AssertLoss(loss, expected, perRow, reduction);
    }

    [Test]
    public void CrossEntropyWeightedMeanDividesBySummedLabelWeights()
    {
        using var scope = Tensor.NewDisposeScope();
        // every row has the same per-row loss ln 3, so the weighted mean must be exactly ln 3 whatever the weights
        var logits = Tensor.Zeros([4, 3], DType.Float64);
        var w = F64([10, 1, 0.5], 3);
        var loss = Functional.CrossEntropy(logits, Labels(0, 0, 1, 2), w);
        LossRef.Close(loss.Item(), Math.Log(3));
        // and the sum is Σ w[y]·ln 3 = 21.5·ln 3
        LossRef.Close(Functional.CrossEntropy(logits, Labels(0, 0, 1, 2), w, reduction: Reduction.Sum).Item(), 21.5 * Math.Log(3));
    }

    [Test]
    public void CrossEntropyIgnoredRowsGetNoGradient()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = TestUtil.Leaf(TestUtil.Gen(), 4, 3);
        Functional.CrossEntropy(logits, Labels(0, -100, 2, -100), labelSmoothing: 0.2).Backward();
        var gr = LossRef.Rows(logits.Grad!.ToArray<double>(), 3);
        Assert.That(gr[1], Is.All.EqualTo(0.0));
        Assert.That(gr[3], Is.All.EqualTo(0.0));
        Assert.That(gr[0].Any(v => v != 0), "a counted row has a gradient");
        // a counted row's gradient is (softmax − target′)/count with target′ = (1 − ε)·onehot + ε/C
        var p = LossRef.SoftmaxRow(logits.ToArray<double>().Take(3).ToArray());
        for (int k = 0; k < 3; k++)
            LossRef.Close(gr[0][k], (p[k] - (0.8 * (k == 0 ? 1 : 0) + 0.2 / 3)) / 2, what: $"grad[0, {k}]");
    }

    [Test]
    public void CrossEntropyAllRowsIgnoredMeanIsNaNLikePyTorch()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = TestUtil.Randn(TestUtil.Gen(), 2, 3);
        var loss = Functional.CrossEntropy(logits, Labels(-100, -100));
        Assert.That(double.IsNaN(loss.Item()), "0/0 mean");
        Assert.That(Functional.CrossEntropy(logits, Labels(-100, -100), reduction: Reduction.Sum).Item(), Is.EqualTo(0.0));
    }

    [Test]
    public void CrossEntropySpatialInputs([Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction, [Values(0.0, 0.15)] double smoothing)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int n = 2, c = 3, h = 3, wd = 2;
        var logits = TestUtil.Randn(g, n, c, h, wd);
        long[] y = [0, 2, 1, -100, 2, 2, 1, 0, -100, 1, 0, 2];
        double[] w = [0.7, 1.3, 2.0];
        var rows = LossRef.SpatialRows(logits.ToArray<double>(), n, c, h, wd);
        double expected = LossRef.CrossEntropy(rows, y, w, -100, smoothing, reduction, out var perRow);
        var loss = Functional.CrossEntropy(logits, Labels(y).Reshape(n, h, wd), F64(w, 3), reduction: reduction, labelSmoothing: smoothing);
        AssertLoss(loss, expected, perRow, reduction, [n, h, wd]);
        // also on a non-contiguous input
        var strided = TestUtil.StridedLeaf(g, n, c, h, wd);
        rows = LossRef.SpatialRows(strided.Contiguous().ToArray<double>(), n, c, h, wd);
        expected = LossRef.CrossEntropy(rows, y, w, -100, smoothing, reduction, out perRow);
        AssertLoss(Functional.CrossEntropy(strided, Labels(y).Reshape(n, h, wd), F64(w, 3), reduction: reduction, labelSmoothing: smoothing), expected, perRow, reduction, [n, h, wd]);
    }

    // ---- cross-entropy with probability targets ------------------------------------------------------------

    [Test]
    public void CrossEntropySoftTargetsHandWorked()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = F64([0, 0, 0, 0, Math.Log(2), Math.Log(5)], 2, 3);
        var t = F64([0.5, 0.5, 0, 0, 0.25, 0.75], 2, 3);
        // ε = 0.2: t′ = 0.8·t + 0.2/3; row 0 stays ln 3 (uniform p); mean over the 2 rows
        TestUtil.AssertClose(Functional.CrossEntropy(logits, t, reduction: Reduction.None, labelSmoothing: 0.2), [1.0986122886681098, 0.8216436852411171], 1e-13, 1e-13);
        TestUtil.AssertClose(Functional.CrossEntropy(logits, t, labelSmoothing: 0.2), [0.9601279869546134], 1e-13, 1e-13);
    }

    [Test]
    public void CrossEntropySoftTargetsMatchPyTorchDefinition(
        [Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction,
        [Values] bool weighted,
        [Values(0.0, 0.25)] double smoothing)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var logits = TestUtil.Randn(g, 6, 4).Mul(2.0);
        var t = RandomDistributions(g, 6, 4);
        var w = weighted ? W4 : null;
        double expected = LossRef.CrossEntropySoft(LossRef.Rows(logits.ToArray<double>(), 4), t, w, smoothing, reduction, out var perRow);
        var loss = Functional.CrossEntropy(logits, FromRows(t), w is null ? null : F64(w, 4), reduction: reduction, labelSmoothing: smoothing);
        AssertLoss(loss, expected, perRow, reduction);
    }

    [Test]
    public void CrossEntropyOneHotSoftTargetsEqualIndexTargets([Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction, [Values(0.0, 0.1)] double smoothing)
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = TestUtil.Randn(TestUtil.Gen(), 5, 4);
        var y = Labels(3, 0, 1, 1, 2);
        var soft = y.OneHot(4).To(DType.Float64);
        TestUtil.AssertClose(Functional.CrossEntropy(logits, soft, reduction: reduction, labelSmoothing: smoothing),
            Functional.CrossEntropy(logits, y, reduction: reduction, labelSmoothing: smoothing), 1e-12, 1e-12);
    }

    [Test]
    public void CrossEntropySpatialSoftTargets([Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int n = 2, c = 3, h = 2, wd = 3;
        var logits = TestUtil.Randn(g, n, c, h, wd);
        var t = TestUtil.Randn(g, n, c, h, wd).Softmax(1);
        var rows = LossRef.SpatialRows(logits.ToArray<double>(), n, c, h, wd);
        var trows = LossRef.SpatialRows(t.ToArray<double>(), n, c, h, wd);
        double expected = LossRef.CrossEntropySoft(rows, trows, null, 0.1, reduction, out var perRow);
        AssertLoss(Functional.CrossEntropy(logits, t, reduction: reduction, labelSmoothing: 0.1), expected, perRow, reduction, [n, h, wd]);
    }

    // ---- NLL ----------------------------------------------------------------------------------------------

    [Test]
    public void NllLossMatchesPyTorchDefinition(
        [Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction,
        [Values] bool weighted,
        [Values(-100L, 2L)] long ignoreIndex)
    {
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.Randn(TestUtil.Gen(), 7, 4); // nll_loss takes any values, not only log-probabilities
        var y = LabelsWithIgnore(ignoreIndex);
        var w = weighted ? W4 : null;
        double expected = LossRef.Nll(LossRef.Rows(x.ToArray<double>(), 4), y, w, ignoreIndex, reduction, out var perRow);
        AssertLoss(Functional.NllLoss(x, Labels(y), w is null ? null : F64(w, 4), ignoreIndex, reduction), expected, perRow, reduction);
    }

    [Test]
    public void NllLossHandWorkedAndSpatial()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = F64([-1, -2, -3, -4, -5, -6], 2, 3);
        // −x[0,2] = 3 and −x[1,0] = 4; weights (1, 2, 0.5): sum = 0.5·3 + 1·4 = 5.5, mean = 5.5 / 1.5
        var w = F64([1, 2, 0.5], 3);
        TestUtil.AssertClose(Functional.NllLoss(x, Labels(2, 0)), [3.5], 1e-14, 0);
        TestUtil.AssertClose(Functional.NllLoss(x, Labels(2, 0), w, reduction: Reduction.Sum), [5.5], 1e-14, 0);
        TestUtil.AssertClose(Functional.NllLoss(x, Labels(2, 0), w), [5.5 / 1.5], 1e-14, 0);
        // [N=1, C=2, H=1, W=3] with labels [1, 0, ignored]
        var sp = F64([-1, -2, -3, -10, -20, -30], 1, 2, 1, 3);
        var loss = Functional.NllLoss(sp, Tensor.FromArray(new long[] { 1, 0, -100 }, 1, 1, 3), reduction: Reduction.None);
        Assert.That(loss.Shape, Is.EqualTo(new long[] { 1, 1, 3 }));
        TestUtil.AssertClose(loss, [10, 2, 0], 1e-14, 0);
    }

    // ---- KL divergence ------------------------------------------------------------------------------------

    [Test]
    public void KlDivEveryReduction([Values] Reduction reduction, [Values] bool logTarget)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int n = 3, c = 4;
        var input = TestUtil.Randn(g, n, c).LogSoftmax(1).Detach().RequiresGrad_();
        var tRows = RandomDistributions(g, n, c); // row 1 is one-hot: zero entries
        double[] tFlat = tRows.SelectMany(r => r).ToArray();
        if (logTarget) tFlat = TestUtil.Randn(g, n, c).LogSoftmax(1).ToArray<double>();
        var target = F64(tFlat, n, c);
        var x = input.ToArray<double>();
        var point = x.Select((xi, i) => LossRef.KlPoint(xi, tFlat[i], logTarget)).ToArray();
        double denom = reduction switch { Reduction.Mean => n * c, Reduction.BatchMean => n, _ => 1 };
        var loss = Functional.KlDiv(input, target, reduction, logTarget);
        AssertLoss(loss, point.Sum() / denom, point, reduction, [n, c]);
        if (reduction == Reduction.BatchMean)
            LossRef.Close(loss.Item(), Functional.KlDiv(input, target, Reduction.Sum, logTarget).Item() / n, what: "batchmean = sum / N");
        // ∂/∂x of t·(log t − x) is −t (−e^t for log targets)
        (reduction == Reduction.None ? loss.Sum() : loss).Backward();
        TestUtil.AssertClose(input.Grad!, tFlat.Select(t => -(logTarget ? Math.Exp(t) : t) / denom).ToArray(), 1e-12, 1e-10);
    }

    [Test]
    public void KlDivHandWorked()
    {
        using var scope = Tensor.NewDisposeScope();
        // KL((1/2, 1/2) ‖ (1/4, 3/4)) = ½ ln 2 + ½ ln(2/3)
        var input = F64([Math.Log(0.25), Math.Log(0.75)], 1, 2);
        var target = F64([0.5, 0.5], 1, 2);
        double kl = 0.5 * Math.Log(2) + 0.5 * Math.Log(2.0 / 3);
        TestUtil.AssertClose(Functional.KlDiv(input, target, Reduction.BatchMean), [kl], 1e-15, 1e-14);
        TestUtil.AssertClose(Functional.KlDiv(input, target, Reduction.Mean), [kl / 2], 1e-15, 1e-14);
        TestUtil.AssertClose(Functional.KlDiv(input, F64([Math.Log(0.5), Math.Log(0.5)], 1, 2), Reduction.Sum, logTarget: true), [kl], 1e-15, 1e-14);
        // identical distributions: zero
        TestUtil.AssertClose(Functional.KlDiv(input, input.Exp(), Reduction.Sum), [0.0], 1e-15, 0);
    }

    [Test]
    public void KlDivZeroTargetEntriesContributeNothingWithFiniteGradients()
    {
        using var scope = Tensor.NewDisposeScope();
        var input = F64([Math.Log(0.2), Math.Log(0.3), Math.Log(0.5), Math.Log(0.6), Math.Log(0.3), Math.Log(0.1)], 2, 3).RequiresGrad_();
        var target = F64([0, 0.4, 0.6, 1, 0, 0], 2, 3).RequiresGrad_();
        var x = input.ToArray<double>();
        double[] t = [0, 0.4, 0.6, 1, 0, 0];
        double expected = 0;
        for (int i = 0; i < 6; i++) if (t[i] > 0) expected += t[i] * (Math.Log(t[i]) - x[i]);
        var loss = Functional.KlDiv(input, target, Reduction.BatchMean);
        Assert.That(double.IsFinite(loss.Item()), "0·log 0 = 0");
        LossRef.Close(loss.Item(), expected / 2);
        var none = Functional.KlDiv(input, target, Reduction.None).ToArray<double>();
        Assert.That(new[] { none[0], none[4], none[5] }, Is.All.EqualTo(0.0));
        loss.Backward();
        var gi = input.Grad!.ToArray<double>();
        var gt = target.Grad!.ToArray<double>();
        Assert.That(gi.All(double.IsFinite) && gt.All(double.IsFinite), $"finite gradients: {string.Join(", ", gi.Concat(gt))}");
        for (int i = 0; i < 6; i++)
        {
            LossRef.Close(gi[i], -t[i] / 2, what: $"input grad {i}");
            if (t[i] > 0) LossRef.Close(gt[i], (Math.Log(t[i]) + 1 - x[i]) / 2, what: $"target grad {i}");
        }
    }

    // ---- distillation -------------------------------------------------------------------------------------

    [TestCase(1.0, 0.5)]
    [TestCase(4.0, 0.7)]
    [TestCase(2.0, 0.0)]
    [TestCase(3.0, 1.0)]
    [TestCase(0.5, 0.3)]
    public void DistillationLossMatchesIndependentComputation(double temperature, double alpha)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int n = 5, c = 4;
        var student = TestUtil.Leaf(g, n, c);
        var teacher = TestUtil.Randn(g, n, c).Mul(3.0).Detach().RequiresGrad_();
        long[] y = [0, 3, 1, 1, 2];
        var s = LossRef.Rows(student.ToArray<double>(), c);
        var tt = LossRef.Rows(teacher.ToArray<double>(), c);
        double kl = 0, ce = 0;
        var grad = new double[n * c];
        for (int i = 0; i < n; i++)
        {
            var pt = LossRef.SoftmaxRow(tt[i], temperature);
            var lpt = LossRef.LogSoftmaxRow(tt[i], temperature);
            var lps = LossRef.LogSoftmaxRow(s[i], temperature);
            var ps = LossRef.SoftmaxRow(s[i], temperature);
            var p1 = LossRef.SoftmaxRow(s[i]);
            for (int k = 0; k < c; k++)
            {
                kl += pt[k] * (lpt[k] - lps[k]);
                // ∂/∂s of α·T²·KL/N + (1 − α)·CE: α·T·(ps − pt)/N + (1 − α)·(p − onehot)/N
                grad[i * c + k] = (alpha * temperature * (ps[k] - pt[k]) + (1 - alpha) * (p1[k] - (y[i] == k ? 1 : 0))) / n;
            }
            ce -= LossRef.LogSoftmaxRow(s[i])[y[i]];
        }
        double expected = alpha * temperature * temperature * kl / n + (1 - alpha) * ce / n;
        var loss = Functional.DistillationLoss(student, teacher, Labels(y), temperature, alpha);
        Assert.That(loss.Shape, Is.Empty);
        LossRef.Close(loss.Item(), expected);
        loss.Backward();
        TestUtil.AssertClose(student.Grad!, grad, 1e-12, 1e-9);
        Assert.That(teacher.Grad, Is.Null, "the teacher gets no gradient");
    }

    [Test]
    public void DistillationLossIsZeroKlForIdenticalLogits()
    {
        using var scope = Tensor.NewDisposeScope();
        var s = TestUtil.Randn(TestUtil.Gen(), 3, 5);
        var loss = Functional.DistillationLoss(s, s, Labels(0, 1, 2), 2.0, 1.0);
        Assert.That(Math.Abs(loss.Item()), Is.LessThan(1e-14));
    }

    // ---- BCE with logits ----------------------------------------------------------------------------------

    private static readonly double[] BceX = [100, -100, 100, -100, 0, 0, 2.5, -0.7];
    private static readonly double[] BceY = [1, 1, 0, 0, 1, 0, 0.3, 0.8];
    private static readonly double[] BcePos = [1.5, 3, 0.5, 2];
    private static readonly double[] BceW = [0.5, 1, 2, 1.5, 0.25, 1, 3, 0.75];

    [Test]
    public void BceWithLogitsMatchesDefinition(
        [Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction,
        [Values] bool usePosWeight,
        [Values] bool useWeight)
    {
        using var scope = Tensor.NewDisposeScope();
        var x = F64(BceX, 2, 4).RequiresGrad_();
        var loss = Functional.BinaryCrossEntropyWithLogits(x, F64(BceY, 2, 4), useWeight ? F64(BceW, 2, 4) : null, usePosWeight ? F64(BcePos, 4) : null, reduction);
        var per = new double[8];
        var grad = new double[8];
        double denom = reduction == Reduction.Mean ? 8 : 1;
        for (int i = 0; i < 8; i++)
        {
            double w = useWeight ? BceW[i] : 1, p = usePosWeight ? BcePos[i % 4] : 1;
            per[i] = LossRef.Bce(BceX[i], BceY[i], w, p);
            grad[i] = LossRef.BceGrad(BceX[i], BceY[i], w, p) / denom;
        }
        AssertLoss(loss, per.Sum() / denom, per, reduction, [2, 4]);
        Assert.That(loss.ToArray<double>().All(double.IsFinite), "finite at |logit| = 100");
        (reduction == Reduction.None ? loss.Sum() : loss).Backward();
        TestUtil.AssertClose(x.Grad!, grad, 1e-12, 1e-9);
    }

    [Test]
    public void BceWithLogitsLargeLogitsAndZeroLogitsHandWorked()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = F64([100, -100, 100, -100, 0, 0], 6).RequiresGrad_();
        var y = F64([1, 1, 0, 0, 1, 0], 6);
        // confident and right: ~e^−100 ≈ 0; confident and wrong: 100; at 0: ln 2
        var loss = Functional.BinaryCrossEntropyWithLogits(x, y, reduction: Reduction.None);
        TestUtil.AssertClose(loss, [0, 100, 100, 0, Math.Log(2), Math.Log(2)], 1e-12, 1e-12);
        loss.Sum().Backward();
        // ∂/∂x = σ(x) − y: (≈0, −1, 1, ≈0, −½, ½)
        TestUtil.AssertClose(x.Grad!, [0, -1, 1, 0, -0.5, 0.5], 1e-12, 1e-12);
        x.Grad = null;
        // pos_weight 3 scales the positive term: 300 for the confident miss; the gradient at 0 is 3·(½ − 1) = −1.5 for y = 1
        var pw = F64([3.0], 1);
        loss = Functional.BinaryCrossEntropyWithLogits(x, y, posWeight: pw, reduction: Reduction.None);
        TestUtil.AssertClose(loss, [0, 300, 100, 0, 3 * Math.Log(2), Math.Log(2)], 1e-12, 1e-12);
        loss.Sum().Backward();
        TestUtil.AssertClose(x.Grad!, [0, -3, 1, 0, -1.5, 0.5], 1e-12, 1e-12);
    }

    [Test]
    public void BceWithLogitsFloat32LargeLogitsStayFinite()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1e4f, -1e4f, 1e4f, -1e4f, 88.8f, -88.8f }, 6).RequiresGrad_();
        var y = Tensor.FromArray(new[] { 1f, 1f, 0f, 0f, 0f, 1f }, 6);
        var loss = Functional.BinaryCrossEntropyWithLogits(x, y, reduction: Reduction.None);
        TestUtil.AssertClose(loss, [0, 1e4, 1e4, 0, 88.8, 88.8], 1e-3, 1e-6);
        loss.Sum().Backward();
        TestUtil.AssertClose(x.Grad!, [0, -1, 1, 0, 1, -1], 1e-6, 0);
    }

    // ---- MSE ----------------------------------------------------------------------------------------------

    [Test]
    public void MseLossMatchesDefinition([Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction, [Values] bool broadcastTarget)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = TestUtil.Leaf(g, 3, 4);
        var t = broadcastTarget ? TestUtil.Leaf(g, 4) : TestUtil.Leaf(g, 3, 4);
        var xa = x.ToArray<double>();
        var ta = t.ToArray<double>();
        var diff = xa.Select((v, i) => v - ta[broadcastTarget ? i % 4 : i]).ToArray();
        double denom = reduction == Reduction.Mean ? 12 : 1;
        var loss = Functional.MseLoss(x, t, reduction);
        AssertLoss(loss, diff.Sum(d => d * d) / denom, diff.Select(d => d * d).ToArray(), reduction, [3, 4]);
        (reduction == Reduction.None ? loss.Sum() : loss).Backward();
        TestUtil.AssertClose(x.Grad!, diff.Select(d => 2 * d / denom).ToArray(), 1e-12, 1e-12);
        var tg = new double[ta.Length];
        for (int i = 0; i < diff.Length; i++) tg[broadcastTarget ? i % 4 : i] -= 2 * diff[i] / denom;
        TestUtil.AssertClose(t.Grad!, tg, 1e-12, 1e-12);
    }

    [Test]
    public void MseLossHandWorked()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = F64([1, 2, 3, 4], 4);
        var t = F64([1, 0, 5, 1], 4);
        // squared errors 0, 4, 4, 9
        TestUtil.AssertClose(Functional.MseLoss(x, t), [17.0 / 4], 1e-15, 0);
        TestUtil.AssertClose(Functional.MseLoss(x, t, Reduction.Sum), [17.0], 1e-15, 0);
        TestUtil.AssertClose(Functional.MseLoss(x, t, Reduction.None), [0, 4, 4, 9], 1e-15, 0);
    }

    // ---- gradient checks (float64) ------------------------------------------------------------------------

    [Test]
    public void GradCheckCrossEntropy(
        [Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction,
        [Values] bool weighted,
        [Values(0.0, 0.2)] double smoothing)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var logits = TestUtil.Leaf(g, 5, 4);
        var y = Labels(0, -100, 3, 2, 3);
        // with weights, also with respect to the weights (the weighted mean's normaliser depends on them)
        Tensor[] inputs = weighted ? [logits, F64(W4, 4).RequiresGrad_()] : [logits];
        TestUtil.GradCheck(t => Functional.CrossEntropy(t[0], y, t.Length > 1 ? t[1] : null, reduction: reduction, labelSmoothing: smoothing), inputs);
        // custom ignore index that is a real class
        var y2 = Labels(0, 1, 3, 2, 1);
        TestUtil.GradCheck(t => Functional.CrossEntropy(t[0], y2, t.Length > 1 ? t[1] : null, ignoreIndex: 1, reduction: reduction, labelSmoothing: smoothing), inputs);
    }

    [Test]
    public void GradCheckCrossEntropySpatial([Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var logits = TestUtil.StridedLeaf(g, 2, 3, 2, 2);
        var y = Tensor.FromArray(new long[] { 0, 2, -100, 1, 1, 0, 2, -100 }, 2, 2, 2);
        var w = F64([0.3, 1.7, 1.1], 3);
        TestUtil.GradCheck(t => Functional.CrossEntropy(t[0], y, w, reduction: reduction, labelSmoothing: 0.1), logits);
    }

    [Test]
    public void GradCheckCrossEntropySoftTargets(
        [Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction,
        [Values] bool weighted,
        [Values(0.0, 0.2)] double smoothing)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var logits = TestUtil.Leaf(g, 4, 3);
        var z = TestUtil.Leaf(g, 4, 3); // targets softmax(z): a valid distribution at every perturbation
        var w = weighted ? F64([0.5, 2, 1.25], 3).RequiresGrad_() : null;
        Tensor[] inputs = weighted ? [logits, z, w!] : [logits, z];
        TestUtil.GradCheck(t => Functional.CrossEntropy(t[0], t[1].Softmax(1), t.Length > 2 ? t[2] : null, reduction: reduction, labelSmoothing: smoothing), inputs);
        // the target gradient itself: ∂/∂t of −Σ w_c·t′_c·logp_c is −(1 − ε)·w_c·logp_c (per row, before reduction)
        var t0 = TestUtil.Randn(g, 4, 3).Softmax(1).Detach().RequiresGrad_();
        var loss = Functional.CrossEntropy(logits, t0, w, reduction: Reduction.Sum, labelSmoothing: smoothing);
        loss.Backward();
        var lp = LossRef.Rows(logits.ToArray<double>(), 3).SelectMany(r => LossRef.LogSoftmaxRow(r)).ToArray();
        double[] wa = weighted ? [0.5, 2, 1.25] : [1, 1, 1];
        TestUtil.AssertClose(t0.Grad!, lp.Select((v, i) => -(1 - smoothing) * wa[i % 3] * v).ToArray(), 1e-12, 1e-10);
    }

    [Test]
    public void GradCheckNllLoss([Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction, [Values] bool weighted)
    {
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.Leaf(TestUtil.Gen(), 7, 4);
        Tensor[] inputs = weighted ? [x, F64(W4, 4).RequiresGrad_()] : [x];
        var y = Labels(LabelsWithIgnore(-100));
        TestUtil.GradCheck(t => Functional.NllLoss(t[0], y, t.Length > 1 ? t[1] : null, reduction: reduction), inputs);
        var y2 = Labels(LabelsWithIgnore(2));
        TestUtil.GradCheck(t => Functional.NllLoss(t[0].LogSoftmax(1), y2, t.Length > 1 ? t[1] : null, ignoreIndex: 2, reduction: reduction), inputs);
    }

    [Test]
    public void GradCheckKlDiv([Values] Reduction reduction, [Values] bool logTarget)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var input = TestUtil.Leaf(g, 3, 4);
        // probabilities kept well away from 0 so ±eps stays non-negative; log targets are unconstrained
        var target = logTarget ? TestUtil.Leaf(g, 3, 4) : Tensor.Uniform([3, 4], 0.05, 1.0, DType.Float64, g).RequiresGrad_();
        TestUtil.GradCheck(t => Functional.KlDiv(t[0], t[1], reduction, logTarget), input, target);
        // with exact zeros in the target: checked with respect to the input
        var zt = F64([0, 0.5, 0.5, 0, 1, 0, 0, 0, 0.25, 0.25, 0.25, 0.25], 3, 4);
        TestUtil.GradCheck(t => Functional.KlDiv(t[0].LogSoftmax(1), zt, reduction), input);
    }

    [TestCase(1.0, 0.5)]
    [TestCase(2.5, 0.8)]
    [TestCase(0.7, 0.0)]
    public void GradCheckDistillationLoss(double temperature, double alpha)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var student = TestUtil.Leaf(g, 4, 3);
        var teacher = TestUtil.Randn(g, 4, 3);
        var y = Labels(2, 0, 1, 2);
        TestUtil.GradCheck(t => Functional.DistillationLoss(t[0], teacher, y, temperature, alpha), student);
    }

    [Test]
    public void GradCheckBceWithLogits([Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = TestUtil.Leaf(g, 3, 4).Mul(3.0).Detach().RequiresGrad_();
        var y = Tensor.Uniform([3, 4], 0, 1, DType.Float64, g).RequiresGrad_();
        var w = Tensor.Uniform([3, 4], 0.5, 2, DType.Float64, g).RequiresGrad_();
        var pw = Tensor.Uniform([4], 0.5, 3, DType.Float64, g).RequiresGrad_();
        TestUtil.GradCheck(t => Functional.BinaryCrossEntropyWithLogits(t[0], t[1], t[2], t[3], reduction), x, y, w, pw);
        TestUtil.GradCheck(t => Functional.BinaryCrossEntropyWithLogits(t[0], t[1], reduction: reduction), x, y);
    }

    [Test]
    public void GradCheckMseLoss([Values(Reduction.None, Reduction.Mean, Reduction.Sum)] Reduction reduction)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        TestUtil.GradCheck(t => Functional.MseLoss(t[0], t[1], reduction), TestUtil.Leaf(g, 3, 4), TestUtil.Leaf(g, 4));
    }

    // ---- bad input ----------------------------------------------------------------------------------------

    internal static void Throws<TEx>(string op, TestDelegate code) where TEx : EngineException
    {
        var ex = Assert.Throws<TEx>(code);
        Assert.That(ex!.Message, Does.StartWith(op + ":"));
        Assert.That(ex.Op, Is.EqualTo(op));
    }

    [Test]
    public void LabelsOutOfRangeAreIndexErrors()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = Tensor.Zeros([2, 3], DType.Float64);
        Throws<IndexException>("cross_entropy", () => Functional.CrossEntropy(logits, Labels(0, 3)));
        Throws<IndexException>("cross_entropy", () => Functional.CrossEntropy(logits, Labels(-1, 0)));
        Throws<IndexException>("cross_entropy", () => Functional.CrossEntropy(logits, Labels(-100, 0), ignoreIndex: 1));
        Throws<IndexException>("cross_entropy", () => Functional.CrossEntropy(Tensor.Zeros([1, 3, 2, 2], DType.Float64), Tensor.FromArray(new long[] { 0, 1, 2, 5 }, 1, 2, 2)));
        Throws<IndexException>("nll_loss", () => Functional.NllLoss(logits, Labels(2, 7)));
        Throws<IndexException>("distillation_loss", () => Functional.DistillationLoss(logits, logits, Labels(0, 3), 2, 0.5));
        Throws<IndexException>("distillation_loss", () => Functional.DistillationLoss(logits, logits, Labels(0, 3), 2, 1.0));
        var ex = Assert.Throws<IndexException>(() => Functional.CrossEntropy(logits, Labels(0, 3)));
        Assert.That(ex!.Message, Does.Contain("3").And.Contain("3 classes"));
    }

    [Test]
    public void BadTemperatureIsAnArgumentError([Values(0.0, -1.0, double.NaN, double.PositiveInfinity)] double temperature)
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros([2, 3], DType.Float64);
        Throws<ArgumentValueException>("softmax", () => Functional.Softmax(x, temperature));
        Throws<ArgumentValueException>("log_softmax", () => Functional.LogSoftmax(x, temperature));
        Throws<ArgumentValueException>("distillation_loss", () => Functional.DistillationLoss(x, x, Labels(0, 1), temperature, 0.5));
    }

    [Test]
    public void SoftTargetsMustBeADistribution()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = Tensor.Zeros([2, 3], DType.Float64);
        // rows sum to 1 but one entry is negative
        var ex = Assert.Throws<ArgumentValueException>(() => Functional.CrossEntropy(logits, F64([1.2, -0.2, 0, 0, 0, 1], 2, 3)));
        Assert.That(ex!.Message, Does.StartWith("cross_entropy:").And.Contain("non-negative"));
        // non-negative but a row sums to 0.9
        ex = Assert.Throws<ArgumentValueException>(() => Functional.CrossEntropy(logits, F64([0.3, 0.3, 0.3, 0, 0, 1], 2, 3)));
        Assert.That(ex!.Message, Does.StartWith("cross_entropy:").And.Contain("sum to 1"));
        Throws<ArgumentValueException>("cross_entropy", () => Functional.CrossEntropy(logits, F64([0.5, 0.5, 0.5, 0, 0, 1], 2, 3)));
        // float32 targets: a looser tolerance, but 0.99 is still not a distribution
        var l32 = Tensor.Zeros([1, 2]);
        Throws<ArgumentValueException>("cross_entropy", () => Functional.CrossEntropy(l32, Tensor.FromArray(new[] { 0.5f, 0.49f }, 1, 2)));
        // and a spatial target summed over the class dim
        Throws<ArgumentValueException>("cross_entropy", () => Functional.CrossEntropy(Tensor.Zeros([1, 2, 1, 2], DType.Float64), F64([1, 0.5, 0, 0.4], 1, 2, 1, 2)));
        // KL targets must be non-negative
        Throws<ArgumentValueException>("kl_div", () => Functional.KlDiv(logits, F64([0.5, 0.6, -0.1, 0, 0, 1], 2, 3)));
    }

    [Test]
    public void WrongLabelDTypeOrShape()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = Tensor.Zeros([2, 3], DType.Float64);
        var int32 = Tensor.FromArray(new[] { 0, 1 });
        Throws<DTypeException>("cross_entropy", () => Functional.CrossEntropy(logits, int32));
        Throws<DTypeException>("nll_loss", () => Functional.NllLoss(logits, int32));
        Throws<DTypeException>("nll_loss", () => Functional.NllLoss(logits, F64([0, 1], 2)));
        Throws<DTypeException>("distillation_loss", () => Functional.DistillationLoss(logits, logits, int32, 2, 0.5));
        // float labels mean probability targets: their dtype and shape must match the logits
        Throws<DTypeException>("cross_entropy", () => Functional.CrossEntropy(logits, Tensor.FromArray(new[] { 1f, 0, 0, 0, 1, 0 }, 2, 3)));
        Throws<ShapeException>("cross_entropy", () => Functional.CrossEntropy(logits, F64([0, 1], 2)));
        Throws<ShapeException>("cross_entropy", () => Functional.CrossEntropy(logits, Labels(0, 1, 2)));
        Throws<ShapeException>("nll_loss", () => Functional.NllLoss(Tensor.Zeros([2, 3, 2], DType.Float64), Labels(0, 1)));
        Throws<ShapeException>("cross_entropy", () => Functional.CrossEntropy(Tensor.Zeros([3], DType.Float64), Labels(0)));
        Throws<DTypeException>("cross_entropy", () => Functional.CrossEntropy(Tensor.FromArray(new long[] { 1, 2, 3 }, 1, 3), Labels(0)));
        Throws<ShapeException>("binary_cross_entropy_with_logits", () => Functional.BinaryCrossEntropyWithLogits(logits, Tensor.Zeros([3], DType.Float64)));
        Throws<DTypeException>("mse_loss", () => Functional.MseLoss(logits, Tensor.Zeros(2, 3)));
        Throws<ShapeException>("distillation_loss", () => Functional.DistillationLoss(logits, Tensor.Zeros([2, 4], DType.Float64), Labels(0, 1), 2, 0.5));
    }

    [Test]
    public void WeightOfWrongShapeOrDType()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = Tensor.Zeros([2, 3], DType.Float64);
        var y = Labels(0, 1);
        var soft = F64([1, 0, 0, 0, 1, 0], 2, 3);
        Throws<ShapeException>("cross_entropy", () => Functional.CrossEntropy(logits, y, F64([1, 1, 1, 1], 4)));
        Throws<ShapeException>("cross_entropy", () => Functional.CrossEntropy(logits, y, F64([1, 1, 1], 1, 3)));
        Throws<ShapeException>("cross_entropy", () => Functional.CrossEntropy(logits, soft, F64([1, 1], 2)));
        Throws<ShapeException>("nll_loss", () => Functional.NllLoss(logits, y, F64([1, 1], 2)));
        Throws<DTypeException>("cross_entropy", () => Functional.CrossEntropy(logits, y, Tensor.Ones(3)));
        Throws<DTypeException>("binary_cross_entropy_with_logits", () => Functional.BinaryCrossEntropyWithLogits(logits, logits, posWeight: Tensor.Ones(3)));
        Throws<ShapeException>("binary_cross_entropy_with_logits", () => Functional.BinaryCrossEntropyWithLogits(logits, logits, posWeight: F64([1, 2], 2)));
        Throws<ShapeException>("binary_cross_entropy_with_logits", () => Functional.BinaryCrossEntropyWithLogits(logits, logits, Tensor.Ones([4, 2, 3], DType.Float64)));
        // weights that broadcast to the logits are fine: per-class pos_weight [C], per-sample weight [N, 1]
        Assert.That(Functional.BinaryCrossEntropyWithLogits(logits, logits, F64([1, 2], 2, 1), F64([1, 2, 3], 3), Reduction.None).Shape, Is.EqualTo(new long[] { 2, 3 }));
    }

    [Test]
    public void AlphaAndLabelSmoothingOutsideTheUnitInterval([Values(-0.1, 1.5, double.NaN)] double v)
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = Tensor.Zeros([2, 3], DType.Float64);
        Throws<ArgumentValueException>("distillation_loss", () => Functional.DistillationLoss(logits, logits, Labels(0, 1), 2, v));
        Throws<ArgumentValueException>("cross_entropy", () => Functional.CrossEntropy(logits, Labels(0, 1), labelSmoothing: v));
        Throws<ArgumentValueException>("cross_entropy", () => Functional.CrossEntropy(logits, F64([1, 0, 0, 0, 1, 0], 2, 3), labelSmoothing: v));
    }

    [Test]
    public void BatchMeanIsOnlyForKlDiv()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = Tensor.Zeros([2, 3], DType.Float64);
        var y = Labels(0, 1);
        Throws<ArgumentValueException>("cross_entropy", () => Functional.CrossEntropy(logits, y, reduction: Reduction.BatchMean));
        Throws<ArgumentValueException>("cross_entropy", () => Functional.CrossEntropy(logits, F64([1, 0, 0, 0, 1, 0], 2, 3), reduction: Reduction.BatchMean));
        Throws<ArgumentValueException>("nll_loss", () => Functional.NllLoss(logits, y, reduction: Reduction.BatchMean));
        Throws<ArgumentValueException>("binary_cross_entropy_with_logits", () => Functional.BinaryCrossEntropyWithLogits(logits, logits, reduction: Reduction.BatchMean));
        Throws<ArgumentValueException>("mse_loss", () => Functional.MseLoss(logits, logits, Reduction.BatchMean));
        Assert.That(Functional.KlDiv(logits, logits.Exp(), Reduction.BatchMean).Item(), Is.EqualTo(0.0));
    }
}

/// <summary>
/// Plain double-precision reference implementations of the losses, written from PyTorch's definitions
/// (aten/src/ATen/native/LossNLL.cpp, torch.nn.functional) and independent of the engine's tensor code.
/// </summary>
internal static class LossRef
{
    public static double[] SoftmaxRow(double[] z, double temperature = 1)
    {
        double m = z.Max();
        var e = z.Select(v => Math.Exp((v - m) / temperature)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    public static double[] LogSoftmaxRow(double[] z, double temperature = 1)
    {
        double m = z.Max();
        double lse = Math.Log(z.Sum(v => Math.Exp((v - m) / temperature)));
        return z.Select(v => (v - m) / temperature - lse).ToArray();
    }

    /// <summary>Splits a row-major [rows, c] array into rows.</summary>
    public static double[][] Rows(double[] flat, int c) =>
        Enumerable.Range(0, flat.Length / c).Select(i => flat.Skip(i * c).Take(c).ToArray()).ToArray();

    /// <summary>[N, C, H, W] row-major → the class vectors of every (n, h, w), in (n, h, w) order.</summary>
    public static double[][] SpatialRows(double[] flat, int n, int c, int h, int w)
    {
        var rows = new double[n * h * w][];
        for (int b = 0; b < n; b++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    var r = new double[c];
                    for (int k = 0; k < c; k++) r[k] = flat[((b * c + k) * h + y) * w + x];
                    rows[(b * h + y) * w + x] = r;
                }
        return rows;
    }

    /// <summary>
    /// PyTorch's nll_loss on log-probability rows: per row −w[y]·logp[y] (0 for ignored rows); mean divides
    /// the sum by the summed weights w[y] of the counted rows. Returns the reduced value, or NaN for None
    /// (the per-row values come back in <paramref name="perRow"/>).
    /// </summary>
    public static double Nll(double[][] logp, long[] y, double[]? w, long ignore, Reduction r, out double[] perRow)
    {
        perRow = new double[logp.Length];
        double sum = 0, wsum = 0;
        for (int i = 0; i < logp.Length; i++)
        {
            if (y[i] == ignore) continue;
            double wy = w is null ? 1 : w[y[i]];
            perRow[i] = -wy * logp[i][y[i]];
            sum += perRow[i];
            wsum += wy;
        }
        return r switch { Reduction.Sum => sum, Reduction.Mean => sum / wsum, _ => double.NaN };
    }

    /// <summary>
    /// PyTorch's cross_entropy with class-index targets: (1 − ε)·nll + ε/C·smooth, smooth = −Σ_c w_c·logp_c per
    /// counted row; for Mean, nll is divided by Σ w[y] and smooth by Σ w[y] (weights) or the counted rows (none).
    /// </summary>
    public static double CrossEntropy(double[][] logits, long[] y, double[]? w, long ignore, double eps, Reduction r, out double[] perRow)
    {
        int c = logits[0].Length;
        var logp = logits.Select(row => LogSoftmaxRow(row)).ToArray();
        Nll(logp, y, w, ignore, Reduction.Sum, out var nll);
        var smooth = new double[logits.Length];
        double wsum = 0;
        int counted = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (y[i] == ignore) continue;
            counted++;
            wsum += w is null ? 1 : w[y[i]];
            for (int k = 0; k < c; k++) smooth[i] -= (w is null ? 1 : w[k]) * logp[i][k];
        }
        perRow = new double[logits.Length];
        for (int i = 0; i < perRow.Length; i++) perRow[i] = (1 - eps) * nll[i] + eps / c * smooth[i];
        double nllSum = nll.Sum(), smoothSum = smooth.Sum();
        return r switch
        {
            Reduction.Sum => (1 - eps) * nllSum + eps / c * smoothSum,
            Reduction.Mean => (1 - eps) * nllSum / wsum + eps / c * smoothSum / (w is null ? counted : wsum),
            _ => double.NaN,
        };
    }

    /// <summary>
    /// PyTorch's cross_entropy with probability targets: t' = (1 − ε)·t + ε/C, per row −Σ_c w_c·t'_c·logp_c;
    /// Mean divides the sum by the number of rows (weights do not enter the normaliser).
    /// </summary>
    public static double CrossEntropySoft(double[][] logits, double[][] t, double[]? w, double eps, Reduction r, out double[] perRow)
    {
        int c = logits[0].Length;
        perRow = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++)
        {
            var logp = LogSoftmaxRow(logits[i]);
            for (int k = 0; k < c; k++) perRow[i] -= (w is null ? 1 : w[k]) * ((1 - eps) * t[i][k] + eps / c) * logp[k];
        }
        return r switch { Reduction.Sum => perRow.Sum(), Reduction.Mean => perRow.Average(), _ => double.NaN };
    }

    /// <summary>KL pointwise term: t·(log t − x) with 0·log 0 = 0, or e^t·(t − x) for log targets.</summary>
    public static double KlPoint(double x, double t, bool logTarget) =>
        logTarget ? Math.Exp(t) * (t - x) : t == 0 ? 0 : t * (Math.Log(t) - x);

    /// <summary>softplus(z) = log(1 + e^z), computed stably.</summary>
    public static double Softplus(double z) => z > 0 ? z + double.LogP1(Math.Exp(-z)) : double.LogP1(Math.Exp(z));

    public static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    /// <summary>BCE with logits: −w·[p·y·log σ(x) + (1 − y)·log(1 − σ(x))] = w·[p·y·softplus(−x) + (1 − y)·softplus(x)].</summary>
    public static double Bce(double x, double y, double w, double posWeight) =>
        w * (posWeight * y * Softplus(-x) + (1 - y) * Softplus(x));

    /// <summary>d/dx of <see cref="Bce"/>: w·[(1 − y)·σ(x) − p·y·σ(−x)].</summary>
    public static double BceGrad(double x, double y, double w, double posWeight) =>
        w * ((1 - y) * Sigmoid(x) - posWeight * y * Sigmoid(-x));

    public static void Close(double actual, double expected, double atol = 1e-10, double rtol = 1e-9, string what = "value")
    {
        bool ok = Math.Abs(actual - expected) <= atol + rtol * Math.Abs(expected);
        Assert.That(ok, $"{what}: got {actual:R}, expected {expected:R}");
    }
}
