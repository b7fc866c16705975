using Engine.Kernels;
using NUnit.Framework.Internal;

namespace Engine.Tests.Cnn;

/// <summary>
/// Max, average and adaptive pooling against direct loop oracles written from PyTorch's definitions (output
/// size with ceil mode, window starts o·stride − pad, dilation, first-max indices, the count_include_pad
/// divisor and divisor_override, adaptive windows ⌊i·In/Out⌋ … ⌈(i+1)·In/Out⌉), forward and backward, plus
/// hand-worked cases, gradient checks and bad-input errors.
/// </summary>
public class PoolTests
{
    // ---------------------------------------------------------------- oracle

    /// <summary>A pooling configuration; spatial values stored as 3 dims (depth 1, kernel 1, no padding for 2-D).</summary>
    private sealed class PoolCase
    {
        public int Spatial, N, C;
        public int[] In = [1, 1, 1], K = [1, 1, 1], Stride = [1, 1, 1], Pad = [0, 0, 0], Dil = [1, 1, 1];
        public bool Ceil, CountIncludePad = true;
        public int? Divisor;

        public int Out(int d) => OutSizeRef(In[d], K[d], Stride[d], Pad[d], Dil[d], Ceil);

        private long[] Sp(Func<int, long> f) => [.. Enumerable.Range(3 - Spatial, Spatial).Select(f)];

        public long[] XShape => [N, C, .. Sp(d => In[d])];
        public long[] YShape => [N, C, .. Sp(d => Out(d))];
        public int[] Spat(int[] v) => v[(3 - Spatial)..];

        public bool Uniform => Enumerable.Range(3 - Spatial, Spatial).All(d => K[d] == K[2] && Stride[d] == Stride[2] && Pad[d] == Pad[2] && Dil[d] == Dil[2]);

        public override string ToString() =>
            $"pool{Spatial}d x{ShapeUtil.Format(XShape)} kernel=({string.Join(",", K)}) stride=({string.Join(",", Stride)}) " +
            $"pad=({string.Join(",", Pad)}) dilation=({string.Join(",", Dil)}) ceil={Ceil} countIncludePad={CountIncludePad} divisor={Divisor}";
    }

    /// <summary>
    /// PyTorch's pooling output size: ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1, or with ⌈⌉ in ceil mode, where a last window
    /// that would start in the right padding ((o−1)·s − p ≥ n) is dropped.
    /// </summary>
    private static int OutSizeRef(int n, int k, int s, int p, int d, bool ceil)
    {
        int num = n + 2 * p - d * (k - 1) - 1;
        if (num < 0) return 0;
        int o = (ceil ? (num + s - 1) / s : num / s) + 1;
        if (ceil && (o - 1) * s >= n + p) o--;
        return o;
    }

    /// <summary>
    /// Max pooling by direct loops: window of output o starts at o·s − p and visits start + j·dil for j &lt; k,
    /// skipping positions outside the input; the first (row-major) strict maximum wins; its index is flat within
    /// the plane (d·H·W + h·W + w). Returns null when some window holds no input element.
    /// </summary>
    private static (double[] Y, long[] Idx, double[] Dx)? MaxPoolRef(PoolCase c, double[] x, double[] gy)
    {
        int o0 = c.Out(0), o1 = c.Out(1), o2 = c.Out(2), planes = c.N * c.C;
        int inD = c.In[0], inH = c.In[1], inW = c.In[2], inPlane = inD * inH * inW;
        var y = new double[planes * o0 * o1 * o2];
        var idx = new long[y.Length];
        var dx = new double[x.Length];
        int yi = 0;
        for (int p = 0; p < planes; p++)
            for (int od = 0; od < o0; od++)
                for (int oh = 0; oh < o1; oh++)
                    for (int ow = 0; ow < o2; ow++, yi++)
                    {
                        double best = double.NegativeInfinity;
                        long bi = -1;
                        for (int kd = 0; kd < c.K[0]; kd++)
                        {
                            int id = od * c.Stride[0] - c.Pad[0] + kd * c.Dil[0];
                            if (id < 0 || id >= inD) continue;
                            for (int kh = 0; kh < c.K[1]; kh++)
                            {
                                int ih = oh * c.Stride[1] - c.Pad[1] + kh * c.Dil[1];
                                if (ih < 0 || ih >= inH) continue;
                                for (int kw = 0; kw < c.K[2]; kw++)
                                {
                                    int iw = ow * c.Stride[2] - c.Pad[2] + kw * c.Dil[2];
                                    if (iw < 0 || iw >= inW) continue;
                                    long at = ((long)id * inH + ih) * inW + iw;
                                    double v = x[p * inPlane + at];
                                    if (bi < 0 || v > best) { best = v; bi = at; }
                                }
                            }
                        }
                        if (bi < 0) return null;
                        y[yi] = best;
                        idx[yi] = bi;
                        dx[p * inPlane + bi] += gy[yi];
                    }
        return (y, idx, dx);
    }

    /// <summary>
    /// Average pooling as PyTorch computes it: per dim the window is [o·s − p, min(o·s − p + k, n + p)); its full
    /// volume (padding included) is the count_include_pad divisor; clipped to the input, its volume is the other
    /// divisor; divisor_override replaces both.
    /// </summary>
    private static (double[] Y, double[] Dx) AvgPoolRef(PoolCase c, double[] x, double[] gy)
    {
        int o0 = c.Out(0), o1 = c.Out(1), o2 = c.Out(2), planes = c.N * c.C;
        int inD = c.In[0], inH = c.In[1], inW = c.In[2], inPlane = inD * inH * inW;
        var y = new double[planes * o0 * o1 * o2];
        var dx = new double[x.Length];
        int yi = 0;
        for (int p = 0; p < planes; p++)
            for (int od = 0; od < o0; od++)
                for (int oh = 0; oh < o1; oh++)
                    for (int ow = 0; ow < o2; ow++, yi++)
                    {
                        int d0 = od * c.Stride[0] - c.Pad[0], d1 = Math.Min(d0 + c.K[0], inD + c.Pad[0]);
                        int h0 = oh * c.Stride[1] - c.Pad[1], h1 = Math.Min(h0 + c.K[1], inH + c.Pad[1]);
                        int w0 = ow * c.Stride[2] - c.Pad[2], w1 = Math.Min(w0 + c.K[2], inW + c.Pad[2]);
                        int poolSize = (d1 - d0) * (h1 - h0) * (w1 - w0);
                        d0 = Math.Max(d0, 0); h0 = Math.Max(h0, 0); w0 = Math.Max(w0, 0);
                        d1 = Math.Min(d1, inD); h1 = Math.Min(h1, inH); w1 = Math.Min(w1, inW);
                        int div = c.Divisor ?? (c.CountIncludePad ? poolSize : (d1 - d0) * (h1 - h0) * (w1 - w0));
                        double s = 0;
                        for (int id = d0; id < d1; id++)
                            for (int ih = h0; ih < h1; ih++)
                                for (int iw = w0; iw < w1; iw++)
                                {
                                    s += x[p * inPlane + (id * inH + ih) * inW + iw];
                                    dx[p * inPlane + (id * inH + ih) * inW + iw] += gy[yi] / div;
                                }
                        y[yi] = s / div;
                    }
        return (y, dx);
    }

    /// <summary>Adaptive pooling: output i of a dim pools [⌊i·n/o⌋, ⌈(i+1)·n/o⌉); max keeps the first maximum's flat index.</summary>
    private static (double[] Y, long[] Idx, double[] Dx) AdaptiveRef(int planes, int[] inS, int[] outS, double[] x, double[] gy, bool max)
    {
        int inPlane = inS[0] * inS[1] * inS[2];
        var y = new double[planes * outS[0] * outS[1] * outS[2]];
        var idx = new long[y.Length];
        var dx = new double[x.Length];
        static int Lo(int i, int n, int o) => i * n / o;
        static int Hi(int i, int n, int o) => ((i + 1) * n + o - 1) / o;
        int yi = 0;
        for (int p = 0; p < planes; p++)
            for (int od = 0; od < outS[0]; od++)
                for (int oh = 0; oh < outS[1]; oh++)
                    for (int ow = 0; ow < outS[2]; ow++, yi++)
                    {
                        int d0 = Lo(od, inS[0], outS[0]), d1 = Hi(od, inS[0], outS[0]);
                        int h0 = Lo(oh, inS[1], outS[1]), h1 = Hi(oh, inS[1], outS[1]);
                        int w0 = Lo(ow, inS[2], outS[2]), w1 = Hi(ow, inS[2], outS[2]);
                        int count = (d1 - d0) * (h1 - h0) * (w1 - w0);
                        double s = 0, best = double.NegativeInfinity;
                        long bi = -1;
                        for (int id = d0; id < d1; id++)
                            for (int ih = h0; ih < h1; ih++)
                                for (int iw = w0; iw < w1; iw++)
                                {
                                    long at = ((long)id * inS[1] + ih) * inS[2] + iw;
                                    double v = x[p * inPlane + at];
                                    s += v;
                                    if (bi < 0 || v > best) { best = v; bi = at; }
                                }
                        if (max)
                        {
                            y[yi] = best; idx[yi] = bi;
                            dx[p * inPlane + bi] += gy[yi];
                        }
                        else
                        {
                            y[yi] = s / count;
                            for (int id = d0; id < d1; id++)
                                for (int ih = h0; ih < h1; ih++)
                                    for (int iw = w0; iw < w1; iw++)
                                        dx[p * inPlane + (id * inS[1] + ih) * inS[2] + iw] += gy[yi] / count;
                        }
                    }
        return (y, idx, dx);
    }

    private static PoolCase RandomCase(Randomizer r, int spatial, bool max)
    {
        while (true)
        {
            var c = new PoolCase { Spatial = spatial, N = r.Next(1, 4), C = r.Next(1, 7), Ceil = r.NextBool() };
            for (int d = 3 - spatial; d < 3; d++)
            {
                c.In[d] = spatial == 2 ? r.Next(1, d == 1 ? 10 : 12) : r.Next(1, 7);
                c.K[d] = r.Next(1, spatial == 2 ? 5 : 4);
                c.Stride[d] = r.Next(1, spatial == 2 ? 4 : 3);
                c.Dil[d] = max ? r.Next(1, 3) : 1;
                // padding at most half the (effective) kernel
                c.Pad[d] = r.Next(0, (max ? c.Dil[d] * (c.K[d] - 1) + 1 : c.K[d]) / 2 + 1);
            }
            if (!max)
            {
                c.CountIncludePad = r.NextBool();
                c.Divisor = r.Next(4) == 0 ? r.Next(1, 6) : null;
            }
            bool ok = true;
            for (int d = 0; d < 3; d++) if (c.Out(d) < 1) ok = false;
            if (ok) return c;
        }
    }

    private static (Tensor Y, Tensor? Idx) CallMax(PoolCase c, Tensor x, Randomizer r)
    {
        if (c.Uniform && r.Next(3) == 0)
            return (c.Spatial == 2
                ? Functional.MaxPool2d(x, c.K[2], c.Stride[2], c.Pad[2], c.Dil[2], c.Ceil)
                : Functional.MaxPool3d(x, c.K[2], c.Stride[2], c.Pad[2], c.Dil[2], c.Ceil), null);
        var res = c.Spatial == 2
            ? Functional.MaxPool2dWithIndices(x, c.Spat(c.K), c.Spat(c.Stride), c.Spat(c.Pad), c.Spat(c.Dil), c.Ceil)
            : Functional.MaxPool3dWithIndices(x, c.Spat(c.K), c.Spat(c.Stride), c.Spat(c.Pad), c.Spat(c.Dil), c.Ceil);
        return (res.Output, res.Indices);
    }

    private static Tensor CallAvg(PoolCase c, Tensor x, Randomizer r)
    {
        bool scalar = c.Uniform && r.NextBool();
        if (c.Spatial == 3)
            return scalar ? Functional.AvgPool3d(x, c.K[2], c.Stride[2], c.Pad[2], c.Ceil, c.CountIncludePad, c.Divisor)
                : Functional.AvgPool3d(x, c.Spat(c.K), c.Spat(c.Stride), c.Spat(c.Pad), c.Ceil, c.CountIncludePad, c.Divisor);
        if (scalar) return Functional.AvgPool2d(x, c.K[2], c.Stride[2], c.Pad[2], c.Ceil, c.CountIncludePad, c.Divisor);
        return Functional.AvgPool2d(x, c.Spat(c.K), c.Spat(c.Stride), c.Spat(c.Pad), c.Ceil, c.CountIncludePad, c.Divisor);
    }

    private static double Tol(DType dt) => dt == DType.Float32 ? 1e-5 : 1e-12;

    private static void CheckMax(PoolCase c, DType dt, Randomizer r)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        bool strided = r.NextBool();
        var x = CnnUtil.Input(g, c.XShape, dt, strided, r).RequiresGrad_();
        var gyShape = c.YShape;
        var gy = Tensor.Randn(gyShape, dt, g);
        var expect = MaxPoolRef(c, x.ToDoubleArray(), gy.ToDoubleArray());
        string what = $"{c} {dt.Name()} strided={strided}";
        if (expect is null)
        {
            // A window that lies wholly in the padding (dilation skipping over a tiny input) has no maximum.
            var ex = Assert.Throws<ShapeException>(() => CallMax(c, x, r), what);
            Assert.That(ex!.Message, Does.StartWith(c.Spatial == 2 ? "max_pool2d:" : "max_pool3d:"), what);
            return;
        }
        var (y, idx) = CallMax(c, x, r);
        Assert.That(y.Shape, Is.EqualTo(gyShape), what);
        CnnUtil.Close(y, expect.Value.Y, 0, 0, "y of " + what);
        if (idx is not null)
        {
            Assert.That(idx.DType, Is.EqualTo(DType.Int64), what);
            Assert.That(idx.Shape, Is.EqualTo(gyShape), what);
            Assert.That(idx.ToArray<long>(), Is.EqualTo(expect.Value.Idx), "indices of " + what);
        }
        y.Backward(gy);
        CnnUtil.Close(x.Grad!, expect.Value.Dx, Tol(dt), Tol(dt), "dx of " + what);
    }

    private static void CheckAvg(PoolCase c, DType dt, Randomizer r)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        bool strided = r.NextBool();
        var x = CnnUtil.Input(g, c.XShape, dt, strided, r).RequiresGrad_();
        var y = CallAvg(c, x, r);
        string what = $"{c} {dt.Name()} strided={strided}";
        Assert.That(y.Shape, Is.EqualTo(c.YShape), what);
        var gy = Tensor.Randn(y.Shape, dt, g);
        var (ey, edx) = AvgPoolRef(c, x.ToDoubleArray(), gy.ToDoubleArray());
        CnnUtil.Close(y, ey, Tol(dt), Tol(dt), "y of " + what);
        y.Backward(gy);
        CnnUtil.Close(x.Grad!, edx, Tol(dt), Tol(dt), "dx of " + what);
    }

    // ---------------------------------------------------------------- against the oracle

    [Test]
    public void MaxPool2dMatchesTheDirectLoopOverRandomGeometries()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 60; t++) CheckMax(RandomCase(r, 2, max: true), t % 2 == 0 ? DType.Float32 : DType.Float64, r);
    }

    [Test]
    public void MaxPool3dMatchesTheDirectLoopOverRandomGeometries()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 40; t++) CheckMax(RandomCase(r, 3, max: true), t % 2 == 0 ? DType.Float32 : DType.Float64, r);
    }

    [Test]
    public void AvgPool2dMatchesTheDirectLoopOverRandomGeometries()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 60; t++) CheckAvg(RandomCase(r, 2, max: false), t % 2 == 0 ? DType.Float32 : DType.Float64, r);
    }

    [Test]
    public void AvgPool3dMatchesTheDirectLoopOverRandomGeometries()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 40; t++) CheckAvg(RandomCase(r, 3, max: false), t % 2 == 0 ? DType.Float32 : DType.Float64, r);
    }

    [Test]
    public void AdaptivePoolsMatchTheDirectLoopOverRandomGeometries()
    {
        var r = TestContext.CurrentContext.Random;
        for (int t = 0; t < 90; t++)
        {
            using var scope = Tensor.NewDisposeScope();
            var g = TestUtil.Gen();
            var dt = t % 2 == 0 ? DType.Float32 : DType.Float64;
            int kind = t % 3; // 0: avg 2-D, 1: max 2-D, 2: avg 3-D
            int n = r.Next(1, 4), ch = r.Next(1, 7);
            int[] inS = kind == 2 ? [r.Next(1, 6), r.Next(1, 7), r.Next(1, 7)] : [1, r.Next(1, 10), r.Next(1, 12)];
            // output sizes from 1 up to a little more than the input (windows then overlap)
            int[] outS = [kind == 2 ? r.Next(1, inS[0] + 3) : 1, r.Next(1, inS[1] + 3), r.Next(1, inS[2] + 3)];
            long[] xShape = kind == 2 ? [n, ch, inS[0], inS[1], inS[2]] : [n, ch, inS[1], inS[2]];
            long[] yShape = kind == 2 ? [n, ch, outS[0], outS[1], outS[2]] : [n, ch, outS[1], outS[2]];
            bool strided = r.NextBool();
            var x = CnnUtil.Input(g, xShape, dt, strided, r).RequiresGrad_();
            Tensor y;
            Tensor? idx = null;
            if (kind == 0) y = Functional.AdaptiveAvgPool2d(x, outS[1], outS[2]);
            else if (kind == 2) y = Functional.AdaptiveAvgPool3d(x, outS[0], outS[1], outS[2]);
            else if (r.NextBool()) (y, idx) = Functional.AdaptiveMaxPool2dWithIndices(x, outS[1], outS[2]);
            else y = Functional.AdaptiveMaxPool2d(x, outS[1], outS[2]);
            string what = $"adaptive kind={kind} x{ShapeUtil.Format(xShape)} -> ({string.Join(",", outS)}) {dt.Name()} strided={strided}";
            Assert.That(y.Shape, Is.EqualTo(yShape), what);
            var gy = Tensor.Randn(yShape, dt, g);
            var (ey, eidx, edx) = AdaptiveRef(n * ch, inS, outS, x.ToDoubleArray(), gy.ToDoubleArray(), max: kind == 1);
            CnnUtil.Close(y, ey, Tol(dt), Tol(dt), "y of " + what);
            if (idx is not null) Assert.That(idx.ToArray<long>(), Is.EqualTo(eidx), "indices of " + what);
            y.Backward(gy);
            CnnUtil.Close(x.Grad!, edx, Tol(dt), Tol(dt), "dx of " + what);
        }
    }

    [Test]
    public void OutputSizesFollowPyTorchIncludingCeilMode()
    {
        // Exhaustive over small values: the shape the engine produces equals the reference formula.
        using var scope = Tensor.NewDisposeScope();
        int checkedCount = 0;
        for (int n = 1; n <= 8; n++)
            for (int k = 1; k <= 4; k++)
                for (int s = 1; s <= 3; s++)
                    for (int dil = 1; dil <= 2; dil++)
                        for (int p = 0; 2 * p <= dil * (k - 1) + 1; p++)
                            foreach (bool ceil in new[] { false, true })
                            {
                                int expect = OutSizeRef(n, k, s, p, dil, ceil);
                                if (expect < 1) continue;
                                using var x = Tensor.Ones([1, 1, 1, n], DType.Float32);
                                var c = new PoolCase { Spatial = 2, N = 1, C = 1, In = [1, 1, n], K = [1, 1, k], Stride = [1, 1, s], Pad = [0, 0, p], Dil = [1, 1, dil], Ceil = ceil };
                                if (MaxPoolRef(c, new double[n], new double[expect]) is null) continue; // empty windows: rejected, tested elsewhere
                                var (y, _) = Functional.MaxPool2dWithIndices(x, [1, k], [1, s], [0, p], [1, dil], ceil);
                                Assert.That(y.Size(3), Is.EqualTo(expect), $"max n={n} k={k} s={s} p={p} dil={dil} ceil={ceil}");
                                if (dil == 1 && 2 * p <= k)
                                {
                                    using var ya = Functional.AvgPool2d(x, [1, k], [1, s], [0, p], ceil);
                                    Assert.That(ya.Size(3), Is.EqualTo(expect), $"avg n={n} k={k} s={s} p={p} ceil={ceil}");
                                    // every window, padding included, must start inside the input or the left padding
                                    Assert.That((expect - 1) * s - p, Is.LessThan(n));
                                }
                                checkedCount++;
                            }
        Assert.That(checkedCount, Is.GreaterThan(300));
    }

    // ---------------------------------------------------------------- hand-worked cases

    private static double[] Seq(int n) => [.. Enumerable.Range(1, n).Select(i => (double)i)];

    [Test]
    public void MaxPoolValuesAndIndicesByHand()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new double[] { 1, 5, 2, 7, 3, 9, 4, 8, 6 }, 1, 1, 3, 3);
        var (y, idx) = Functional.MaxPool2dWithIndices(x, [2, 2], [1, 1]);
        Assert.That(y.ToDoubleArray(), Is.EqualTo(new double[] { 7, 9, 8, 9 }));
        Assert.That(idx.ToArray<long>(), Is.EqualTo(new long[] { 3, 5, 7, 5 }));

        // stride 2 with padding 1: windows rows/cols {-1,0} and {1,2}; padding never wins
        var (yp, ip) = Functional.MaxPool2dWithIndices(x, [2, 2], [2, 2], [1, 1]);
        Assert.That(yp.ToDoubleArray(), Is.EqualTo(new double[] { 1, 5, 7, 9 }));
        Assert.That(ip.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 3, 5 }));

        // stride defaults to the kernel size
        Assert.That(Functional.MaxPool2d(x, 2).ToDoubleArray(), Is.EqualTo(new double[] { 7 }));

        // ties: the first maximum in row-major order wins
        var ties = Tensor.FromArray(new double[] { 2, 1, 2, 2, 1, 3, 3, 3 }, 2, 1, 2, 2);
        var (yt, it) = Functional.MaxPool2dWithIndices(ties, [2, 2]);
        Assert.That(yt.ToDoubleArray(), Is.EqualTo(new double[] { 2, 3 }));
        Assert.That(it.ToArray<long>(), Is.EqualTo(new long[] { 0, 1 }));

        // padding with ties: windows {-1,0}, {0,1}, {1,2}, {2,3}
        var row = Tensor.FromArray(new double[] { 3, 3, 1 }, 1, 1, 1, 3);
        var (yr, ir) = Functional.MaxPool2dWithIndices(row, [1, 2], [1, 1], [0, 1]);
        Assert.That(yr.ToDoubleArray(), Is.EqualTo(new double[] { 3, 3, 3, 1 }));
        Assert.That(ir.ToArray<long>(), Is.EqualTo(new long[] { 0, 0, 1, 2 }));

        // dilation 2: windows {0,2}, {1,3}, {2,4}
        var d = Tensor.FromArray(new double[] { 1, 5, 2, 4, 3 }, 1, 1, 1, 5);
        var (yd, id) = Functional.MaxPool2dWithIndices(d, [1, 2], [1, 1], null, [1, 2]);
        Assert.That(yd.ToDoubleArray(), Is.EqualTo(new double[] { 2, 5, 3 }));
        Assert.That(id.ToArray<long>(), Is.EqualTo(new long[] { 2, 1, 4 }));

        // negative values: padding does not act as zero
        var neg = Tensor.FromArray(new double[] { -3, -1, -2, -4 }, 1, 1, 2, 2);
        var (yn, inn) = Functional.MaxPool2dWithIndices(neg, [2, 2], [1, 1], [1, 1]);
        Assert.That(yn.ToDoubleArray(), Is.EqualTo(new double[] { -3, -1, -1, -2, -1, -1, -2, -2, -4 }));
        Assert.That(inn.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 1, 2, 1, 1, 2, 2, 3 }));

        // 3-D: the index is flat over (T, H, W)
        var x3 = Tensor.FromArray(new double[] { 1, 8, 3, 4, 5, 6, 7, 2, 9, 0, 0, 0 }, 1, 1, 3, 2, 2);
        var (y3, i3) = Functional.MaxPool3dWithIndices(x3, [2, 2, 2], [1, 1, 1]);
        Assert.That(y3.ToDoubleArray(), Is.EqualTo(new double[] { 8, 9 }));
        Assert.That(i3.ToArray<long>(), Is.EqualTo(new long[] { 1, 8 }));
        Assert.That(Functional.MaxPool3d(x3, 2).ToDoubleArray(), Is.EqualTo(new double[] { 8 }));
    }

    [Test]
    public void MaxPoolGradientGoesToTheArgmax()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new double[] { 1, 5, 2, 7, 3, 9, 4, 8, 6 }, 1, 1, 3, 3).RequiresGrad_();
        Functional.MaxPool2d(x, 2, stride: 1).Sum().Backward();
        // 9 is the max of two windows, 7 and 8 of one each
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new double[] { 0, 0, 0, 1, 0, 2, 0, 1, 0 }));
    }

    [Test]
    public void AvgPoolWithPaddingCountsOrExcludesThePad()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(Seq(9), 1, 1, 3, 3);
        double[] sums = [12, 21, 16, 27, 45, 33, 24, 39, 28];
        double[] counts = [4, 6, 4, 6, 9, 6, 4, 6, 4];
        var inc = Functional.AvgPool2d(x, 3, stride: 1, padding: 1);
        Assert.That(inc.Shape, Is.EqualTo(new long[] { 1, 1, 3, 3 }));
        TestUtil.AssertClose(inc, [.. sums.Select(s => s / 9)], 1e-12, 0);
        var exc = Functional.AvgPool2d(x, 3, stride: 1, padding: 1, countIncludePad: false);
        TestUtil.AssertClose(exc, [.. sums.Select((s, i) => s / counts[i])], 1e-12, 0);
        var ovr = Functional.AvgPool2d(x, 3, stride: 1, padding: 1, divisorOverride: 2);
        TestUtil.AssertClose(ovr, [.. sums.Select(s => s / 2)], 1e-12, 0);
        // divisor_override wins over count_include_pad = false too
        var ovr2 = Functional.AvgPool2d(x, 3, stride: 1, padding: 1, countIncludePad: false, divisorOverride: 3);
        TestUtil.AssertClose(ovr2, [.. sums.Select(s => s / 3)], 1e-12, 0);

        // no padding: plain mean of each 2x2 window, stride defaults to the kernel
        Assert.That(Functional.AvgPool2d(Tensor.FromArray(Seq(16), 1, 1, 4, 4), 2).ToDoubleArray(), Is.EqualTo(new double[] { 3.5, 5.5, 11.5, 13.5 }));
    }

    [Test]
    public void CeilModeByHand()
    {
        using var scope = Tensor.NewDisposeScope();
        var x5 = Tensor.FromArray(Seq(5), 1, 1, 1, 5);
        // windows [0,2), [2,4), [4,6): the last is clipped by the input and, with no padding, counts 1 element
        Assert.That(Functional.AvgPool2d(x5, [1, 2], [1, 2], null, ceilMode: true).ToDoubleArray(), Is.EqualTo(new double[] { 1.5, 3.5, 5 }));
        Assert.That(Functional.AvgPool2d(x5, [1, 2], [1, 2], null, ceilMode: false).ToDoubleArray(), Is.EqualTo(new double[] { 1.5, 3.5 }));
        var (ym, im) = Functional.MaxPool2dWithIndices(x5, [1, 2], [1, 2], null, null, ceilMode: true);
        Assert.That(ym.ToDoubleArray(), Is.EqualTo(new double[] { 2, 4, 5 }));
        Assert.That(im.ToArray<long>(), Is.EqualTo(new long[] { 1, 3, 4 }));

        // n=6, k=3, s=2, p=1: windows start -1, 1, 3, 5. The last ends at min(5+3, 6+1) = 7, so with
        // count_include_pad it divides by 2 (one pad column, not the part beyond it), without by 1.
        var x6 = Tensor.FromArray(Seq(6), 1, 1, 1, 6);
        var inc = Functional.AvgPool2d(x6, [1, 3], [1, 2], [0, 1], ceilMode: true);
        Assert.That(inc.ToDoubleArray(), Is.EqualTo(new double[] { 1, 3, 5, 3 }));
        var exc = Functional.AvgPool2d(x6, [1, 3], [1, 2], [0, 1], ceilMode: true, countIncludePad: false);
        Assert.That(exc.ToDoubleArray(), Is.EqualTo(new double[] { 1.5, 3, 5, 6 }));

        // n=4, k=2, s=3, p=1: ⌈(4+2−2)/3⌉+1 = 3, but the third window would start at 5 > n−1: dropped.
        var x4 = Tensor.FromArray(Seq(4), 1, 1, 1, 4);
        var y4 = Functional.AvgPool2d(x4, [1, 2], [1, 3], [0, 1], ceilMode: true);
        Assert.That(y4.ToDoubleArray(), Is.EqualTo(new double[] { 0.5, 3.5 }));
        var (y4m, i4m) = Functional.MaxPool2dWithIndices(x4, [1, 2], [1, 3], [0, 1], null, ceilMode: true);
        Assert.That(y4m.ToDoubleArray(), Is.EqualTo(new double[] { 1, 4 }));
        Assert.That(i4m.ToArray<long>(), Is.EqualTo(new long[] { 0, 3 }));
    }

    [Test]
    public void AdaptivePoolsByHand()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = Tensor.Randn([2, 3, 5, 7], DType.Float64, g);
        var xs = x.ToDoubleArray();
        var means = new double[6];
        var maxes = new double[6];
        var argmax = new long[6];
        for (int p = 0; p < 6; p++)
        {
            var plane = xs.AsSpan(p * 35, 35);
            double s = 0;
            maxes[p] = double.NegativeInfinity;
            for (int i = 0; i < 35; i++)
            {
                s += plane[i];
                if (plane[i] > maxes[p]) { maxes[p] = plane[i]; argmax[p] = i; }
            }
            means[p] = s / 35;
        }
        var avg = Functional.AdaptiveAvgPool2d(x, 1, 1);
        Assert.That(avg.Shape, Is.EqualTo(new long[] { 2, 3, 1, 1 }));
        TestUtil.AssertClose(avg, means, 1e-12, 1e-12);
        var gap = Functional.GlobalAvgPool2d(x);
        Assert.That(gap.Shape, Is.EqualTo(new long[] { 2, 3, 1, 1 }));
        TestUtil.AssertClose(gap, means, 1e-12, 1e-12);
        var (mx, mi) = Functional.AdaptiveMaxPool2dWithIndices(x, 1, 1);
        Assert.That(mx.ToDoubleArray(), Is.EqualTo(maxes));
        Assert.That(mi.ToArray<long>(), Is.EqualTo(argmax));
        // adaptive to the input size is the identity
        TestUtil.AssertClose(Functional.AdaptiveAvgPool2d(x, 5, 7), xs, 0, 0);
        TestUtil.AssertClose(Functional.AdaptiveMaxPool2d(x, 5, 7), xs, 0, 0);

        // 5 → 3: windows [0,2), [1,4), [3,5) overlap
        var row = Tensor.FromArray(Seq(5), 1, 1, 1, 5);
        Assert.That(Functional.AdaptiveAvgPool2d(row, 1, 3).ToDoubleArray(), Is.EqualTo(new double[] { 1.5, 3, 4.5 }));
        var (rm, ri) = Functional.AdaptiveMaxPool2dWithIndices(row, 1, 3);
        Assert.That(rm.ToDoubleArray(), Is.EqualTo(new double[] { 2, 4, 5 }));
        Assert.That(ri.ToArray<long>(), Is.EqualTo(new long[] { 1, 3, 4 }));
        // 2 → 3 (upsampling): windows [0,1), [0,2), [1,2)
        var two = Tensor.FromArray(new double[] { 2, 4 }, 1, 1, 1, 2);
        Assert.That(Functional.AdaptiveAvgPool2d(two, 1, 3).ToDoubleArray(), Is.EqualTo(new double[] { 2, 3, 4 }));
        // 3-D to 1x1x1 is the mean of the whole volume
        var v = Tensor.FromArray(Seq(24), 1, 1, 2, 3, 4);
        Assert.That(Functional.AdaptiveAvgPool3d(v, 1, 1, 1).ToDoubleArray(), Is.EqualTo(new double[] { 12.5 }));
        Assert.That(Functional.AdaptiveAvgPool3d(v, 2, 1, 2).ToDoubleArray(), Is.EqualTo(new double[] { 5.5, 7.5, 17.5, 19.5 }));
    }

    [Test]
    public void AWindowEntirelyInThePaddingIsRejected()
    {
        using var scope = Tensor.NewDisposeScope();
        // H = 1, kernel 2, dilation 2, padding 1: the window visits rows -1 and 1, neither of which exists.
        var x = Tensor.FromArray(new double[] { 1, 2, 3 }, 1, 1, 1, 3);
        var ex = Assert.Throws<ShapeException>(() => Functional.MaxPool2dWithIndices(x, [2, 1], [1, 1], [1, 0], [2, 1]));
        Assert.That(ex!.Message, Does.StartWith("max_pool2d:").And.Contain("[1, 1, 1, 3]"));
    }

    // ---------------------------------------------------------------- gradient checks (float64)

    // Inputs without ties (and with gaps well above the finite-difference step): a shuffled ramp.
    private static Tensor DistinctLeaf(Generator g, bool strided, params long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        using var keys = Tensor.Rand([n], DType.Float64, g);
        var k = keys.ToDoubleArray();
        var order = Enumerable.Range(0, (int)n).OrderBy(i => k[i]).ToArray();
        var v = new double[n];
        for (int i = 0; i < n; i++) v[order[i]] = 0.1 * i - 0.05 * n;
        if (!strided) return Tensor.FromArray(v, shape).RequiresGrad_();
        var rev = shape.Reverse().ToArray();
        int[] dims = [.. Enumerable.Range(0, shape.Length).Reverse()];
        return Tensor.FromArray(v, rev).Permute(dims).RequiresGrad_();
    }

    [Test]
    public void MaxPoolGradCheck()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        TestUtil.GradCheck(t => Functional.MaxPool2d(t[0], 2, stride: 1, padding: 1), DistinctLeaf(g, false, 2, 2, 4, 5));
        TestUtil.GradCheck(t => Functional.MaxPool2dWithIndices(t[0], [2, 3], [2, 1], [1, 1], [2, 1], ceilMode: true).Output, DistinctLeaf(g, true, 1, 2, 5, 4));
        TestUtil.GradCheck(t => Functional.MaxPool3d(t[0], 2, stride: 1), DistinctLeaf(g, false, 1, 2, 3, 3, 4));
        TestUtil.GradCheck(t => Functional.MaxPool3dWithIndices(t[0], [1, 2, 2], [1, 2, 1], [0, 1, 0], null, ceilMode: true).Output, DistinctLeaf(g, true, 2, 1, 2, 3, 4));
    }

    [Test]
    public void AvgPoolGradCheck()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        TestUtil.GradCheck(t => Functional.AvgPool2d(t[0], 3, stride: 2, padding: 1), TestUtil.Leaf(g, 2, 2, 5, 4));
        TestUtil.GradCheck(t => Functional.AvgPool2d(t[0], [2, 3], [1, 2], [1, 1], ceilMode: true, countIncludePad: false), TestUtil.StridedLeaf(g, 1, 2, 4, 5));
        TestUtil.GradCheck(t => Functional.AvgPool2d(t[0], 2, stride: 1, padding: 1, divisorOverride: 3), TestUtil.Leaf(g, 1, 1, 3, 4));
        TestUtil.GradCheck(t => Functional.AvgPool3d(t[0], 2, stride: 1, padding: 1, countIncludePad: false), TestUtil.Leaf(g, 1, 2, 2, 3, 3));
        TestUtil.GradCheck(t => Functional.AvgPool3d(t[0], 2, ceilMode: true), TestUtil.StridedLeaf(g, 2, 1, 3, 3, 2));
    }

    [Test]
    public void AdaptiveAndGlobalPoolGradCheck()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        TestUtil.GradCheck(t => Functional.AdaptiveAvgPool2d(t[0], 3, 4), TestUtil.Leaf(g, 2, 2, 5, 7));
        TestUtil.GradCheck(t => Functional.AdaptiveAvgPool2d(t[0], 4, 2), TestUtil.StridedLeaf(g, 1, 2, 3, 5));
        TestUtil.GradCheck(t => Functional.AdaptiveMaxPool2d(t[0], 2, 3), DistinctLeaf(g, false, 2, 2, 5, 7));
        TestUtil.GradCheck(t => Functional.AdaptiveMaxPool2dWithIndices(t[0], 3, 2).Output, DistinctLeaf(g, true, 1, 2, 4, 5));
        TestUtil.GradCheck(t => Functional.AdaptiveAvgPool3d(t[0], 2, 2, 3), TestUtil.Leaf(g, 1, 2, 3, 5, 4));
        TestUtil.GradCheck(t => Functional.GlobalAvgPool2d(t[0]), TestUtil.Leaf(g, 2, 3, 4, 3));
        TestUtil.GradCheck(t => Functional.GlobalAvgPool2d(t[0]), TestUtil.StridedLeaf(g, 1, 3, 4, 3));
    }

    // ---------------------------------------------------------------- bad input

    [Test]
    public void PaddingLargerThanHalfTheKernelIsAnArgumentError()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros(1, 1, 6, 6);
        var ex = Assert.Throws<ArgumentValueException>(() => Functional.MaxPool2d(x, 2, padding: 2));
        Assert.That(ex!.Message, Does.StartWith("max_pool2d:").And.Contain("padding 2").And.Contain("kernel 2"));
        var exa = Assert.Throws<ArgumentValueException>(() => Functional.AvgPool2d(x, 3, padding: 2));
        Assert.That(exa!.Message, Does.StartWith("avg_pool2d:").And.Contain("padding 2").And.Contain("kernel 3"));
        var ex3 = Assert.Throws<ArgumentValueException>(() => Functional.MaxPool3d(Tensor.Zeros(1, 1, 4, 4, 4), 3, padding: 2));
        Assert.That(ex3!.Message, Does.StartWith("max_pool3d:"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.AvgPool3d(Tensor.Zeros(1, 1, 4, 4, 4), 1, padding: 1))!.Message,
            Does.StartWith("avg_pool3d:"));
    }

    [Test]
    public void AnInputTooSmallForTheKernelIsAShapeError()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros(1, 1, 2, 2);
        var ex = Assert.Throws<ShapeException>(() => Functional.MaxPool2d(x, 3));
        Assert.That(ex!.Message, Does.StartWith("max_pool2d:").And.Contain("[1, 1, 2, 2]").And.Contain("[3, 3]"));
        var exa = Assert.Throws<ShapeException>(() => Functional.AvgPool2d(x, 3));
        Assert.That(exa!.Message, Does.StartWith("avg_pool2d:").And.Contain("[1, 1, 2, 2]").And.Contain("kernel 3"));
        var ex3 = Assert.Throws<ShapeException>(() => Functional.AvgPool3d(Tensor.Zeros(1, 1, 1, 4, 4), 2));
        Assert.That(ex3!.Message, Does.StartWith("avg_pool3d:").And.Contain("[1, 1, 1, 4, 4]"));
        // dilation enlarges the window: kernel 2 with dilation 2 spans 3 > 2
        Assert.That(Assert.Throws<ShapeException>(() => Functional.MaxPool2d(x, 2, dilation: 2))!.Message, Does.StartWith("max_pool2d:"));
    }

    [Test]
    public void WrongRankIsAShapeErrorNamingTheShape()
    {
        using var scope = Tensor.NewDisposeScope();
        var x3 = Tensor.Zeros(1, 4, 4);
        Assert.That(Assert.Throws<ShapeException>(() => Functional.MaxPool2d(x3, 2))!.Message, Does.StartWith("max_pool2d:").And.Contain("[1, 4, 4]"));
        Assert.That(Assert.Throws<ShapeException>(() => Functional.AvgPool2d(x3, 2))!.Message, Does.StartWith("avg_pool2d:").And.Contain("[1, 4, 4]"));
        Assert.That(Assert.Throws<ShapeException>(() => Functional.AdaptiveAvgPool2d(x3, 1, 1))!.Message, Does.StartWith("adaptive_avg_pool2d:").And.Contain("[1, 4, 4]"));
        Assert.That(Assert.Throws<ShapeException>(() => Functional.GlobalAvgPool2d(x3))!.Message, Does.StartWith("adaptive_avg_pool2d:"));
        var x4 = Tensor.Zeros(1, 1, 4, 4);
        Assert.That(Assert.Throws<ShapeException>(() => Functional.MaxPool3d(x4, 2))!.Message, Does.StartWith("max_pool3d:").And.Contain("[1, 1, 4, 4]"));
        Assert.That(Assert.Throws<ShapeException>(() => Functional.AdaptiveAvgPool3d(x4, 1, 1, 1))!.Message, Does.StartWith("adaptive_avg_pool3d:").And.Contain("[1, 1, 4, 4]"));
    }

    [Test]
    public void BadOptionValuesAreArgumentErrors()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros(1, 1, 4, 4);
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.AdaptiveAvgPool2d(x, 0, 2))!.Message, Does.StartWith("adaptive_avg_pool2d:"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.AdaptiveMaxPool2d(x, 2, -1))!.Message, Does.StartWith("adaptive_max_pool2d:"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.AvgPool2d(x, 2, divisorOverride: 0))!.Message, Does.StartWith("avg_pool2d:").And.Contain("divisor"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.MaxPool2d(x, 0))!.Message, Does.StartWith("max_pool2d:").And.Contain("kernel"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.MaxPool2d(x, 2, stride: 0))!.Message, Does.StartWith("max_pool2d:").And.Contain("stride"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => Functional.MaxPool2dWithIndices(x, [2, 2, 2]))!.Message, Does.StartWith("max_pool2d:").And.Contain("kernel"));
    }

    [Test]
    public void IntegerInputIsADTypeError()
    {
        using var scope = Tensor.NewDisposeScope();
        var xi = Tensor.Zeros([1, 1, 4, 4], DType.Int64);
        Assert.That(Assert.Throws<DTypeException>(() => Functional.MaxPool2d(xi, 2))!.Message, Does.StartWith("max_pool2d:").And.Contain("int64"));
        Assert.That(Assert.Throws<DTypeException>(() => Functional.AvgPool2d(xi, 2))!.Message, Does.StartWith("avg_pool2d:").And.Contain("int64"));
        Assert.That(Assert.Throws<DTypeException>(() => Functional.AdaptiveAvgPool2d(xi, 1, 1))!.Message, Does.StartWith("adaptive_avg_pool2d:").And.Contain("int64"));
        Assert.That(Assert.Throws<DTypeException>(() => Functional.AdaptiveMaxPool2d(xi, 1, 1))!.Message, Does.StartWith("adaptive_max_pool2d:").And.Contain("int64"));
        var xi3 = Tensor.Zeros([1, 1, 2, 2, 2], DType.Int64);
        Assert.That(Assert.Throws<DTypeException>(() => Functional.MaxPool3d(xi3, 2))!.Message, Does.StartWith("max_pool3d:").And.Contain("int64"));
        Assert.That(Assert.Throws<DTypeException>(() => Functional.AvgPool3d(xi3, 2))!.Message, Does.StartWith("avg_pool3d:").And.Contain("int64"));
        Assert.That(Assert.Throws<DTypeException>(() => Functional.AdaptiveAvgPool3d(xi3, 1, 1, 1))!.Message, Does.StartWith("adaptive_avg_pool3d:").And.Contain("int64"));
    }
}
