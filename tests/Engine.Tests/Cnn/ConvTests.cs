using Engine.Kernels;
using NUnit.Framework.Internal;

namespace Engine.Tests.Cnn;

/// <summary>
/// Convolution and linear: the im2col + GEMM kernels against a direct seven-loop oracle over many random
/// geometries (forward and backward, float32 and float64, contiguous and permuted inputs), hand-worked
/// cases, finite-difference gradient checks and bad-input errors.
/// </summary>
public class ConvTests
{
    // ---------------------------------------------------------------- oracle

    /// <summary>One convolution; spatial values are stored as 3 dims (depth 1, kernel 1, no padding for 2-D).</summary>
    private sealed class ConvCase
    {
        public int Spatial, N, C, O, Groups;
        public int[] In = [1, 1, 1], K = [1, 1, 1], Stride = [1, 1, 1], PadB = [0, 0, 0], PadE = [0, 0, 0], Dil = [1, 1, 1];
        public bool Bias;

        public int Out(int d) => (In[d] + PadB[d] + PadE[d] - Dil[d] * (K[d] - 1) - 1) / Stride[d] + 1;

        private long[] Sp(Func<int, long> f) => [.. Enumerable.Range(3 - Spatial, Spatial).Select(f)];

        public long[] XShape => [N, C, .. Sp(d => In[d])];
        public long[] WShape => [O, C / Groups, .. Sp(d => K[d])];
        public long[] YShape => [N, O, .. Sp(d => Out(d))];

        public bool Uniform =>
            Enumerable.Range(3 - Spatial, Spatial).All(d => Stride[d] == Stride[2] && PadB[d] == PadB[2] && PadE[d] == PadB[2] && Dil[d] == Dil[2]);

        public bool Symmetric => PadB.SequenceEqual(PadE);

        public override string ToString() =>
            $"conv{Spatial}d x{ShapeUtil.Format(XShape)} w{ShapeUtil.Format(WShape)} groups={Groups} bias={Bias} " +
            $"stride=({string.Join(",", Stride)}) padBegin=({string.Join(",", PadB)}) padEnd=({string.Join(",", PadE)}) dilation=({string.Join(",", Dil)})";
    }

    /// <summary>
    /// Direct convolution: y[n,o,p] = b[o] + Σ_{c in group(o), k} x[n,c,p·s − padBegin + k·dil]·w[o,c,k], positions
    /// outside the input read zero. With an upstream gradient gy it also returns dx, dw and db by the same loops.
    /// </summary>
    private static (double[] Y, double[] Dx, double[] Dw, double[] Db) ConvRef(ConvCase c, double[] x, double[] w, double[]? b, double[] gy)
    {
        int o0 = c.Out(0), o1 = c.Out(1), o2 = c.Out(2);
        int cg = c.C / c.Groups, og = c.O / c.Groups;
        int inD = c.In[0], inH = c.In[1], inW = c.In[2];
        int kD = c.K[0], kH = c.K[1], kW = c.K[2];
        var y = new double[c.N * c.O * o0 * o1 * o2];
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[c.O];
        int yi = 0;
        for (int n = 0; n < c.N; n++)
            for (int oc = 0; oc < c.O; oc++)
                for (int od = 0; od < o0; od++)
                    for (int oh = 0; oh < o1; oh++)
                        for (int ow = 0; ow < o2; ow++, yi++)
                        {
                            double s = b is null ? 0 : b[oc];
                            double g = gy[yi];
                            int grp = oc / og;
                            for (int ci = 0; ci < cg; ci++)
                            {
                                int ic = grp * cg + ci;
                                for (int kd = 0; kd < kD; kd++)
                                {
                                    int id = od * c.Stride[0] - c.PadB[0] + kd * c.Dil[0];
                                    if (id < 0 || id >= inD) continue;
                                    for (int kh = 0; kh < kH; kh++)
                                    {
                                        int ih = oh * c.Stride[1] - c.PadB[1] + kh * c.Dil[1];
                                        if (ih < 0 || ih >= inH) continue;
                                        for (int kw = 0; kw < kW; kw++)
                                        {
                                            int iw = ow * c.Stride[2] - c.PadB[2] + kw * c.Dil[2];
                                            if (iw < 0 || iw >= inW) continue;
                                            int xi = (((n * c.C + ic) * inD + id) * inH + ih) * inW + iw;
                                            int wi = (((oc * cg + ci) * kD + kd) * kH + kh) * kW + kw;
                                            s += x[xi] * w[wi];
                                            dx[xi] += g * w[wi];
                                            dw[wi] += g * x[xi];
                                        }
                                    }
                                }
                            }
                            y[yi] = s;
                            db[oc] += g;
                        }
        return (y, dx, dw, db);
    }

    private static ConvCase RandomCase(Randomizer r, int spatial)
    {
        while (true)
        {
            var c = new ConvCase { Spatial = spatial, N = r.Next(1, 4), Bias = r.NextBool() };
            int cg, og;
            switch (r.Next(3))
            {
                case 0: c.Groups = 1; cg = r.Next(1, 5); og = r.Next(1, 5); break;
                case 1: c.Groups = r.Next(2, 4); cg = r.Next(1, 3); og = r.Next(1, 3); break;
                default: c.Groups = r.Next(1, 7); cg = 1; og = r.Next(1, 3); break; // depthwise: groups == channels
            }
            c.C = cg * c.Groups; c.O = og * c.Groups;
            for (int d = 3 - spatial; d < 3; d++)
            {
                c.In[d] = spatial == 2 ? r.Next(1, d == 1 ? 10 : 12) : r.Next(1, 7);
                c.K[d] = r.Next(1, spatial == 2 ? 5 : 4);
                c.Stride[d] = r.Next(1, spatial == 2 ? 4 : 3);
                c.Dil[d] = r.Next(1, 3);
                c.PadB[d] = r.Next(0, spatial == 2 ? 3 : 2);
                c.PadE[d] = r.NextBool() ? c.PadB[d] : r.Next(0, spatial == 2 ? 3 : 2);
            }
            if (r.Next(4) == 0) { c.PadE = (int[])c.PadB.Clone(); } // make symmetric padding common
            bool fits = true;
            for (int d = 0; d < 3; d++)
                if (c.In[d] + c.PadB[d] + c.PadE[d] < c.Dil[d] * (c.K[d] - 1) + 1) fits = false;
            if (fits) return c;
        }
    }

    // Calls the engine through one of the overloads that can express the case.
    private static Tensor CallConv(ConvCase c, Tensor x, Tensor w, Tensor? b, Randomizer r)
    {
        int[] Sp(int[] v) => v[(3 - c.Spatial)..];
        int[] padding;
        if (c.Uniform && r.NextBool())
            return c.Spatial == 2
                ? Functional.Conv2d(x, w, b, c.Stride[2], c.PadB[2], c.Dil[2], c.Groups)
                : Functional.Conv3d(x, w, b, c.Stride[2], c.PadB[2], c.Dil[2], c.Groups);
        if (c.Symmetric && r.NextBool()) padding = Sp(c.PadB);
        else padding = [.. Enumerable.Range(3 - c.Spatial, c.Spatial).SelectMany(d => new[] { c.PadB[d], c.PadE[d] })];
        return c.Spatial == 2
            ? Functional.Conv2d(x, w, b, Sp(c.Stride), padding, Sp(c.Dil), c.Groups)
            : Functional.Conv3d(x, w, b, Sp(c.Stride), padding, Sp(c.Dil), c.Groups);
    }

    private static void CheckAgainstOracle(ConvCase c, DType dt, Randomizer r)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        bool stridedX = r.NextBool(), stridedW = r.Next(3) == 0;
        var x = CnnUtil.Input(g, c.XShape, dt, stridedX, r).RequiresGrad_();
        var w = CnnUtil.Input(g, c.WShape, dt, stridedW, r).RequiresGrad_();
        var b = c.Bias ? CnnUtil.Input(g, [c.O], dt, false, r).RequiresGrad_() : null;
        var y = CallConv(c, x, w, b, r);
        var gy = Tensor.Randn(y.Shape, dt, g);
        y.Backward(gy);
        var (ey, edx, edw, edb) = ConvRef(c, x.ToDoubleArray(), w.ToDoubleArray(), b?.ToDoubleArray(), gy.ToDoubleArray());
        string what = $"{c} {dt.Name()} stridedX={stridedX} stridedW={stridedW}";
        Assert.That(y.Shape, Is.EqualTo(c.YShape), what);
        Assert.That(y.DType, Is.EqualTo(dt), what);
        double atol = dt == DType.Float32 ? 1e-4 : 1e-10, rtol = dt == DType.Float32 ? 1e-4 : 1e-10;
        CnnUtil.Close(y, ey, atol, rtol, "y of " + what);
        CnnUtil.Close(x.Grad!, edx, 2 * atol, rtol, "dx of " + what);
        CnnUtil.Close(w.Grad!, edw, 4 * atol, rtol, "dw of " + what);
        if (b is not null) CnnUtil.Close(b.Grad!, edb, 4 * atol, rtol, "db of " + what);
    }

    // ---------------------------------------------------------------- against the oracle

    [Test]
    public void Conv2dMatchesTheDirectLoopOverRandomGeometries()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 60; t++)
            CheckAgainstOracle(RandomCase(r, 2), t % 2 == 0 ? DType.Float32 : DType.Float64, r);
    }

    [Test]
    public void Conv3dMatchesTheDirectLoopOverRandomGeometries()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 40; t++)
            CheckAgainstOracle(RandomCase(r, 3), t % 2 == 0 ? DType.Float32 : DType.Float64, r);
    }

    [Test]
    public void SpecialGeometriesMatchTheOracle()
    {
        var r = TestContext.CurrentContext.Random;
        ConvCase Case2(int n, int c, int o, int groups, int h, int w, int kh, int kw, int[] stride, int[] padB, int[] padE, int[] dil, bool bias) => new()
        {
            Spatial = 2, N = n, C = c, O = o, Groups = groups, Bias = bias,
            In = [1, h, w], K = [1, kh, kw], Stride = [1, .. stride], PadB = [0, .. padB], PadE = [0, .. padE], Dil = [1, .. dil],
        };
        var cases = new[]
        {
            Case2(2, 3, 4, 1, 5, 6, 1, 1, [1, 1], [0, 0], [0, 0], [1, 1], true),    // 1x1 pointwise path (no im2col)
            Case2(1, 3, 4, 1, 5, 6, 1, 1, [1, 1], [0, 0], [0, 0], [1, 1], false),   // pointwise, batch 1 (parallel GEMM)
            Case2(3, 2, 2, 1, 7, 5, 1, 1, [2, 2], [0, 0], [0, 0], [1, 1], true),    // 1x1 but strided: goes through im2col
            Case2(5, 4, 6, 2, 7, 5, 3, 2, [1, 2], [1, 0], [2, 1], [2, 1], true),    // batch 5 split unevenly over workers
            Case2(1, 6, 6, 6, 9, 11, 3, 3, [1, 1], [1, 1], [1, 1], [1, 1], true),   // depthwise, batch 1
            Case2(2, 1, 1, 1, 4, 4, 4, 4, [3, 3], [0, 0], [0, 0], [1, 1], false),   // kernel covers the whole input
            Case2(2, 2, 3, 1, 2, 3, 3, 3, [1, 1], [2, 2], [2, 2], [2, 2], true),    // more padding than input
            Case2(1, 2, 2, 1, 1, 1, 2, 2, [1, 1], [1, 0], [0, 1], [1, 1], true),    // 1x1 image, asymmetric padding
            Case2(2, 3, 2, 1, 7, 5, 2, 4, [3, 1], [0, 2], [1, 0], [1, 2], false),   // kernel larger than stride, odd sizes
            // Small planes: several samples unfolded side by side into one GEMM, groups of uneven size per worker.
            Case2(11, 4, 6, 2, 5, 4, 3, 3, [1, 1], [1, 1], [1, 1], [1, 1], true),
            Case2(9, 6, 4, 1, 3, 3, 1, 1, [1, 1], [0, 0], [0, 0], [1, 1], true),    // pointwise, grouped samples
            Case2(13, 3, 5, 1, 2, 2, 2, 2, [1, 1], [1, 0], [0, 1], [1, 1], false),  // 2×2 output planes
        };
        foreach (var c in cases)
        {
            CheckAgainstOracle(c, DType.Float32, r);
            CheckAgainstOracle(c, DType.Float64, r);
        }
    }

    /// <summary>
    /// The direct depthwise kernel (groups = channels) on rows wide enough for its vector loops, with ragged tails,
    /// channel multipliers 1–3, strides 1–3, dilation, per-side padding, bias and permuted inputs.
    /// </summary>
    [Test]
    public void DepthwiseMatchesTheDirectLoopOnWideRows()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 40; t++)
        {
            var c = new ConvCase { Spatial = t % 8 == 7 ? 3 : 2, N = r.Next(1, 4), Bias = r.NextBool(), Groups = r.Next(2, 6) };
            c.C = c.Groups; c.O = c.Groups * r.Next(1, 4);
            for (int d = 3 - c.Spatial; d < 3; d++)
            {
                c.In[d] = d == 2 ? r.Next(1, 41) : r.Next(1, 9);
                c.K[d] = r.Next(1, 6);
                c.Stride[d] = r.Next(3) == 0 ? r.Next(2, 4) : 1;
                c.Dil[d] = r.Next(4) == 0 ? 2 : 1;
                c.PadB[d] = r.Next(0, 4);
                c.PadE[d] = r.NextBool() ? c.PadB[d] : r.Next(0, 4);
                // Grow the input until the dilated kernel fits in the padded input.
                c.In[d] = Math.Max(c.In[d], c.Dil[d] * (c.K[d] - 1) + 1 - c.PadB[d] - c.PadE[d]);
            }
            CheckAgainstOracle(c, t % 2 == 0 ? DType.Float32 : DType.Float64, r);
        }
    }

    /// <summary>
    /// The direct kernel (vectorised along output rows, strides through phase-split rows and planes; backward data too
    /// when every stride is 1, the weight gradient from 256 output positions) on rows wide enough for its vectors with ragged ends, output channel counts that leave partial
    /// 6-channel tiles, groups, strides 1–3, dilation, per-side padding, bias and permuted inputs.
    /// </summary>
    [Test]
    public void DirectKernelMatchesTheDirectLoopOnWideRows()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 40; t++)
        {
            int groups = r.Next(4) == 0 ? 2 : 1;
            var c = new ConvCase { Spatial = t % 8 == 7 ? 3 : 2, N = r.Next(1, 4), Bias = r.NextBool(), Groups = groups };
            // Now and then more channels than one register tile holds (several output-channel blocks of the weight gradient).
            c.C = groups * (r.Next(4) == 0 ? r.Next(5, 13) : r.Next(1, 5)); c.O = groups * (r.Next(4) == 0 ? r.Next(14, 41) : r.Next(1, 14));
            for (int d = 3 - c.Spatial; d < 3; d++)
            {
                c.K[d] = r.Next(1, 5);
                c.Stride[d] = r.Next(3) == 0 ? r.Next(2, 4) : 1;
                // 2-D planes tall enough that the weight gradient runs here too (from 256 output positions), with H strides.
                c.In[d] = d == 2 ? r.Next(8, 41) * c.Stride[d] : c.Spatial == 2 ? r.Next(2, 17) * c.Stride[d] : r.Next(1, 9);
                c.Dil[d] = r.Next(4) == 0 ? 2 : 1;
                c.PadB[d] = r.Next(0, 3);
                c.PadE[d] = r.NextBool() ? c.PadB[d] : r.Next(0, 3);
                c.In[d] = Math.Max(c.In[d], c.Dil[d] * (c.K[d] - 1) + 1 - c.PadB[d] - c.PadE[d]);
            }
            if (c.K[2] == 1) c.K[2] = 3; // not pointwise
            c.In[2] = Math.Max(c.In[2], c.Dil[2] * (c.K[2] - 1) + 1);
            CheckAgainstOracle(c, t % 2 == 0 ? DType.Float32 : DType.Float64, r);
        }
    }

    /// <summary>An empty batch gives an empty output, an empty input gradient and a zero weight gradient on every path.</summary>
    [Test]
    public void EmptyBatchGivesEmptyOutputAndZeroWeightGradient(
        [Values(1, 2)] int stride, [Values(1, 3)] int kernel, [Values(8, 32)] int size, [Values(DType.Float32, DType.Float64)] DType dt)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = Tensor.Randn([0, 3, size, size], dt, g).RequiresGrad_();
        var w = Tensor.Randn([5, 3, kernel, kernel], dt, g).RequiresGrad_();
        var b = Tensor.Randn([5], dt, g).RequiresGrad_();
        var y = Functional.Conv2d(x, w, b, stride, kernel / 2);
        int o = (size + 2 * (kernel / 2) - kernel) / stride + 1;
        Assert.That(y.Shape, Is.EqualTo(new long[] { 0, 5, o, o }));
        y.Sum().Backward();
        Assert.That(x.Grad!.Shape, Is.EqualTo(x.Shape));
        Assert.That(w.Grad!.ToDoubleArray(), Is.All.EqualTo(0.0));
        Assert.That(b.Grad!.ToDoubleArray(), Is.All.EqualTo(0.0));
    }

    [Test]
    public void DepthwiseGradCheck()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        // multiplier 2, 11 columns (two 4-wide double vectors and a tail), padding 1, bias
        TestUtil.GradCheck(t => Functional.Conv2d(t[0], t[1], t[2], padding: 1, groups: 2),
            TestUtil.Leaf(g, 2, 2, 3, 11), TestUtil.Leaf(g, 4, 1, 3, 3), TestUtil.Leaf(g, 4));
        // stride 2 (scalar rows), dilation 2, per-side padding, non-contiguous input
        TestUtil.GradCheck(t => Functional.Conv2d(t[0], t[1], null, [2, 2], [1, 0, 2, 1], [2, 2], 3),
            TestUtil.StridedLeaf(g, 1, 3, 5, 9), TestUtil.Leaf(g, 3, 1, 2, 3));
        // depthwise conv3d
        TestUtil.GradCheck(t => Functional.Conv3d(t[0], t[1], t[2], stride: 1, padding: 1, groups: 2),
            TestUtil.Leaf(g, 1, 2, 3, 3, 6), TestUtil.Leaf(g, 2, 1, 2, 2, 3), TestUtil.Leaf(g, 2));
    }

    [Test]
    public void LinearMatchesTheDirectLoop()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 30; t++)
        {
            using var scope = Tensor.NewDisposeScope();
            var g = TestUtil.Gen();
            var dt = t % 2 == 0 ? DType.Float32 : DType.Float64;
            int batchRank = r.Next(1, 4), inF = r.Next(1, 9), outF = r.Next(1, 9);
            long[] lead = [.. Enumerable.Range(0, batchRank - 1).Select(_ => (long)r.Next(1, 4))];
            var x = CnnUtil.Input(g, [.. lead, inF], dt, r.NextBool(), r);
            var w = CnnUtil.Input(g, [outF, inF], dt, r.NextBool(), r);
            var b = r.NextBool() ? CnnUtil.Input(g, [outF], dt, false, r) : null;
            var y = Functional.Linear(x, w, b);
            Assert.That(y.Shape, Is.EqualTo((long[])[.. lead, outF]));
            double[] xs = x.ToDoubleArray(), ws = w.ToDoubleArray(), bs = b?.ToDoubleArray() ?? new double[outF];
            int rows = xs.Length / inF;
            var expect = new double[rows * outF];
            for (int i = 0; i < rows; i++)
                for (int o = 0; o < outF; o++)
                {
                    double s = bs[o];
                    for (int k = 0; k < inF; k++) s += xs[i * inF + k] * ws[o * inF + k];
                    expect[i * outF + o] = s;
                }
            double tol = dt == DType.Float32 ? 1e-4 : 1e-12;
            CnnUtil.Close(y, expect, tol, tol, $"linear x{ShapeUtil.Format(x.ShapeSpan)} w{ShapeUtil.Format(w.ShapeSpan)} bias={b is not null}");
        }
    }

    // ---------------------------------------------------------------- hand-worked cases

    private static Tensor Img(double[] v, params long[] shape) => Tensor.FromArray(v, shape);

    private static double[] Seq(int n) => [.. Enumerable.Range(1, n).Select(i => (double)i)];

    [Test]
    public void AllOnesKernelSumsEachWindow()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Img(Seq(9), 1, 1, 3, 3).To(DType.Float32);
        var w = Tensor.Ones([1, 1, 2, 2], DType.Float32);
        var y = Functional.Conv2d(x, w);
        Assert.That(y.Shape, Is.EqualTo(new long[] { 1, 1, 2, 2 }));
        Assert.That(y.ToDoubleArray(), Is.EqualTo(new double[] { 12, 16, 24, 28 }));

        // Stride 2 with one pixel of zero padding: windows at (-1,-1), (-1,1), (1,-1), (1,1).
        Assert.That(Functional.Conv2d(x, w, stride: 2, padding: 1).ToDoubleArray(), Is.EqualTo(new double[] { 1, 5, 11, 28 }));

        // Left padding only (top, bottom, left, right) = (0, 0, 1, 0): 2x3 output.
        var yl = Functional.Conv2d(x, w, null, [1, 1], [0, 0, 1, 0], [1, 1]);
        Assert.That(yl.Shape, Is.EqualTo(new long[] { 1, 1, 2, 3 }));
        Assert.That(yl.ToDoubleArray(), Is.EqualTo(new double[] { 5, 12, 16, 11, 24, 28 }));

        // Dilation 2: the 2x2 kernel touches the four corners.
        Assert.That(Functional.Conv2d(x, w, dilation: 2).ToDoubleArray(), Is.EqualTo(new double[] { 20 }));

        // Bias is added to every output.
        using var b = Tensor.FromArray(new[] { 0.5f });
        Assert.That(Functional.Conv2d(x, w, b).ToDoubleArray(), Is.EqualTo(new double[] { 12.5, 16.5, 24.5, 28.5 }));
    }

    [Test]
    public void DepthwiseConvolutionScalesEachChannelByItsOwnWeight()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Img(Seq(8), 1, 2, 2, 2);
        var w = Img([10, -1], 2, 1, 1, 1);
        var b = Tensor.FromArray(new[] { 0.5, 1.0 });
        var y = Functional.Conv2d(x, w, b, groups: 2);
        Assert.That(y.ToDoubleArray(), Is.EqualTo(new double[] { 10.5, 20.5, 30.5, 40.5, -4, -5, -6, -7 }));

        // groups = 1 mixes channels: out[o] = Σ_c w[o, c]·x[c].
        var wm = Img([1, 1, 2, -1], 2, 2, 1, 1);
        Assert.That(Functional.Conv2d(x, wm).ToDoubleArray(), Is.EqualTo(new double[] { 6, 8, 10, 12, -3, -2, -1, 0 }));
    }

    [Test]
    public void Conv3dAndLinearByHand()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Img(Seq(8), 1, 1, 2, 2, 2);
        var w = Tensor.Ones([1, 1, 2, 2, 2], DType.Float64);
        Assert.That(Functional.Conv3d(x, w).ToDoubleArray(), Is.EqualTo(new double[] { 36 }));
        // Depth-only kernel (2, 1, 1): sums the two depth slices.
        var wd = Tensor.Ones([1, 1, 2, 1, 1], DType.Float64);
        Assert.That(Functional.Conv3d(x, wd).ToDoubleArray(), Is.EqualTo(new double[] { 6, 8, 10, 12 }));
        // Front padding only (front, back, top, bottom, left, right): the first output sees slice 0 alone.
        var yp = Functional.Conv3d(x, wd, null, [1, 1, 1], [1, 0, 0, 0, 0, 0], [1, 1, 1]);
        Assert.That(yp.Shape, Is.EqualTo(new long[] { 1, 1, 2, 2, 2 }));
        Assert.That(yp.ToDoubleArray(), Is.EqualTo(new double[] { 1, 2, 3, 4, 6, 8, 10, 12 }));

        var lx = Img([1, 2], 1, 2);
        var lw = Img([1, 0, 0, 1, 1, 1], 3, 2);
        var lb = Tensor.FromArray(new[] { 0.0, 0.0, 1.0 });
        Assert.That(Functional.Linear(lx, lw, lb).ToDoubleArray(), Is.EqualTo(new double[] { 1, 2, 4 }));
        Assert.That(Functional.Linear(lx, lw).ToDoubleArray(), Is.EqualTo(new double[] { 1, 2, 3 }));
    }

    [Test]
    public void GradientOfAnAllOnesKernelCountsWindowMembership()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Img(Seq(9), 1, 1, 3, 3).RequiresGrad_();
        var w = Tensor.Ones([1, 1, 2, 2], DType.Float64).RequiresGrad_();
        var b = Tensor.FromArray(new[] { 0.0 }).RequiresGrad_();
        Functional.Conv2d(x, w, b).Sum().Backward();
        // Each input pixel is in as many windows as cover it; dw sums each kernel tap's 2x2 input block.
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 1, 2, 1, 2, 4, 2, 1, 2, 1 }));
        Assert.That(w.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 12, 16, 24, 28 }));
        Assert.That(b.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 4 }));
    }

    // ---------------------------------------------------------------- gradient checks (float64)

    [Test]
    public void Conv2dGradCheck()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        // with bias, plain
        TestUtil.GradCheck(t => Functional.Conv2d(t[0], t[1], t[2]), TestUtil.Leaf(g, 2, 2, 4, 4), TestUtil.Leaf(g, 3, 2, 2, 2), TestUtil.Leaf(g, 3));
        // no bias, stride 2, per-side padding, dilation 2
        TestUtil.GradCheck(t => Functional.Conv2d(t[0], t[1], null, [2, 1], [1, 0, 2, 1], [2, 2]),
            TestUtil.Leaf(g, 1, 2, 5, 4), TestUtil.Leaf(g, 2, 2, 2, 2));
        // groups = 2, batch 2, non-contiguous input
        TestUtil.GradCheck(t => Functional.Conv2d(t[0], t[1], t[2], stride: 1, padding: 1, groups: 2),
            TestUtil.StridedLeaf(g, 2, 4, 3, 3), TestUtil.Leaf(g, 4, 2, 2, 2), TestUtil.Leaf(g, 4));
        // depthwise (groups == channels), batch 1, non-contiguous weight
        TestUtil.GradCheck(t => Functional.Conv2d(t[0], t[1], t[2], padding: 1, groups: 3),
            TestUtil.Leaf(g, 1, 3, 4, 3), TestUtil.StridedLeaf(g, 3, 1, 3, 3), TestUtil.Leaf(g, 3));
        // pointwise 1x1 (no im2col), non-contiguous input
        TestUtil.GradCheck(t => Functional.Conv2d(t[0], t[1], t[2]),
            TestUtil.StridedLeaf(g, 2, 3, 3, 2), TestUtil.Leaf(g, 2, 3, 1, 1), TestUtil.Leaf(g, 2));
    }

    [Test]
    public void Conv3dGradCheck()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        TestUtil.GradCheck(t => Functional.Conv3d(t[0], t[1], t[2], [1, 2, 1], [1, 0, 0, 1, 1, 0], [1, 1, 2]),
            TestUtil.Leaf(g, 1, 2, 3, 3, 4), TestUtil.Leaf(g, 2, 2, 2, 2, 2), TestUtil.Leaf(g, 2));
        TestUtil.GradCheck(t => Functional.Conv3d(t[0], t[1], null, stride: 1, padding: 1, groups: 2),
            TestUtil.StridedLeaf(g, 2, 2, 2, 3, 2), TestUtil.Leaf(g, 2, 1, 2, 1, 2));
    }

    [Test]
    public void LinearGradCheck()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        TestUtil.GradCheck(t => Functional.Linear(t[0], t[1], t[2]), TestUtil.Leaf(g, 3, 4), TestUtil.Leaf(g, 5, 4), TestUtil.Leaf(g, 5));
        TestUtil.GradCheck(t => Functional.Linear(t[0], t[1]), TestUtil.StridedLeaf(g, 2, 3, 4), TestUtil.StridedLeaf(g, 2, 4));
    }

    // ---------------------------------------------------------------- bad input

    [Test]
    public void WrongRankIsAShapeErrorNamingTheShape()
    {
        using var scope = Tensor.NewDisposeScope();
        var x3 = Tensor.Zeros(3, 5, 5);
        var w = Tensor.Zeros(2, 3, 3, 3);
        var ex = Assert.Throws<ShapeException>(() => Functional.Conv2d(x3, w));
        Assert.That(ex!.Message, Does.StartWith("conv2d:").And.Contain("[3, 5, 5]"));
        Assert.That(ex.Op, Is.EqualTo("conv2d"));

        var x4 = Tensor.Zeros(1, 3, 5, 5);
        var ex3 = Assert.Throws<ShapeException>(() => Functional.Conv3d(x4, Tensor.Zeros(2, 3, 1, 3, 3)));
        Assert.That(ex3!.Message, Does.StartWith("conv3d:").And.Contain("[1, 3, 5, 5]"));

        var exw = Assert.Throws<ShapeException>(() => Functional.Conv2d(x4, Tensor.Zeros(2, 3, 3)));
        Assert.That(exw!.Message, Does.StartWith("conv2d:").And.Contain("[2, 3, 3]"));
    }

    [Test]
    public void ChannelMismatchNamesBothShapes()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros(1, 3, 5, 5);
        var w = Tensor.Zeros(2, 4, 3, 3);
        var ex = Assert.Throws<ShapeException>(() => Functional.Conv2d(x, w));
        Assert.That(ex!.Message, Does.StartWith("conv2d:").And.Contain("[1, 3, 5, 5]").And.Contain("[2, 4, 3, 3]"));

        // With groups: 4 channels in 2 groups need weight dim 1 == 2, not 4.
        var x4 = Tensor.Zeros(1, 4, 5, 5);
        var ex2 = Assert.Throws<ShapeException>(() => Functional.Conv2d(x4, Tensor.Zeros(2, 4, 3, 3), groups: 2));
        Assert.That(ex2!.Message, Does.StartWith("conv2d:").And.Contain("[1, 4, 5, 5]").And.Contain("[2, 4, 3, 3]").And.Contain("groups=2"));
    }

    [Test]
    public void GroupsThatDoNotDivideTheChannelsAreRejected()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros(1, 4, 5, 5);
        var ex = Assert.Throws<ShapeException>(() => Functional.Conv2d(x, Tensor.Zeros(3, 2, 3, 3), groups: 2));
        Assert.That(ex!.Message, Does.StartWith("conv2d:").And.Contain("groups=2").And.Contain("[1, 4, 5, 5]").And.Contain("[3, 2, 3, 3]"));

        var x3 = Tensor.Zeros(1, 3, 5, 5);
        var ex2 = Assert.Throws<ShapeException>(() => Functional.Conv2d(x3, Tensor.Zeros(2, 1, 3, 3), groups: 2));
        Assert.That(ex2!.Message, Does.StartWith("conv2d:").And.Contain("groups=2").And.Contain("[1, 3, 5, 5]"));

        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.Conv2d(x3, Tensor.Zeros(3, 3, 3, 3), groups: 0))!.Message,
            Does.StartWith("conv2d:").And.Contain("groups"));
    }

    [Test]
    public void KernelLargerThanThePaddedInputIsRejected()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros(1, 1, 2, 2);
        var ex = Assert.Throws<ShapeException>(() => Functional.Conv2d(x, Tensor.Zeros(1, 1, 3, 3)));
        Assert.That(ex!.Message, Does.StartWith("conv2d:").And.Contain("[3, 3]").And.Contain("[1, 1, 2, 2]"));

        // Dilation makes a 2x2 kernel span 3: still too large for a 2x2 input without padding, fine with padding 1.
        Assert.Throws<ShapeException>(() => Functional.Conv2d(x, Tensor.Zeros(1, 1, 2, 2), dilation: 2));
        using var y = Functional.Conv2d(x, Tensor.Zeros(1, 1, 2, 2), padding: 1, dilation: 2);
        Assert.That(y.Shape, Is.EqualTo(new long[] { 1, 1, 2, 2 }));

        var ex3 = Assert.Throws<ShapeException>(() => Functional.Conv3d(Tensor.Zeros(1, 1, 1, 4, 4), Tensor.Zeros(1, 1, 2, 1, 1)));
        Assert.That(ex3!.Message, Does.StartWith("conv3d:").And.Contain("[1, 1, 1, 4, 4]"));
    }

    [Test]
    public void BiasOfTheWrongShapeIsRejected()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros(1, 3, 5, 5);
        var w = Tensor.Zeros(2, 3, 3, 3);
        var ex = Assert.Throws<ShapeException>(() => Functional.Conv2d(x, w, Tensor.Zeros(3)));
        Assert.That(ex!.Message, Does.StartWith("conv2d:").And.Contain("[2]").And.Contain("[3]"));
        var ex2 = Assert.Throws<ShapeException>(() => Functional.Conv2d(x, w, Tensor.Zeros(1, 2)));
        Assert.That(ex2!.Message, Does.StartWith("conv2d:").And.Contain("[1, 2]"));

        var exl = Assert.Throws<ShapeException>(() => Functional.Linear(Tensor.Zeros(2, 4), Tensor.Zeros(3, 4), Tensor.Zeros(4)));
        Assert.That(exl!.Message, Does.StartWith("linear:").And.Contain("[4]"));
    }

    [Test]
    public void LinearShapeMismatchNamesBothShapes()
    {
        using var scope = Tensor.NewDisposeScope();
        var ex = Assert.Throws<ShapeException>(() => Functional.Linear(Tensor.Zeros(2, 5), Tensor.Zeros(3, 4)));
        Assert.That(ex!.Message, Does.StartWith("linear:").And.Contain("[2, 5]").And.Contain("[3, 4]"));
        var ex2 = Assert.Throws<ShapeException>(() => Functional.Linear(Tensor.Zeros(2, 4), Tensor.Zeros(3, 4, 1)));
        Assert.That(ex2!.Message, Does.StartWith("linear:").And.Contain("[3, 4, 1]"));
    }

    [Test]
    public void BadOptionValuesAreArgumentErrors()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros(1, 1, 5, 5);
        var w = Tensor.Zeros(1, 1, 3, 3);
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.Conv2d(x, w, stride: 0))!.Message,
            Does.StartWith("conv2d:").And.Contain("stride"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.Conv2d(x, w, padding: -1))!.Message,
            Does.StartWith("conv2d:").And.Contain("padding"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.Conv2d(x, w, dilation: 0))!.Message,
            Does.StartWith("conv2d:").And.Contain("dilation"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.Conv2d(x, w, null, [1, 1], [1, 1, 1], [1, 1]))!.Message,
            Does.StartWith("conv2d:").And.Contain("padding").And.Contain("(1, 1, 1)"));
    }

    [Test]
    public void IntegerAndMixedDTypesAreDTypeErrors()
    {
        using var scope = Tensor.NewDisposeScope();
        var xi = Tensor.Zeros([1, 1, 3, 3], DType.Int64);
        var wi = Tensor.Zeros([1, 1, 2, 2], DType.Int64);
        var ex = Assert.Throws<DTypeException>(() => Functional.Conv2d(xi, wi));
        Assert.That(ex!.Message, Does.StartWith("conv2d:").And.Contain("int64"));
        Assert.That(Assert.Throws<DTypeException>(() => Functional.Conv3d(Tensor.Zeros([1, 1, 2, 2, 2], DType.Int64), Tensor.Zeros([1, 1, 1, 1, 1], DType.Int64)))!.Message,
            Does.StartWith("conv3d:").And.Contain("int64"));
        Assert.That(Assert.Throws<DTypeException>(() => Functional.Linear(Tensor.Zeros([2, 2], DType.Int64), Tensor.Zeros([2, 2], DType.Int64)))!.Message,
            Does.StartWith("linear:").And.Contain("int64"));

        var x = Tensor.Zeros([1, 1, 3, 3], DType.Float32);
        var w64 = Tensor.Zeros([1, 1, 2, 2], DType.Float64);
        var exm = Assert.Throws<DTypeException>(() => Functional.Conv2d(x, w64));
        Assert.That(exm!.Message, Does.StartWith("conv2d:").And.Contain("float32").And.Contain("float64"));
    }
}

/// <summary>Helpers shared by the CNN tests: random inputs (optionally non-contiguous) and closeness checks with context.</summary>
internal static class CnnUtil
{
    /// <summary>
    /// A fresh random tensor of <paramref name="shape"/>; when <paramref name="strided"/>, it is a Permute view of
    /// a contiguous tensor whose dims are stored in a random other order (so its strides are not row-major).
    /// </summary>
    public static Tensor Input(Generator g, long[] shape, DType dt, bool strided, Randomizer r)
    {
        if (!strided || shape.Length < 2) return Tensor.Randn(shape, dt, g);
        int rank = shape.Length;
        int[] perm;
        do perm = [.. Enumerable.Range(0, rank).OrderBy(_ => r.Next())];
        while (perm.SequenceEqual(Enumerable.Range(0, rank)));
        var baseShape = new long[rank];
        for (int i = 0; i < rank; i++) baseShape[perm[i]] = shape[i];
        var t = Tensor.Randn(baseShape, dt, g).Permute(perm);
        Assert.That(t.Shape, Is.EqualTo(shape));
        return t;
    }

    public static void Close(Tensor actual, double[] expected, double atol, double rtol, string what)
    {
        var a = actual.ToDoubleArray();
        Assert.That(a, Has.Length.EqualTo(expected.Length), $"element count of {what}");
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs(a[i] - expected[i]);
            if (!(err <= atol + rtol * Math.Abs(expected[i])))
                Assert.Fail($"{what}: element {i} is {a[i]:R}, expected {expected[i]:R}");
        }
    }
}
