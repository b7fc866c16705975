using Engine.Kernels;
using Engine.Nn;
using Engine.Tests.Models;

namespace Engine.Tests.Cnn;

/// <summary>
/// Deformable convolution (torchvision.ops.deform_conv2d semantics): the CPU kernels against a direct loop oracle,
/// zero offsets against <see cref="Functional.Conv2d(Tensor, Tensor, Tensor?, int[], int[], int[], int)"/>, float64
/// gradient checks of every operand (sampling points between pixels, on the border band and outside the image), the
/// one-sided offset gradient at integer positions, bad-input errors, and Debian's torchvision 0.14 forward and every
/// gradient (category TorchReference).
/// </summary>
public class DeformConvTests
{
    /// <summary>One deformable convolution's geometry.</summary>
    private sealed record Case(int N, int C, int H, int W, int O, int Groups, int OffsetGroups, int KH, int KW, int[] Stride, int[] Pad,
        int[] Dil, bool Mask, bool Bias)
    {
        public int OutH => (H + 2 * Pad[0] - Dil[0] * (KH - 1) - 1) / Stride[0] + 1;
        public int OutW => (W + 2 * Pad[1] - Dil[1] * (KW - 1) - 1) / Stride[1] + 1;
        public long[] XShape => [N, C, H, W];
        public long[] OffsetShape => [N, 2 * OffsetGroups * KH * KW, OutH, OutW];
        public long[] MaskShape => [N, OffsetGroups * KH * KW, OutH, OutW];
        public long[] WShape => [O, C / Groups, KH, KW];
    }

    private static readonly Case[] s_cases =
    [
        new(2, 4, 6, 5, 6, 1, 1, 3, 3, [1, 1], [1, 1], [1, 1], true, true),
        new(2, 6, 7, 6, 4, 2, 3, 3, 2, [2, 2], [1, 1], [1, 1], true, true),
        new(1, 4, 8, 7, 3, 1, 2, 3, 3, [1, 2], [2, 1], [2, 2], false, true),
        new(2, 4, 5, 5, 4, 4, 1, 2, 2, [2, 2], [0, 0], [1, 1], false, false),
    ];

    // ---------------------------------------------------------------- oracle

    /// <summary>Bilinear read of plane [h, w] at (y, x): the pixels within distance &lt; 1 on both axes, weighted by (1 − |dy|)(1 − |dx|).</summary>
    private static double Sample(double[] x, int baseIndex, int h, int w, double y, double xx)
    {
        double v = 0;
        for (int yp = (int)Math.Floor(y); yp <= (int)Math.Floor(y) + 1; yp++)
            for (int xp = (int)Math.Floor(xx); xp <= (int)Math.Floor(xx) + 1; xp++)
            {
                if (yp < 0 || yp >= h || xp < 0 || xp >= w) continue;
                double wy = 1 - Math.Abs(y - yp), wx = 1 - Math.Abs(xx - xp);
                if (wy > 0 && wx > 0) v += wy * wx * x[baseIndex + yp * w + xp];
            }
        return v;
    }

    /// <summary>y[n, o, p, q] = b[o] + Σ_{c in o's group, i, j} w[o, c, i, j] · m · bilinear(x[n, c], sample point of tap (i, j)).</summary>
    private static double[] Oracle(Case k, double[] x, double[] off, double[]? mask, double[] w, double[]? b)
    {
        int oh = k.OutH, ow = k.OutW, kk = k.KH * k.KW, cg = k.C / k.Groups, og = k.O / k.Groups, cpo = k.C / k.OffsetGroups;
        var y = new double[k.N * k.O * oh * ow];
        for (int n = 0; n < k.N; n++)
            for (int o = 0; o < k.O; o++)
                for (int p = 0; p < oh; p++)
                    for (int q = 0; q < ow; q++)
                    {
                        double s = b?[o] ?? 0;
                        int grp = o / og;
                        for (int ci = 0; ci < cg; ci++)
                        {
                            int c = grp * cg + ci, ogrp = c / cpo;
                            for (int i = 0; i < k.KH; i++)
                                for (int j = 0; j < k.KW; j++)
                                {
                                    int tap = i * k.KW + j;
                                    int offBase = (n * k.OffsetGroups + ogrp) * 2 * kk;
                                    double dy = off[((offBase + 2 * tap) * oh + p) * ow + q], dx = off[((offBase + 2 * tap + 1) * oh + p) * ow + q];
                                    double m = mask is null ? 1 : mask[(((n * k.OffsetGroups + ogrp) * kk + tap) * oh + p) * ow + q];
                                    double py = p * k.Stride[0] - k.Pad[0] + i * k.Dil[0] + dy, px = q * k.Stride[1] - k.Pad[1] + j * k.Dil[1] + dx;
                                    s += w[((o * cg + ci) * k.KH + i) * k.KW + j] * m * Sample(x, (n * k.C + c) * k.H * k.W, k.H, k.W, py, px);
                                }
                        }
                        y[((n * k.O + o) * oh + p) * ow + q] = s;
                    }
        return y;
    }

    /// <summary>Offsets whose sampling points are never within 0.1 of a pixel row or column (so central differences see no kink), up to ±3 pixels away.</summary>
    private static Tensor FractionalOffsets(Generator g, long[] shape)
    {
        using var whole = Tensor.RandInt(-3, 4, shape, DType.Int64, g);
        using var frac = Tensor.Rand(shape, DType.Float64, g);
        return whole.To(DType.Float64).Add(frac.Mul(0.8).Add(0.1));
    }

    private static Tensor Call(Case k, Tensor x, Tensor off, Tensor w, Tensor? b, Tensor? m) =>
        Functional.DeformConv2d(x, off, w, b, k.Stride, k.Pad, k.Dil, m);

    // ---------------------------------------------------------------- forward

    [Test]
    public void ForwardMatchesTheLoopOracle([Values(DType.Float64, DType.Float32)] DType dt)
    {
        var g = TestUtil.Gen();
        foreach (var k in s_cases)
        {
            using var scope = Tensor.NewDisposeScope();
            var x = TestUtil.Values(g, k.XShape, dt, 1);
            var off = (Tensor.Randn(k.OffsetShape, DType.Float64, g) * 2).To(dt);
            var m = k.Mask ? Tensor.Rand(k.MaskShape, DType.Float64, g).To(dt) : null;
            var w = TestUtil.Values(g, k.WShape, dt, 1);
            var b = k.Bias ? TestUtil.Values(g, [k.O], dt, 1) : null;
            var y = Call(k, x, off, w, b, m);
            Assert.That(y.Shape, Is.EqualTo(new long[] { k.N, k.O, k.OutH, k.OutW }), $"{k}");
            var want = Oracle(k, x.ToDoubleArray(), off.ToDoubleArray(), m?.ToDoubleArray(), w.ToDoubleArray(), b?.ToDoubleArray());
            TestUtil.AssertClose(y, want, dt == DType.Float64 ? 1e-12 : 1e-4, dt == DType.Float64 ? 1e-12 : 1e-4);
        }
    }

    [Test]
    public void NonContiguousOperandsGiveTheSameResult()
    {
        var g = TestUtil.Gen();
        var k = s_cases[1];
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.StridedLeaf(g, k.XShape).Detach();
        var off = FractionalOffsets(g, [.. k.OffsetShape.Reverse()]).Permute(3, 2, 1, 0);
        var m = Tensor.Rand([.. k.MaskShape.Reverse()], DType.Float64, g).Permute(3, 2, 1, 0);
        var w = TestUtil.StridedLeaf(g, k.WShape).Detach();
        var b = TestUtil.Randn(g, k.O);
        Assert.That(x.IsContiguous || off.IsContiguous || m.IsContiguous, Is.False);
        TestUtil.AssertClose(Call(k, x, off, w, b, m), Call(k, x.Contiguous(), off.Contiguous(), w.Contiguous(), b, m.Contiguous()), 1e-13, 1e-13);
    }

    [Test]
    public void ZeroOffsetsAndUnitMaskAreAPlainConvolution()
    {
        var g = TestUtil.Gen();
        foreach (var k in s_cases)
        {
            using var scope = Tensor.NewDisposeScope();
            var x = TestUtil.Randn(g, k.XShape);
            var w = TestUtil.Randn(g, k.WShape);
            var b = k.Bias ? TestUtil.Randn(g, k.O) : null;
            var off = Tensor.Zeros(k.OffsetShape, DType.Float64);
            var ones = Tensor.Ones(k.MaskShape, DType.Float64);
            var conv = Functional.Conv2d(x, w, b, k.Stride, k.Pad, k.Dil, k.Groups);
            TestUtil.AssertClose(Call(k, x, off, w, b, null), conv, 1e-12, 1e-12);
            TestUtil.AssertClose(Call(k, x, off, w, b, ones), conv, 1e-12, 1e-12);
        }
    }

    [Test]
    public void IntegerOffsetsShiftTheSamplingGrid()
    {
        // every tap displaced by (dy, dx) = (1, -2) reads the input shifted by that much: a convolution of the shifted image
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.Randn(g, 1, 2, 6, 7);
        var w = TestUtil.Randn(g, 3, 2, 3, 3);
        var pairs = Tensor.FromArray([1.0, -2.0], 1, 1, 2, 1);   // (dy, dx) of every tap: channel 2·tap + {0, 1}
        var off = pairs.Expand(1, 9, 2, 1).Reshape(1, 18, 1, 1).Expand(1, 18, 6, 7).Contiguous();
        var y = Functional.DeformConv2d(x, off, w, null, 1, 1, 1);
        // tap (i, j) of output (r, q) reads x[r − 1 + i + 1, q − 1 + j − 2]: an unpadded convolution of the image padded and
        // shifted by hand, P[r', q'] = x[r', q' − 3] (zero outside x)
        var sx = x.ToDoubleArray();
        var sh = new double[2 * 8 * 9];
        for (int c = 0; c < 2; c++)
            for (int r = 0; r < 8; r++)
                for (int q = 0; q < 9; q++)
                    sh[(c * 8 + r) * 9 + q] = r < 6 && q - 3 >= 0 && q - 3 < 7 ? sx[(c * 6 + r) * 7 + q - 3] : 0;
        TestUtil.AssertClose(y, Functional.Conv2d(Tensor.FromArray(sh, 1, 2, 8, 9), w), 1e-12, 1e-12);
    }

    // ---------------------------------------------------------------- gradients

    [Test]
    public void GradCheckOfEveryOperand()
    {
        // fractional sampling points (0.1 to 0.9 past a pixel) up to 3 pixels away with padding: between pixels, in the
        // (-1, 0) and (H - 1, H) border bands, and outside the image
        var g = TestUtil.Gen();
        foreach (var k in new[] { s_cases[0] with { N = 1, H = 4, W = 4, O = 2 }, s_cases[1] with { H = 5, W = 4, O = 2 } })
        {
            using var scope = Tensor.NewDisposeScope();
            var x = TestUtil.Leaf(g, k.XShape);
            var off = FractionalOffsets(g, k.OffsetShape).RequiresGrad_();
            var m = Tensor.Rand(k.MaskShape, DType.Float64, g).RequiresGrad_();
            var w = TestUtil.Leaf(g, k.WShape);
            var b = TestUtil.Leaf(g, k.O);
            TestUtil.GradCheck(t => Call(k, t[0], t[1], t[2], t[3], t[4]), x, off, w, b, m);
            TestUtil.GradCheck(t => Call(k, t[0], t[1], t[2], null, null), x, off, w);
        }
    }

    [Test]
    public void AtIntegerPositionsTheOffsetGradientIsOneSidedFromAbove()
    {
        // integer sampling points (on pixels, on the rows/columns -1 and H, and outside): the bilinear sample is not
        // differentiable there; torchvision's get_coordinate_weight takes the derivative from above, so the analytic
        // gradient must equal the forward difference (L(o + h) − L(o)) / h, which is exact up to rounding since the sample
        // is linear in each offset on [k, k + 1).
        var g = TestUtil.Gen();
        var k = new Case(1, 2, 4, 4, 2, 1, 1, 3, 3, [1, 1], [1, 1], [1, 1], true, false);
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.Randn(g, k.XShape);
        var off = Tensor.RandInt(-3, 4, k.OffsetShape, DType.Int64, g).To(DType.Float64).RequiresGrad_();
        var m = Tensor.Rand(k.MaskShape, DType.Float64, g).Add(0.5);
        var w = TestUtil.Randn(g, k.WShape);
        var r = TestUtil.Randn(g, k.N, k.O, k.OutH, k.OutW);
        double Loss(Tensor o) => Call(k, x, o, w, null, m).Mul(r).Sum().Item();
        Call(k, x, off, w, null, m).Mul(r).Sum().Backward();
        var analytic = off.Grad!.ToDoubleArray();
        var o0 = off.Detach().ToDoubleArray();
        double l0 = Loss(off.Detach()), h = 1e-7;
        int differing = 0;
        for (int e = 0; e < o0.Length; e++)
        {
            var up = (double[])o0.Clone(); up[e] += h;
            var down = (double[])o0.Clone(); down[e] -= h;
            double fwd = (Loss(Tensor.FromArray(up, k.OffsetShape)) - l0) / h;
            double bwd = (l0 - Loss(Tensor.FromArray(down, k.OffsetShape))) / h;
            Assert.That(TestUtil.Close(analytic[e], fwd, 1e-6, 1e-6), $"offset element {e} at {o0[e]}: analytic {analytic[e]:R}, derivative from above {fwd:R}");
            if (Math.Abs(fwd - bwd) > 1e-3) differing++;
        }
        Assert.That(differing, Is.GreaterThan(0), "some integer positions have a real kink (left and right derivatives differ)");
        // input, mask and weight stay smooth (bilinear in the input, linear in mask and weight) at integer positions
        TestUtil.GradCheck(t => Call(k, t[0], off.Detach(), t[1], null, t[2]), x.RequiresGrad_(), w.RequiresGrad_(), m.RequiresGrad_());
    }

    [Test]
    public void DeformIm2ColGradCheck()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.Leaf(g, 1, 4, 4, 5);
        var off = FractionalOffsets(g, [1, 2 * 2 * 4, 3, 4]).RequiresGrad_();
        var m = Tensor.Rand([1, 2 * 4, 3, 4], DType.Float64, g).RequiresGrad_();
        TestUtil.GradCheck(t => Functional.DeformIm2Col(t[0], t[1], t[2], 2, 2, [2, 1], [1, 0], [1, 1]), x, off, m);
    }

    // ---------------------------------------------------------------- layers

    [Test]
    public void LayerHoldsTorchvisionsParametersAndCallsTheFunctional()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var layer = new DeformConv2d(6, 4, [3, 2], [2, 1], [1, 0], [1, 2], groups: 2, generator: g);
        Assert.That(layer.StateDict().Select(kv => (kv.Key, kv.Value.Shape)),
            Is.EqualTo(new[] { ("weight", new long[] { 4, 3, 3, 2 }), ("bias", new long[] { 4 }) }));
        var x = TestUtil.RandnF(g, 2, 6, 7, 6);
        var off = TestUtil.RandnF(g, 2, 2 * 3 * 6, 4, 4);
        var m = Tensor.Rand([2, 3 * 6, 4, 4], DType.Float32, g);
        TestUtil.AssertClose(layer.Forward(x, off, m), Functional.DeformConv2d(x, off, layer.Weight, layer.Bias, [2, 1], [1, 0], [1, 2], m), 0, 0);
        Assert.Throws<NotSupportedException>(() => layer.Call(x), "offsets are an input of torchvision's layer");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void PackStartsAsAPlainConvolutionAndLearnsOffsets(bool modulated)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var pack = new DeformConv2dPack(4, 5, 3, 2, 1, offsetGroups: 2, modulated: modulated, generator: g);
        Assert.That(pack.StateDict().Select(kv => (kv.Key, kv.Value.Shape)), Is.EqualTo(new[]
        {
            ("weight", new long[] { 5, 4, 3, 3 }), ("bias", new long[] { 5 }),
            ("conv_offset.weight", new long[] { (modulated ? 3 : 2) * 2 * 9, 4, 3, 3 }), ("conv_offset.bias", new long[] { (modulated ? 3 : 2) * 2 * 9 }),
        }));
        var x = TestUtil.RandnF(g, 2, 4, 7, 7);
        var y = pack.Call(x);
        // DCNv1: the plain convolution; DCNv2: mask sigmoid(0) = 0.5 scales the sampled input, not the bias
        var plain = Functional.Conv2d(x, pack.Weight, null, 2, 1);
        TestUtil.AssertClose(y, (modulated ? plain.Mul(0.5) : plain).Add(pack.Bias!.View(1, 5, 1, 1)), 1e-5, 1e-5);
        y.Square().Sum().Backward();
        var grad = pack.ConvOffset.Weight.Grad!.ToDoubleArray();
        Assert.That(grad.Any(v => v != 0), "the zero offset predictor gets a gradient, so training moves the sampling points");
    }

    // ---------------------------------------------------------------- errors

    [Test]
    public void BadInputIsRejectedBeforeAnyKernel()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.RandnF(g, 2, 4, 6, 6);
        var w = TestUtil.RandnF(g, 3, 4, 3, 3);
        var off = TestUtil.RandnF(g, 2, 18, 4, 4);
        void Throws<TE>(Func<Tensor> f, params string[] mentions) where TE : EngineException
        {
            var e = Assert.Throws<TE>(() => f())!;
            Assert.That(e.Message, Does.StartWith("deform_conv2d"));
            foreach (var s in mentions) Assert.That(e.Message, Does.Contain(s));
        }
        Throws<ShapeException>(() => Functional.DeformConv2d(x, TestUtil.RandnF(g, 2, 17, 4, 4), w), "[2, 17, 4, 4]");
        Throws<ShapeException>(() => Functional.DeformConv2d(x, TestUtil.RandnF(g, 2, 18, 5, 4), w), "[2, 18, 5, 4]");
        Throws<ShapeException>(() => Functional.DeformConv2d(x, TestUtil.RandnF(g, 2, 54, 4, 4), w), "offset groups", "[2, 4, 6, 6]");
        Throws<ShapeException>(() => Functional.DeformConv2d(x, off, w, mask: TestUtil.RandnF(g, 2, 18, 4, 4)), "[2, 9, 4, 4]", "[2, 18, 4, 4]");
        Throws<ShapeException>(() => Functional.DeformConv2d(x, off, TestUtil.RandnF(g, 3, 3, 3, 3)), "[3, 3, 3, 3]");
        Throws<ShapeException>(() => Functional.DeformConv2d(x, off, TestUtil.RandnF(g, 3, 2, 3, 3)), "[3, 2, 3, 3]");
        Throws<ShapeException>(() => Functional.DeformConv2d(x, off, w, TestUtil.RandnF(g, 4)), "[4]");
        Throws<ShapeException>(() => Functional.DeformConv2d(TestUtil.RandnF(g, 4, 6, 6), off, w), "[4, 6, 6]");
        Throws<DTypeException>(() => Functional.DeformConv2d(x, off.To(DType.Float64), w), "float64");
        Throws<DTypeException>(() => Functional.DeformConv2d(x.To(DType.Int64), off.To(DType.Int64), w.To(DType.Int64)), "int64");
        Assert.Throws<ArgumentValueException>(() => Functional.DeformConv2d(x, off, w, null, 0, 0, 1));
    }

    // ---------------------------------------------------------------- PyTorch

    private static readonly string[] s_torchCases =
        ["basic_mask", "groups_offset_groups_stride", "dilation_offset_groups_nomask", "depthwise_stride_nomask_nobias"];

    private static string? s_torchDir;

    [OneTimeTearDown]
    public void RemoveReference()
    {
        if (s_torchDir is not null) try { Directory.Delete(s_torchDir, recursive: true); } catch (IOException) { }
        s_torchDir = null;
    }

    [Test, Category(TorchReference.Category), TestCaseSource(nameof(s_torchCases))]
    public void MatchesTorchvisionForwardAndEveryGradient(string name)
    {
        s_torchDir ??= TorchReference.RunScript("deform_conv_reference.py", "deform-conv",
            "--seed", $"{TestContext.CurrentContext.Random.Next(1, 1 << 30)}");
        var io = SafeTensors.Load(Path.Combine(s_torchDir, "io.safetensors"));
        using var scope = Tensor.NewDisposeScope();
        var cfg = io[$"{name}.config"].ToDoubleArray().Select(v => (int)v).ToArray();
        Tensor? Get(string key) => io.ContainsKey($"{name}.{key}") ? io[$"{name}.{key}"].RequiresGrad_() : null;
        var (x, off, w, b, m) = (Get("input")!, Get("offset")!, Get("weight")!, Get("bias"), Get("mask"));
        var y = Functional.DeformConv2d(x, off, w, b, cfg[0..2], cfg[2..4], cfg[4..6], m);
        TestUtil.AssertClose(y, io[$"{name}.out"], 1e-11, 1e-11);
        y.Mul(io[$"{name}.grad_out"]).Sum().Backward();
        foreach (var (key, t) in new[] { ("input", x), ("offset", off), ("weight", w), ("bias", b), ("mask", m) })
        {
            if (t is null) continue;
            Assert.That(t.Grad, Is.Not.Null, $"{name}: gradient of {key}");
            var want = io[$"{name}.grad.{key}"].ToDoubleArray();
            var got = t.Grad!.ToDoubleArray();
            for (int i = 0; i < want.Length; i++)
                Assert.That(TestUtil.Close(got[i], want[i], 1e-10, 1e-10), $"{name}: d/d{key}[{i}] = {got[i]:R}, torchvision {want[i]:R}");
        }
        // float32 forward against the float64 reference
        using (Tensor.NoGrad())
        {
            var y32 = Functional.DeformConv2d(x.To(DType.Float32), off.To(DType.Float32), w.To(DType.Float32), b?.To(DType.Float32), cfg[0..2], cfg[2..4],
                cfg[4..6], m?.To(DType.Float32));
            TestUtil.AssertClose(y32, io[$"{name}.out"], 1e-4, 1e-4);
        }
    }
}
