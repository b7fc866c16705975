using Engine.Kernels;
using Engine.Kernels.Fused;
using Engine.Kernels.Gpu;
using Engine.Kernels.Ptx;

namespace Engine.Tests.Gpu;

/// <summary>
/// The deformable-convolution kernels (deform_conv.ptx) on each GPU device against a naive double-precision loop
/// oracle written from torchvision's definitions (bilinear_interpolate, deformable_col2im, get_coordinate_weight) and
/// against the CPU kernels: ragged sizes, stride, padding, dilation, offset groups 1 and 2, with and without mask,
/// offsets that put sample points outside the image, exactly on its borders (-1, 0, H - 1, H) and at integer
/// positions (where the offset gradient is one-sided), float32 and float64. Also checks that col2im is the transpose
/// of im2col (⟨im2col(x), G⟩ = ⟨x, col2im(G)⟩) and that bad operands are rejected before any launch.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class DeformConvKernelTests(TestDevice dev) : DeviceTests(dev)
{
    // (N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OG, mask)
    private static readonly (int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW, int OG, bool Mask)[] Cases =
    [
        (2, 3, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, true),
        (1, 4, 6, 5, 3, 2, 2, 1, 0, 1, 1, 2, 2, false),
        (3, 2, 4, 4, 2, 2, 1, 1, 2, 2, 2, 2, 2, true),
        (1, 2, 1, 9, 1, 3, 1, 2, 0, 1, 1, 1, 1, false),
        (2, 4, 7, 3, 3, 3, 2, 2, 1, 0, 1, 1, 2, true),
        (1, 1, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, false),
        (1, 35, 3, 4, 2, 2, 1, 1, 0, 1, 1, 1, 1, true),     // per-tap channel chunks of 16, 16 and 3
        (1, 34, 3, 4, 2, 2, 1, 1, 1, 0, 1, 1, 2, false),    // 17 channels per offset group: chunks of 16 and 1
    ];

    private static DeformGeometry Geometry((int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW, int OG, bool Mask) c)
    {
        int oh = (c.H + 2 * c.PH - (c.DH * (c.KH - 1) + 1)) / c.SH + 1, ow = (c.W + 2 * c.PW - (c.DW * (c.KW - 1) + 1)) / c.SW + 1;
        return new DeformGeometry(c.N, c.C, c.H, c.W, c.KH, c.KW, oh, ow, c.SH, c.SW, c.PH, c.PW, c.DH, c.DW, c.OG, c.Mask);
    }

    /// <summary>
    /// Offsets that hit every case: a quarter integers (integer sample points: one-sided gradients), a quarter placing
    /// the point exactly on -1, 0, H - 1 or H (W likewise), a quarter far outside, the rest continuous.
    /// </summary>
    private static double[] Offsets(Random r, DeformGeometry g)
    {
        int hw = g.OutH * g.OutW;
        var o = new double[g.N * 2 * g.OffsetGroups * g.KH * g.KW * hw];
        for (int idx = 0; idx < o.Length; idx++)
        {
            int s = idx % hw, ch = idx / hw % (2 * g.OffsetGroups * g.KH * g.KW), k = ch / 2 % (g.KH * g.KW);
            bool dy = ch % 2 == 0;
            int baseCoord = dy ? s / g.OutW * g.StrideH - g.PadH + k / g.KW * g.DilationH : s % g.OutW * g.StrideW - g.PadW + k % g.KW * g.DilationW;
            int extent = dy ? g.H : g.W;
            o[idx] = r.Next(4) switch
            {
                0 => r.Next(-3, 4),
                1 => new[] { -1, 0, extent - 1, extent }[r.Next(4)] - baseCoord,
                2 => (r.NextDouble() < 0.5 ? -1 : 1) * (extent + 1 + 3 * r.NextDouble()),
                _ => 2.5 * (r.NextDouble() * 2 - 1),
            };
        }
        return o;
    }

    private static double[] Uniform(Random r, long n, double lo, double hi)
    {
        var a = new double[n];
        for (long i = 0; i < n; i++) a[i] = lo + (hi - lo) * r.NextDouble();
        return a;
    }

    /// <summary>The operands of one case, rounded to the dtype (the oracle sees the rounded values).</summary>
    private sealed record Operands(DeformGeometry G, double[] X, double[] Offset, double[]? Mask, double[] GradCols);

    private static Operands Make(Random r, DeformGeometry g, DType dt)
    {
        double[] Round(double[] a) => dt == DType.Float32 ? [.. a.Select(v => (double)(float)v)] : a;
        long cols = (long)g.C * g.KH * g.KW * g.N * g.OutH * g.OutW;
        return new Operands(g, Round(Uniform(r, (long)g.N * g.C * g.H * g.W, -2, 2)), Round(Offsets(r, g)),
            g.HasMask ? Round(Uniform(r, (long)g.N * g.OffsetGroups * g.KH * g.KW * g.OutH * g.OutW, -0.5, 1.5)) : null,
            Round(Uniform(r, cols, -1, 1)));
    }

    // ---------------------------------------------------------------- the oracle (torchvision's definitions, doubles)

    private static double At(double[] x, DeformGeometry g, int n, int c, int y, int xx) =>
        y >= 0 && y < g.H && xx >= 0 && xx < g.W ? x[((n * g.C + c) * g.H + y) * g.W + xx] : 0;

    private static double Bilinear(double[] x, DeformGeometry g, int n, int c, double py, double px)
    {
        if (py <= -1 || py >= g.H || px <= -1 || px >= g.W) return 0;
        int yl = (int)Math.Floor(py), xl = (int)Math.Floor(px);
        double lh = py - yl, lw = px - xl;
        return (1 - lh) * (1 - lw) * At(x, g, n, c, yl, xl) + (1 - lh) * lw * At(x, g, n, c, yl, xl + 1)
            + lh * (1 - lw) * At(x, g, n, c, yl + 1, xl) + lh * lw * At(x, g, n, c, yl + 1, xl + 1);
    }

    private static double CoordinateWeight(double[] x, DeformGeometry g, int n, int c, double py, double px, bool yDirection)
    {
        int yl = (int)Math.Floor(py), xl = (int)Math.Floor(px);
        double a = At(x, g, n, c, yl, xl), b = At(x, g, n, c, yl, xl + 1), cc = At(x, g, n, c, yl + 1, xl), e = At(x, g, n, c, yl + 1, xl + 1);
        return yDirection ? (px - xl) * (e - b) + (1 - (px - xl)) * (cc - a) : (py - yl) * (e - cc) + (1 - (py - yl)) * (b - a);
    }

    /// <summary>Calls f(n, c, k, i, j, column index, py, px, mask) for every column element.</summary>
    private static void ForEachSample(Operands o, Action<int, int, int, int, long, double, double, double> f)
    {
        var g = o.G;
        int kk = g.KH * g.KW, hw = g.OutH * g.OutW, cpg = g.C / g.OffsetGroups;
        long ncols = (long)g.N * hw;
        for (int c = 0; c < g.C; c++)
            for (int k = 0; k < kk; k++)
                for (int n = 0; n < g.N; n++)
                    for (int s = 0; s < hw; s++)
                    {
                        int grp = c / cpg, y = s / g.OutW, x = s % g.OutW, i = k / g.KW, j = k % g.KW;
                        int tap = (n * g.OffsetGroups + grp) * kk + k;
                        double py = y * g.StrideH - g.PadH + i * g.DilationH + o.Offset[(2 * tap) * hw + s];
                        double px = x * g.StrideW - g.PadW + j * g.DilationW + o.Offset[(2 * tap + 1) * hw + s];
                        double m = o.Mask is null ? 1 : o.Mask[tap * hw + s];
                        f(n, c, k, tap * hw + s, (c * kk + k) * ncols + n * hw + s, py, px, m);
                    }
    }

    private static double[] OracleIm2Col(Operands o)
    {
        var cols = new double[o.GradCols.Length];
        ForEachSample(o, (n, c, _, _, col, py, px, m) => cols[col] = m * Bilinear(o.X, o.G, n, c, py, px));
        return cols;
    }

    private static double[] OracleCol2Im(Operands o)
    {
        var g = o.G;
        var gx = new double[o.X.Length];
        ForEachSample(o, (n, c, _, _, col, py, px, m) =>
        {
            if (py <= -1 || py >= g.H || px <= -1 || px >= g.W) return;
            int yl = (int)Math.Floor(py), xl = (int)Math.Floor(px);
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                {
                    int y = yl + dy, x = xl + dx;
                    if (y < 0 || y >= g.H || x < 0 || x >= g.W) continue;
                    double w = (dy == 1 ? py - yl : 1 - (py - yl)) * (dx == 1 ? px - xl : 1 - (px - xl));
                    gx[((n * g.C + c) * g.H + y) * g.W + x] += w * m * o.GradCols[col];
                }
        });
        return gx;
    }

    private static (double[] Offset, double[]? Mask) OracleCoord(Operands o)
    {
        var g = o.G;
        int hw = g.OutH * g.OutW;
        var go = new double[o.Offset.Length];
        var gm = o.Mask is null ? null : new double[o.Mask.Length];
        ForEachSample(o, (n, c, _, tapS, col, py, px, m) =>
        {
            int tap = tapS / hw, s = tapS % hw;
            double gc = o.GradCols[col];
            go[2 * tap * hw + s] += m * gc * CoordinateWeight(o.X, g, n, c, py, px, true);
            go[(2 * tap + 1) * hw + s] += m * gc * CoordinateWeight(o.X, g, n, c, py, px, false);
            if (gm is not null) gm[tapS] += gc * Bilinear(o.X, g, n, c, py, px);
        });
        return (go, gm);
    }

    // ---------------------------------------------------------------- running the ops

    private sealed record Results(double[] Columns, double[] GradX, double[] GradOffset, double[]? GradMask, long Launches);

    private static Results Run(Operands o, DType dt, Device device)
    {
        var g = o.G;
        using var scope = Tensor.NewDisposeScope();
        Tensor T(double[] a, params long[] shape) => Tensor.FromArray(a, shape).To(dt).To(device);
        var x = T(o.X, g.N, g.C, g.H, g.W);
        var off = T(o.Offset, g.N, 2 * g.OffsetGroups * g.KH * g.KW, g.OutH, g.OutW);
        var mask = o.Mask is null ? null : T(o.Mask, g.N, g.OffsetGroups * g.KH * g.KW, g.OutH, g.OutW);
        long rows = (long)g.C * g.KH * g.KW, ncols = (long)g.N * g.OutH * g.OutW;
        var gcols = T(o.GradCols, rows, ncols);
        var cols = Tensor.Empty([rows, ncols], dt, device, op: "test");
        var gx = Tensor.Zeros([g.N, g.C, g.H, g.W], dt, device);
        var goff = Tensor.Empty(off.ShapeSpan, dt, device, op: "test");
        var gmask = mask is null ? null : Tensor.Empty(mask.ShapeSpan, dt, device, op: "test");
        var backend = Backends.For(device);
        long launches = (backend as GpuBackend)?.PtxLaunches ?? 0;
        FusedOps.DeformIm2Col.Run(backend, new DeformIm2ColArgs(cols.View("test"), x.View("test"), off.View("test"), mask?.View("test"), g));
        FusedOps.DeformCol2Im.Run(backend, new DeformCol2ImArgs(gx.View("test"), gcols.View("test"), off.View("test"), mask?.View("test"), g));
        FusedOps.DeformCol2ImCoord.Run(backend, new DeformCol2ImCoordArgs(goff.View("test"), gmask?.View("test"), gcols.View("test"),
            x.View("test"), off.View("test"), mask?.View("test"), g));
        launches = ((backend as GpuBackend)?.PtxLaunches ?? 0) - launches;
        return new Results(cols.ToDoubleArray(), gx.ToDoubleArray(), goff.ToDoubleArray(), gmask?.ToDoubleArray(), launches);
    }

    private static void AssertClose(double[] actual, double[] expected, double tol, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= tol * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R} (tolerance {tol} relative)");
    }

    [Test]
    public void KernelsMatchTheOracleAndTheCpu([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var r = TestUtil.Rng();
        double tol = dt == DType.Float32 ? 1e-5 : 1e-12;
        long fallbacks = Gpu.CpuFallbacks;
        var old = Gpu.DeformKernels;
        try
        {
            foreach (var c in Cases)
            {
                var g = Geometry(c);
                var o = Make(r, g, dt);
                var cols = OracleIm2Col(o);
                var gx = OracleCol2Im(o);
                var (go, gm) = OracleCoord(o);
                var cpu = Run(o, dt, Engine.Device.Cpu);
                Results? simple = null;
                foreach (var kernels in new[] { DeformKernels.Simple, DeformKernels.PerTap })
                {
                    Gpu.DeformKernels = kernels;
                    string what = $"{kernels} kernels, {dt.Name()} {g}";
                    var dev = Run(o, dt, Device);
                    Assert.That(dev.Launches, Is.EqualTo(3), $"one PTX launch per kernel, {what}");
                    AssertClose(dev.Columns, cols, tol, $"im2col, {what}");
                    AssertClose(dev.GradX, gx, tol, $"col2im, {what}");
                    AssertClose(dev.GradOffset, go, tol, $"offset gradient, {what}");
                    if (gm is not null) AssertClose(dev.GradMask!, gm, tol, $"mask gradient, {what}");

                    AssertClose(dev.Columns, cpu.Columns, tol, $"im2col vs CPU, {what}");
                    AssertClose(dev.GradX, cpu.GradX, tol, $"col2im vs CPU, {what}");
                    AssertClose(dev.GradOffset, cpu.GradOffset, tol, $"offset gradient vs CPU, {what}");
                    if (gm is not null) AssertClose(dev.GradMask!, cpu.GradMask!, tol, $"mask gradient vs CPU, {what}");

                    // col2im is the transpose of im2col: <im2col(x), G> = <x, col2im(G)>
                    double lhs = 0, rhs = 0;
                    for (int i = 0; i < dev.Columns.Length; i++) lhs += dev.Columns[i] * o.GradCols[i];
                    for (int i = 0; i < o.X.Length; i++) rhs += o.X[i] * dev.GradX[i];
                    Assert.That(rhs, Is.EqualTo(lhs).Within(tol * 10 * (1 + Math.Abs(lhs))), $"adjoint, {what}");

                    // the per-tap kernels compute the same expressions in the same order: equal bits (col2im sums
                    // with atomics in another order, so it is only close)
                    if (simple is null) simple = dev;
                    else
                    {
                        Assert.That(dev.Columns, Is.EqualTo(simple.Columns), $"per-tap im2col equals the simple one, {what}");
                        Assert.That(dev.GradOffset, Is.EqualTo(simple.GradOffset), $"per-tap offset gradient equals the simple one, {what}");
                        if (gm is not null) Assert.That(dev.GradMask, Is.EqualTo(simple.GradMask), $"per-tap mask gradient equals the simple one, {what}");
                    }
                }
            }
        }
        finally { Gpu.DeformKernels = old; }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "nothing fell back to the CPU");
    }

    [Test]
    public void MaskGradientIsOptionalAndEmptyBatchesLaunchNothing()
    {
        var r = TestUtil.Rng();
        var g = Geometry(Cases[0]);
        var o = Make(r, g, DType.Float64);
        using var scope = Tensor.NewDisposeScope();
        Tensor T(double[] a, params long[] shape) => Tensor.FromArray(a, shape).To(Device);
        var x = T(o.X, g.N, g.C, g.H, g.W);
        var off = T(o.Offset, g.N, 2 * g.KH * g.KW, g.OutH, g.OutW);
        var mask = T(o.Mask!, g.N, g.KH * g.KW, g.OutH, g.OutW);
        var gcols = T(o.GradCols, g.C * g.KH * g.KW, g.N * g.OutH * g.OutW);
        var goff = Tensor.Empty(off.ShapeSpan, DType.Float64, Device, op: "test");
        FusedOps.DeformCol2ImCoord.Run(Gpu, new DeformCol2ImCoordArgs(goff.View("test"), null, gcols.View("test"), x.View("test"),
            off.View("test"), mask.View("test"), g));
        AssertClose(goff.ToDoubleArray(), OracleCoord(o).Offset, 1e-12, "offset gradient without the mask gradient");

        var empty = g with { N = 0 };
        long launches = Gpu.PtxLaunches;
        var e = Tensor.Empty([0, g.C, g.H, g.W], DType.Float64, Device, op: "test");
        var eo = Tensor.Empty([0, 2 * g.KH * g.KW, g.OutH, g.OutW], DType.Float64, Device, op: "test");
        var em = Tensor.Empty([0, g.KH * g.KW, g.OutH, g.OutW], DType.Float64, Device, op: "test");
        var ec = Tensor.Empty([g.C * g.KH * g.KW, 0], DType.Float64, Device, op: "test");
        FusedOps.DeformIm2Col.Run(Gpu, new DeformIm2ColArgs(ec.View("test"), e.View("test"), eo.View("test"), em.View("test"), empty));
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches), "an empty batch launches nothing");
    }

    [Test]
    public void BadOperandsAreRejectedBeforeAnyLaunch()
    {
        var g = Geometry(Cases[1]);   // no mask, two offset groups
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Zeros([g.N, g.C, g.H, g.W], DType.Float32, Device);
        var off = Tensor.Zeros([g.N, 2 * 2 * g.KH * g.KW, g.OutH, g.OutW], DType.Float32, Device);
        var cols = Tensor.Zeros([g.C * g.KH * g.KW, g.N * g.OutH * g.OutW], DType.Float32, Device);
        void Im2Col(Tensor c, Tensor i, Tensor o, Tensor? m, DeformGeometry geo) =>
            FusedOps.DeformIm2Col.Run(Gpu, new DeformIm2ColArgs(c.View("test"), i.View("test"), o.View("test"), m?.View("test"), geo));
        Tensor x64 = x.To(DType.Float64), ci = cols.To(DType.Int32), xi = x.To(DType.Int32), oi = off.To(DType.Int32);
        Tensor oneGroup = off.Narrow(1, 0, 2 * g.KH * g.KW), strided = x.Transpose(2, 3);
        long launches = Gpu.PtxLaunches;
        Assert.Throws<DTypeException>(() => Im2Col(cols, x64, off, null, g), "mixed dtypes");
        Assert.Throws<DTypeException>(() => Im2Col(ci, xi, oi, null, g), "int32");
        Assert.Throws<ShapeException>(() => Im2Col(cols, x, oneGroup, null, g), "offsets of one group for two");
        Assert.Throws<ShapeException>(() => Im2Col(cols, strided, off, null, g), "strided input");
        Assert.Throws<ArgumentValueException>(() => Im2Col(cols, x, off, null, g with { OffsetGroups = 3 }), "4 channels in 3 groups");
        Assert.Throws<ArgumentValueException>(() => Im2Col(cols, x, off, null, g with { HasMask = true }), "mask promised, none given");
        Assert.Throws<ArgumentValueException>(() => Im2Col(cols, x, off, null, g with { StrideH = 0 }), "zero stride");
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches), "nothing launched");
    }

    // ---------------------------------------------------------------- the whole op (Functional.DeformConv2d)

    /// <summary>Offsets mixing integers (one-sided gradients), fractions and points outside the image.</summary>
    private static Tensor MixedOffsets(Random r, long[] shape)
    {
        var a = new double[shape.Aggregate(1L, (x, y) => x * y)];
        for (int i = 0; i < a.Length; i++) a[i] = r.Next(3) == 0 ? r.Next(-3, 4) : 6 * r.NextDouble() - 3;
        return Tensor.FromArray(a, shape);
    }

    [Test]
    public void DeformConv2dForwardAndEveryGradientMatchTheCpu([Values(DType.Float32, DType.Float64)] DType dt)
    {
        var r = TestUtil.Rng();
        var g = TestUtil.Gen();
        double tol = dt == DType.Float32 ? 1e-4 : 1e-11;
        // (N, C, H, W, O, weight groups, offset groups, KH, KW, stride, pad, dilation, mask)
        foreach (var (n, c, h, w, o, groups, og, kh, kw, st, pad, dil, withMask) in new[]
                 {
                     (2, 4, 6, 5, 6, 2, 2, 3, 3, 1, 1, 1, true),
                     (1, 4, 7, 6, 4, 1, 2, 3, 2, 2, 1, 2, false),
                     (2, 2, 5, 5, 3, 1, 1, 2, 2, 1, 0, 1, true),
                 })
        {
            using var scope = Tensor.NewDisposeScope();
            int oh = (h + 2 * pad - dil * (kh - 1) - 1) / st + 1, ow = (w + 2 * pad - dil * (kw - 1) - 1) / st + 1;
            Tensor[] cpu =
            [
                Tensor.Randn([n, c, h, w], DType.Float64, g).To(dt),
                MixedOffsets(r, [n, 2 * og * kh * kw, oh, ow]).To(dt),
                Tensor.Randn([o, c / groups, kh, kw], DType.Float64, g).To(dt),
                Tensor.Randn([o], DType.Float64, g).To(dt),
                Tensor.Rand([n, og * kh * kw, oh, ow], DType.Float64, g).To(dt),
            ];
            var upstream = Tensor.Randn([n, o, oh, ow], DType.Float64, g).To(dt);
            Tensor[] Run(Device d)
            {
                var t = cpu.Select(a => a.To(d).Detach().RequiresGrad_()).ToArray();
                var y = Functional.DeformConv2d(t[0], t[1], t[2], t[3], st, pad, dil, withMask ? t[4] : null);
                y.Mul(upstream.To(d)).Sum().Backward();
                return [y, .. t.Take(withMask ? 5 : 4).Select(a => a.Grad!)];
            }
            long launches = Gpu.PtxLaunches;
            var onDev = Run(Device);
            Assert.That(Gpu.PtxLaunches - launches, Is.GreaterThanOrEqualTo(3), "the deformable kernels ran as PTX");
            var onCpu = Run(Engine.Device.Cpu);
            string[] names = ["output", "input gradient", "offset gradient", "weight gradient", "bias gradient", "mask gradient"];
            for (int i = 0; i < onCpu.Length; i++)
            {
                Assert.That(onDev[i].Device, Is.EqualTo(Device), names[i]);
                AssertClose(onDev[i].ToDoubleArray(), onCpu[i].ToDoubleArray(), tol, $"{names[i]}, {dt.Name()} case N={n} C={c} {h}x{w} O={o} groups={groups} og={og} k={kh}x{kw} s={st} p={pad} d={dil} mask={withMask}");
            }
        }
    }

    [Test]
    public void DeformConv2dGradCheckOnTheDevice()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        // fractional offsets 0.1..0.9 past a pixel (no kink within the finite-difference step), some points outside
        var whole = Tensor.RandInt(-3, 4, [1, 2 * 2 * 4, 3, 3], DType.Int64, g).To(DType.Float64);
        var off = whole.Add(Tensor.Rand(whole.ShapeSpan.ToArray(), DType.Float64, g).Mul(0.8).Add(0.1)).To(Device).RequiresGrad_();
        var x = Tensor.Randn([1, 2, 4, 4], DType.Float64, g).To(Device).RequiresGrad_();
        var w = Tensor.Randn([2, 2, 2, 2], DType.Float64, g).To(Device).RequiresGrad_();
        var b = Tensor.Randn([2], DType.Float64, g).To(Device).RequiresGrad_();
        var m = Tensor.Rand([1, 2 * 4, 3, 3], DType.Float64, g).To(Device).RequiresGrad_();
        TestUtil.GradCheck(t => Functional.DeformConv2d(t[0], t[1], t[2], t[3], 1, 0, 1, t[4]), x, off, w, b, m);
    }

    /// <summary>
    /// What the per-tap kernels are for, counted on the emulator (instructions are deterministic): at C = 32, 16×16,
    /// 3×3, pad 1, one offset group and a mask, per column element: im2col 68.8 → 31.4, col2im 125.3 → 26.0,
    /// col2im_coord 63.2 → 38.2 PTX instructions, simple → per-tap (the figures in deform_conv.ptx's header).
    /// </summary>
    [Test]
    public void PerTapKernelsExecuteFewerInstructions()
    {
        if (Dev.IsCuda) Assert.Ignore("instruction counts come from the emulator");
        const int n = 1, c = 32, h = 16, w = 16, k = 3, p = n * h * w, e = c * k * k * p;
        var r = TestUtil.Rng();
        float[] Rand(int len, double scale) => [.. Uniform(r, len, -scale, scale).Select(v => (float)v)];
        var module = PtxModule.Load(EmbeddedPtx.Text("deform_conv"));
        using var emu = new EmulatedDevice();
        var x = emu.Alloc(Rand(n * c * h * w, 1));
        var off = emu.Alloc(Rand(2 * k * k * p, 2));
        var mask = emu.Alloc(Rand(k * k * p, 1));
        var cols = emu.Alloc(Rand(e, 1));
        var gx = emu.Alloc(n * c * h * w * 4L);
        var goff = emu.Alloc(2 * k * k * p * 4L);
        var gmask = emu.Alloc(k * k * p * 4L);
        object[] sizes = [n, c, h, w, k, k, h, w, 1, 1, 1, 1, 1, 1, 1];
        double PerElement(string kernel, Dim3 grid, object[] pointers, params object[] extra) =>
            (double)emu.Launch(module, kernel, grid, 256, 0, [.. pointers, .. sizes, .. extra]).InstructionsExecuted / e;
        var rows = new (string Name, double Simple, double PerTap)[]
        {
            ("im2col", PerElement("deform_im2col_f32", c * p / 256, [cols, x, off, mask]),
                PerElement("deform_im2col_tap_f32", (p / 256, k * k, c / 16), [cols, x, off, mask], 16)),
            ("col2im", PerElement("deform_col2im_f32", e / 256, [gx, cols, off, mask]),
                PerElement("deform_col2im_tap_f32", (p / 256, k * k, c / 16), [gx, cols, off, mask], 16)),
            ("col2im_coord", PerElement("deform_col2im_coord_f32", 2 * k * k * p / 256, [goff, gmask, cols, x, off, mask]),
                PerElement("deform_col2im_coord_tap_f32", (p / 256, k * k, 1), [goff, gmask, cols, x, off, mask])),
        };
        foreach (var (name, simple, perTap) in rows)
        {
            TestContext.Out.WriteLine($"{name}: {simple:F1} instructions per column element simple, {perTap:F1} per-tap");
            // col2im_coord: the simple kernel's two threads per tap each see a column element once, the per-tap one adds
            // the mask sum to both directions in one pass; the others save the per-element sample-point work
            Assert.That(perTap, Is.LessThan(simple * (name == "col2im_coord" ? 0.7 : 0.5)), name);
        }
    }
}
