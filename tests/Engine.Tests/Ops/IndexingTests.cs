namespace Engine.Tests.Ops;

public class IndexingTests
{
    private static Tensor Idx(long[] v, params long[] shape) => Tensor.FromArray(v, shape.Length == 0 ? [v.Length] : shape);

    private static Tensor Mat(long rows, long cols, params double[] v) => Tensor.FromArray(v, rows, cols);

    /// <summary>Random int64 indices in [0, size) with the given shape (repeats are likely).</summary>
    private static (Tensor T, long[] V) RandIndex(Generator g, long size, long[] shape, Layout layout = Layout.Contiguous)
    {
        var v = Tensor.RandInt(0, size, shape, DType.Int64, g).ToArray<long>();
        return (OpsUtil.Make(v.Select(x => (double)x).ToArray(), shape, layout, DType.Int64), v);
    }

    private static long[] With(long[] idx, int d, long value)
    {
        var r = (long[])idx.Clone();
        r[d] = value;
        return r;
    }

    // ---- cat / stack / split / chunk -----------------------------------------------------------------------

    private static double[] CatOracle(List<(double[] V, long[] S)> parts, int d, out long[] shape)
    {
        shape = (long[])parts[0].S.Clone();
        shape[d] = parts.Sum(p => p.S[d]);
        var r = new double[OpsUtil.NumEl(shape)];
        for (long e = 0; e < r.Length; e++)
        {
            var idx = OpsUtil.Unravel(e, shape);
            long at = idx[d];
            int i = 0;
            while (at >= parts[i].S[d]) { at -= parts[i].S[d]; i++; }
            r[e] = parts[i].V[OpsUtil.Ravel(With(idx, d, at), parts[i].S)];
        }
        return r;
    }

    [Test]
    public void CatAndStackMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var a = Mat(2, 2, 1, 2, 3, 4);
        var b = Mat(1, 2, 5, 6);
        var c0 = Tensor.Cat([a, b], 0);
        Assert.That(c0.Shape, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(c0.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3, 4, 5, 6 }));
        var c1 = Tensor.Cat([a, b.T, a.T], -1);
        Assert.That(c1.Shape, Is.EqualTo(new long[] { 2, 5 }));
        Assert.That(c1.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 5, 1, 3, 3, 4, 6, 2, 4 }));
        var s0 = Tensor.Stack([a, a.T], 0);
        Assert.That(s0.Shape, Is.EqualTo(new long[] { 2, 2, 2 }));
        Assert.That(s0.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3, 4, 1, 3, 2, 4 }));
        var s2 = Tensor.Stack([a, a.T], -1);
        Assert.That(s2.Shape, Is.EqualTo(new long[] { 2, 2, 2 }));
        Assert.That(s2.ToArray<double>(), Is.EqualTo(new double[] { 1, 1, 2, 3, 3, 2, 4, 4 }));
        Assert.Throws<ShapeException>(() => Tensor.Cat([a, Mat(2, 3, 1, 2, 3, 4, 5, 6)], 0));
        Assert.Throws<ShapeException>(() => Tensor.Stack([a, b]));
    }

    [Test]
    public void CatAndStackMatchOracleOnRandomStridedInputs()
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 12; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 1, 4, 4);
            int d = OpsUtil.Int(g, 0, shape.Length);
            int count = OpsUtil.Int(g, 1, 5);
            var dt = new[] { DType.Float64, DType.Float32, DType.Int64 }[trial % 3];
            var parts = new List<(double[] V, long[] S)>();
            var tensors = new List<Tensor>();
            for (int i = 0; i < count; i++)
            {
                var s = (long[])shape.Clone();
                s[d] = OpsUtil.Int(g, 0, 4);
                var v = OpsUtil.Randn(g, OpsUtil.NumEl(s)).Select(x => dt == DType.Int64 ? Math.Round(10 * x) : x).ToArray();
                if (dt == DType.Float32) v = OpsUtil.ToFloat32(v);
                parts.Add((v, s));
                tensors.Add(OpsUtil.Make(v, s, OpsUtil.RandLayout(g), dt));
            }
            var expected = CatOracle(parts, d, out var outShape);
            var c = Tensor.Cat(tensors, g.NextDouble() < 0.5 ? d : d - shape.Length);
            Assert.That(c.DType, Is.EqualTo(dt));
            OpsUtil.AssertTensor(c, outShape, expected, 0, 0, $"cat dim {d} of {count}");

            // stack == cat of unsqueezed
            int sd = OpsUtil.Int(g, 0, shape.Length + 1);
            var same = Enumerable.Range(0, count).Select(_ => OpsUtil.Input(g, shape, OpsUtil.RandLayout(g))).ToList();
            var st = Tensor.Stack(same.Select(p => p.T).ToList(), sd);
            var unsq = same.Select(p => (p.V, shape.Take(sd).Append(1L).Concat(shape.Skip(sd)).ToArray())).ToList();
            var es = CatOracle(unsq, sd, out var stShape);
            OpsUtil.AssertTensor(st, stShape, es, 0, 0, $"stack dim {sd} of {count}");
        }
    }

    [Test]
    public void SplitAndChunkReturnViewsWithTheRightValues()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        long[] shape = [3, 7, 2];
        var (x, v) = OpsUtil.Input(g, shape, Layout.Permuted);
        var parts = x.Split(3, 1);
        Assert.That(parts.Select(p => p.Size(1)), Is.EqualTo(new long[] { 3, 3, 1 }));
        var back = CatOracle(parts.Select(p => (p.ToDoubleArray(), p.Shape)).ToList(), 1, out var s);
        OpsUtil.AssertTensor(x, s, back, 0, 0, "split pieces re-joined");
        var sized = x.Split([2, 0, 5], 1);
        Assert.That(sized.Select(p => p.Size(1)), Is.EqualTo(new long[] { 2, 0, 5 }));
        OpsUtil.AssertAllClose(sized[2].ToDoubleArray(), x.Narrow(1, 2, 5).ToDoubleArray(), 0, 0, "sized split");
        var chunks = x.Chunk(3, 1);
        Assert.That(chunks.Select(p => p.Size(1)), Is.EqualTo(new long[] { 3, 3, 1 }));
        var c4 = x.Chunk(4, -1);
        Assert.That(c4.Select(p => p.Size(-1)), Is.EqualTo(new long[] { 1, 1 }), "fewer chunks than asked, as PyTorch");
        OpsUtil.AssertAllClose(chunks[1].ToDoubleArray(),
            Enumerable.Range(0, 3).SelectMany(i => Enumerable.Range(3, 3).SelectMany(j => Enumerable.Range(0, 2).Select(k => v[(i * 7 + j) * 2 + k]))).ToArray(), 0, 0, "chunk values");
        Assert.Throws<ShapeException>(() => x.Split([2, 2], 1));
    }

    [Test]
    public void CatStackGradCheck([Values] Layout layout)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var a = OpsUtil.Leaf(g, [2, 3, 2], layout);
        var b = OpsUtil.Leaf(g, [2, 1, 2], Layout.Contiguous);
        var c = OpsUtil.Leaf(g, [2, 2, 2], layout == Layout.Sliced ? Layout.Permuted : Layout.Sliced);
        TestUtil.GradCheck(t => Tensor.Cat([t[0], t[1], t[2]], 1), a, b, c);
        TestUtil.GradCheck(t => Tensor.Cat([t[0], t[1].Mul(t[1]), t[0]], -2), a, b);
        TestUtil.GradCheck(t => Tensor.Cat([t[0], t[0].Exp()], 0), a);
        TestUtil.GradCheck(t => Tensor.Cat([t[0].Narrow(1, 0, 2), t[1]], 2), a, c);
        foreach (int dim in new[] { 0, 1, 2, 3, -1 })
            TestUtil.GradCheck(t => Tensor.Stack([t[0], t[0].Square(), t[0].Permute(0, 2, 1)], dim), c);
    }

    [Test]
    public void SplitAndChunkGradCheckThroughFunctionsOfThePieces([Values] Layout layout)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = OpsUtil.Leaf(g, [3, 5], layout);
        TestUtil.GradCheck(t =>
        {
            var p = t[0].Split(2, 1); // sizes 2, 2, 1
            return Tensor.Cat([p[2].Mul(2.0), p[0].Exp(), p[1].Mul(p[0])], 1);
        }, x);
        TestUtil.GradCheck(t =>
        {
            var p = t[0].Split([1, 2], 0);
            return p[1].Mul(p[0]).Sum(0).Add(p[0].Square().Sum(0));
        }, x);
        TestUtil.GradCheck(t =>
        {
            var p = t[0].Chunk(3, -1); // sizes 2, 2, 1
            return p[0].Mul(p[1]).Add(p[2]);
        }, x);
        // only one piece used: the others get zero gradient
        TestUtil.GradCheck(t => t[0].Chunk(2, 0)[1].Tanh(), x);
        x.Chunk(2, 0)[1].Sum().Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1 }));
    }

    // ---- gather / scatter_add / index_select ---------------------------------------------------------------------

    [Test]
    public void GatherScatterAddIndexSelectMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var t = Mat(2, 2, 1, 2, 3, 4);
        Assert.That(t.Gather(1, Idx([0, 0, 1, 0], 2, 2)).ToArray<double>(), Is.EqualTo(new double[] { 1, 1, 4, 3 }));
        Assert.That(t.Gather(0, Idx([1, 0], 1, 2)).ToArray<double>(), Is.EqualTo(new double[] { 3, 2 }));
        Assert.That(t.Gather(0, Idx([1, 0], 1, 2)).Shape, Is.EqualTo(new long[] { 1, 2 }));

        var self = Tensor.Zeros([3, 5], DType.Float64);
        var index = Idx([0, 1, 2, 0, 0, 2, 0, 0, 1, 2], 2, 5);
        var r = self.ScatterAdd(0, index, Tensor.Ones([2, 5], DType.Float64));
        Assert.That(r.ToArray<double>(), Is.EqualTo(new double[] { 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 }));
        Assert.That(self.ToArray<double>(), Is.All.Zero, "scatter_add does not modify its input");
        var rep = Tensor.FromArray(new double[] { 10, 20, 30 }).ScatterAdd(0, Idx([1, 1, 0, 1]), Tensor.FromArray(new double[] { 1, 2, 3, 4 }));
        Assert.That(rep.ToArray<double>(), Is.EqualTo(new double[] { 13, 27, 30 }), "repeated indices accumulate");

        var m = Mat(3, 2, 1, 2, 3, 4, 5, 6);
        Assert.That(m.IndexSelect(0, Idx([2, 0, 2])).ToArray<double>(), Is.EqualTo(new double[] { 5, 6, 1, 2, 5, 6 }));
        Assert.That(m.IndexSelect(1, Idx([1])).ToArray<double>(), Is.EqualTo(new double[] { 2, 4, 6 }));
        Assert.That(m.IndexSelect(1, Idx([1])).Shape, Is.EqualTo(new long[] { 3, 1 }));
    }

    [Test]
    public void IndexOpsRejectBadIndices()
    {
        using var scope = Tensor.NewDisposeScope();
        var t = Mat(2, 2, 1, 2, 3, 4);
        Assert.Throws<IndexException>(() => t.Gather(1, Idx([0, 2, 1, 0], 2, 2)));
        Assert.Throws<IndexException>(() => t.Gather(1, Idx([0, -1, 1, 0], 2, 2)));
        Assert.Throws<IndexException>(() => t.IndexSelect(0, Idx([2])));
        Assert.Throws<IndexException>(() => t.ScatterAdd(0, Idx([0, 3], 1, 2), Mat(1, 2, 1, 1)));
        Assert.Throws<DTypeException>(() => t.IndexSelect(0, Tensor.FromArray(new[] { 0, 1 })));
        Assert.Throws<ShapeException>(() => t.Gather(1, Idx([0, 1])));
        Assert.That(t.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void GatherMatchesOracle()
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 12; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 1, 4, 4);
            int d = OpsUtil.Int(g, 0, shape.Length);
            var ishape = shape.Select((s, i) => i == d ? OpsUtil.Int(g, 1, 6) : (long)OpsUtil.Int(g, 1, (int)s + 1)).ToArray();
            var (x, v) = OpsUtil.Input(g, shape, OpsUtil.RandLayout(g));
            var (index, iv) = RandIndex(g, shape[d], ishape, OpsUtil.RandLayout(g));
            var expected = new double[iv.Length];
            for (long e = 0; e < iv.Length; e++)
            {
                var idx = OpsUtil.Unravel(e, ishape);
                expected[e] = v[OpsUtil.Ravel(With(idx, d, iv[e]), shape)];
            }
            OpsUtil.AssertTensor(x.Gather(g.NextDouble() < 0.5 ? d : d - shape.Length, index), ishape, expected, 0, 0, $"gather dim {d}");
        }
    }

    [Test]
    public void ScatterAddMatchesOracle()
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 12; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 1, 4, 4);
            int d = OpsUtil.Int(g, 0, shape.Length);
            var ishape = shape.Select((s, i) => i == d ? OpsUtil.Int(g, 1, 6) : (long)OpsUtil.Int(g, 1, (int)s + 1)).ToArray();
            var dt = trial % 2 == 0 ? DType.Float64 : DType.Int64;
            var v = OpsUtil.Randn(g, OpsUtil.NumEl(shape));
            var sv = OpsUtil.Randn(g, OpsUtil.NumEl(ishape));
            if (dt == DType.Int64) { v = v.Select(z => Math.Round(z * 100)).ToArray(); sv = sv.Select(z => Math.Round(z * 100)).ToArray(); }
            var x = OpsUtil.Make(v, shape, OpsUtil.RandLayout(g), dt);
            var src = OpsUtil.Make(sv, ishape, OpsUtil.RandLayout(g), dt);
            var (index, iv) = RandIndex(g, shape[d], ishape, OpsUtil.RandLayout(g));
            var expected = (double[])v.Clone();
            for (long e = 0; e < iv.Length; e++)
                expected[OpsUtil.Ravel(With(OpsUtil.Unravel(e, ishape), d, iv[e]), shape)] += sv[e];
            OpsUtil.AssertTensor(x.ScatterAdd(d, index, src), shape, expected, 1e-14, 1e-14, $"scatter_add dim {d} {dt}");
            OpsUtil.AssertTensor(x, shape, v, 0, 0, "input unchanged");
        }
    }

    [Test]
    public void IndexSelectMatchesOracle()
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 12; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 1, 4, 4);
            int d = OpsUtil.Int(g, 0, shape.Length);
            var dt = new[] { DType.Float64, DType.Float32, DType.Int64, DType.Int32 }[trial % 4];
            // values exactly representable in every dtype tested
            var v = OpsUtil.Randn(g, OpsUtil.NumEl(shape)).Select(z => dt is DType.Int64 or DType.Int32 ? Math.Round(z * 1000) : Math.Round(z * 1000) / 8).ToArray();
            var x = OpsUtil.Make(v, shape, OpsUtil.RandLayout(g), dt);
            long n = OpsUtil.Int(g, 1, 7);
            var (index, iv) = RandIndex(g, shape[d], [n], trial % 3 == 0 ? Layout.Sliced : Layout.Contiguous);
            var outShape = With(shape, d, n);
            var expected = new double[OpsUtil.NumEl(outShape)];
            for (long e = 0; e < expected.Length; e++)
            {
                var idx = OpsUtil.Unravel(e, outShape);
                expected[e] = v[OpsUtil.Ravel(With(idx, d, iv[idx[d]]), shape)];
            }
            var r = x.IndexSelect(g.NextDouble() < 0.5 ? d : d - shape.Length, index);
            Assert.That(r.DType, Is.EqualTo(dt));
            OpsUtil.AssertTensor(r, outShape, expected, 0, 0, $"index_select dim {d} {dt}");
        }
    }

    [Test]
    public void GatherScatterAddIndexSelectGradCheck([Values] Layout layout)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        long[] shape = [3, 4, 2];
        var x = OpsUtil.Leaf(g, shape, layout);
        foreach (int d in new[] { 0, 1, 2, -1 })
        {
            int nd = d < 0 ? d + 3 : d;
            var ishape = With(shape, nd, 5); // more positions than the dim has: indices repeat
            ishape[(nd + 1) % 3] = Math.Max(1, ishape[(nd + 1) % 3] - 1); // and smaller than x elsewhere
            var (index, _) = RandIndex(g, shape[nd], ishape, layout);
            TestUtil.GradCheck(t => t[0].Gather(d, index), x);
            var src = OpsUtil.Leaf(g, ishape, layout);
            TestUtil.GradCheck(t => t[0].ScatterAdd(d, index, t[1]), x, src);
            TestUtil.GradCheck(t => t[0].ScatterAdd(d, index, t[1]).Square(), x, src);
            var (sel, _) = RandIndex(g, shape[nd], [5]);
            TestUtil.GradCheck(t => t[0].IndexSelect(d, sel), x);
            TestUtil.GradCheck(t => t[0].IndexSelect(d, sel).Exp(), x);
        }
    }

    [Test]
    public void IndexGradientsAccumulateOverRepeatedIndices()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new double[] { 1, 2, 3 }).RequiresGrad_();
        x.IndexSelect(0, Idx([2, 0, 2, 2])).Sum().Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 1, 0, 3 }));
        var y = Mat(2, 2, 1, 2, 3, 4).RequiresGrad_();
        y.Gather(1, Idx([1, 1, 1, 0, 0, 0], 2, 3)).Sum().Backward();
        Assert.That(y.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 0, 3, 3, 0 }));
        var s = Tensor.FromArray(new double[] { 1, 2, 3, 4 }).RequiresGrad_();
        var w = Tensor.FromArray(new double[] { 10, 20, 30 });
        Tensor.Zeros([3], DType.Float64).ScatterAdd(0, Idx([1, 1, 0, 2]), s).Mul(w).Sum().Backward();
        Assert.That(s.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 20, 20, 10, 30 }));
    }

    // ---- where / masked_fill / one_hot ----------------------------------------------------------------------------

    [Test]
    public void WhereAndMaskedFillMatchHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var cond = Tensor.FromArray(new[] { true, false, true });
        var x = Tensor.FromArray(new double[] { 1, 2, 3 });
        var y = Tensor.FromArray(new double[] { -1, -2, -3 });
        Assert.That(Tensor.Where(cond, x, y).ToArray<double>(), Is.EqualTo(new double[] { 1, -2, 3 }));
        var col = Tensor.FromArray(new[] { true, false }, 2, 1);
        var w = Tensor.Where(col, x, Tensor.Scalar(0, DType.Float64));
        Assert.That(w.Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(w.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3, 0, 0, 0 }));
        var m = Mat(2, 3, 1, 2, 3, 4, 5, 6);
        Assert.That(m.MaskedFill(cond, -9).ToArray<double>(), Is.EqualTo(new double[] { -9, 2, -9, -9, 5, -9 }));
        Assert.That(m.MaskedFill(m.Gt(3.5), double.NegativeInfinity).ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3, double.NegativeInfinity, double.NegativeInfinity, double.NegativeInfinity }));
        Assert.That(m.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3, 4, 5, 6 }), "masked_fill does not modify its input");
        Assert.Throws<DTypeException>(() => Tensor.Where(Tensor.FromArray(new double[] { 1, 0, 1 }), x, y));
    }

    [Test]
    public void WhereMatchesOracleWithBroadcasting()
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 12; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var (sx, sy) = OpsUtil.RandBroadcastPair(g);
            // the condition: the broadcast shape with some dims set to 1 and some leading dims dropped
            var sxy = OpsUtil.BroadcastShape(sx, sy);
            var sc = sxy.Skip(OpsUtil.Int(g, 0, sxy.Length + 1)).Select(n => g.NextDouble() < 0.3 ? 1 : n).ToArray();
            var (x, vx) = OpsUtil.Input(g, sx, OpsUtil.RandLayout(g));
            var (y, vy) = OpsUtil.Input(g, sy, OpsUtil.RandLayout(g));
            var (c0, vc) = OpsUtil.Input(g, sc, OpsUtil.RandLayout(g));
            var cond = c0.Gt(0.0);
            var shape = OpsUtil.BroadcastShape(OpsUtil.BroadcastShape(sx, sy), sc);
            var ex = OpsUtil.Expand(vx, sx, shape);
            var ey = OpsUtil.Expand(vy, sy, shape);
            var ec = OpsUtil.Expand(vc, sc, shape);
            var expected = ec.Select((c, i) => c > 0 ? ex[i] : ey[i]).ToArray();
            OpsUtil.AssertTensor(Tensor.Where(cond, x, y), shape, expected, 0, 0, "where");
        }
    }

    [Test]
    public void WhereAndMaskedFillGradCheck([Values] Layout layout)
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = OpsUtil.Leaf(g, [3, 1, 4], layout);
        var y = OpsUtil.Leaf(g, [5, 4], layout);
        var cond = TestUtil.Randn(g, 3, 5, 1).Gt(0.0);
        TestUtil.GradCheck(t => Tensor.Where(cond, t[0], t[1]), x, y);
        TestUtil.GradCheck(t => Tensor.Where(cond, t[0].Exp(), t[1].Mul(t[1])), x, y);
        var s = OpsUtil.Leaf(g, [], Layout.Contiguous);
        TestUtil.GradCheck(t => Tensor.Where(cond, t[0], t[1]), s, y);
        TestUtil.GradCheck(t => Tensor.Where(cond.Narrow(0, 0, 1).Squeeze(0), t[1], t[0]), s, y);
        var z = OpsUtil.Leaf(g, [3, 4], layout);
        var mask = TestUtil.Randn(g, 3, 4).Gt(0.3);
        TestUtil.GradCheck(t => t[0].MaskedFill(mask, 2.5), z);
        TestUtil.GradCheck(t => t[0].MaskedFill(mask.Narrow(0, 0, 1), -1e9).Softmax(1), z);
        TestUtil.GradCheck(t => t[0].T.MaskedFill(mask.T, 0), z);
        z.MaskedFill(mask, 7).Sum().Backward();
        var expected = mask.ToArray<bool>().Select(b => b ? 0.0 : 1.0).ToArray();
        Assert.That(z.Grad!.ToArray<double>(), Is.EqualTo(expected), "masked positions get no gradient");
    }

    [Test]
    public void OneHotMatchesHandComputedValues()
    {
        using var scope = Tensor.NewDisposeScope();
        var h = Idx([0, 2, 1]).OneHot();
        Assert.That(h.DType, Is.EqualTo(DType.Int64));
        Assert.That(h.Shape, Is.EqualTo(new long[] { 3, 3 }));
        Assert.That(h.ToArray<long>(), Is.EqualTo(new long[] { 1, 0, 0, 0, 0, 1, 0, 1, 0 }));
        var h4 = Idx([3, 0, 1, 1], 2, 2).OneHot(5);
        Assert.That(h4.Shape, Is.EqualTo(new long[] { 2, 2, 5 }));
        Assert.That(h4.ToArray<long>(), Is.EqualTo(new long[] { 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0 }));
        var hs = Idx([1, 0, 2, 1, 0, 2], 3, 2).T.OneHot(3);
        Assert.That(hs.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1 }), "non-contiguous indices");
        Assert.Throws<IndexException>(() => Idx([0, 3]).OneHot(3));
        Assert.Throws<IndexException>(() => Idx([0, -1]).OneHot(3));
        Assert.Throws<DTypeException>(() => Tensor.FromArray(new[] { 0, 1 }).OneHot(3));
    }

    [Test]
    public void OneHotMatchesOracle()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var shape = OpsUtil.RandShape(g, 1, 3, 4);
        var (idx, iv) = RandIndex(g, 6, shape, Layout.Permuted);
        var h = idx.OneHot(6);
        Assert.That(h.Shape, Is.EqualTo(shape.Append(6).ToArray()));
        var expected = iv.SelectMany(c => Enumerable.Range(0, 6).Select(k => k == c ? 1L : 0L)).ToArray();
        Assert.That(h.ToArray<long>(), Is.EqualTo(expected));
        Assert.That(idx.OneHot().Size(-1), Is.EqualTo(iv.Max() + 1));
    }

    // ---- view ops -------------------------------------------------------------------------------------------------

    [Test]
    public void SliceNarrowSelectMatchOracle()
    {
        var g = TestUtil.Gen();
        for (int trial = 0; trial < 12; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            var shape = OpsUtil.RandShape(g, 1, 4, 6);
            int d = OpsUtil.Int(g, 0, shape.Length);
            var (x, v) = OpsUtil.Input(g, shape, OpsUtil.RandLayout(g));
            long start = OpsUtil.Int(g, 0, (int)shape[d]), end = OpsUtil.Int(g, (int)start, (int)shape[d] + 1), step = OpsUtil.Int(g, 1, 4);
            long len = (end - start + step - 1) / step;
            var outShape = With(shape, d, len);
            var expected = new double[OpsUtil.NumEl(outShape)];
            for (long e = 0; e < expected.Length; e++)
            {
                var idx = OpsUtil.Unravel(e, outShape);
                expected[e] = v[OpsUtil.Ravel(With(idx, d, start + idx[d] * step), shape)];
            }
            OpsUtil.AssertTensor(x.Slice(d, start, end, step), outShape, expected, 0, 0, $"slice {d} {start}:{end}:{step}");
            if (step == 1) OpsUtil.AssertTensor(x.Narrow(d, start, end - start), outShape, expected, 0, 0, "narrow");
            long at = OpsUtil.Int(g, 0, (int)shape[d]);
            var sel = x.Select(d, at);
            Assert.That(sel.Shape, Is.EqualTo(shape.Where((_, i) => i != d).ToArray()));
            var es = new double[OpsUtil.NumEl(With(shape, d, 1))];
            for (long e = 0; e < es.Length; e++) es[e] = v[OpsUtil.Ravel(With(OpsUtil.Unravel(e, With(shape, d, 1)), d, at), shape)];
            OpsUtil.AssertAllClose(sel.ToDoubleArray(), es, 0, 0, "select");
        }
    }

    public static IEnumerable<TestCaseData> ViewCases()
    {
        TestCaseData C(string name, long[] shape, Func<Tensor, Tensor> f) => new TestCaseData(shape, f).SetArgDisplayNames(name);
        yield return C("narrow", [2, 3, 4], x => x.Narrow(1, 1, 2));
        yield return C("narrow_negative_start", [2, 3, 4], x => x.Narrow(-1, -3, 2));
        yield return C("slice_step", [2, 3, 5], x => x.Slice(2, 0, 5, 2));
        yield return C("slice_negative", [4, 3], x => x.Slice(0, -3, -1));
        yield return C("slice_of_slice", [6, 5], x => x.Slice(0, 1, 6, 2).Slice(1, 4, 5));
        yield return C("select", [2, 3, 4], x => x.Select(1, 2));
        yield return C("select_negative", [2, 3, 4], x => x.Select(0, -1));
        yield return C("permute", [2, 3, 4], x => x.Permute(2, 0, 1));
        yield return C("permute_negative", [2, 3, 4], x => x.Permute(-1, 1, 0));
        yield return C("transpose", [2, 3, 4], x => x.Transpose(0, 2));
        yield return C("t_2d", [3, 4], x => x.T);
        yield return C("t_1d", [5], x => x.T);
        yield return C("expand", [3, 1], x => x.Expand(2, 3, 4));
        yield return C("expand_keep", [3, 1], x => x.Expand(-1, 5));
        yield return C("expand_as", [1, 4], x => x.ExpandAs(Tensor.Zeros([3, 4], DType.Float64)));
        yield return C("reshape", [2, 3, 4], x => x.Reshape(6, 4));
        yield return C("reshape_infer", [2, 3, 4], x => x.Reshape(4, -1));
        yield return C("reshape_of_transpose", [3, 4], x => x.T.Reshape(-1));
        yield return C("view", [2, 3, 4], x => x.Contiguous().View(3, 8));
        yield return C("squeeze_all", [2, 1, 3, 1], x => x.Squeeze());
        yield return C("squeeze_dim", [2, 1, 3, 1], x => x.Squeeze(1));
        yield return C("squeeze_noop", [2, 1, 3, 1], x => x.Squeeze(0));
        yield return C("unsqueeze_front", [2, 3], x => x.Unsqueeze(0));
        yield return C("unsqueeze_back", [2, 3], x => x.Unsqueeze(-1));
        yield return C("unsqueeze_middle", [2, 3], x => x.Unsqueeze(1));
        yield return C("flatten", [2, 3, 4], x => x.Flatten());
        yield return C("flatten_tail", [2, 3, 4], x => x.Flatten(1));
        yield return C("flatten_head", [2, 3, 4], x => x.Flatten(0, 1));
        yield return C("flatten_scalar", [], x => x.Flatten());
        yield return C("contiguous", [3, 4], x => x.Contiguous());
        yield return C("clone", [3, 4], x => x.Clone());
        yield return C("chain", [2, 3, 4], x => x.Permute(1, 2, 0).Reshape(3, 8).Narrow(1, 2, 5).Unsqueeze(0).Expand(2, 3, 5).Flatten(1));
    }

    [TestCaseSource(nameof(ViewCases))]
    public void ViewGradCheck(long[] shape, Func<Tensor, Tensor> f)
    {
        var g = TestUtil.Gen();
        foreach (var layout in OpsUtil.AllLayouts)
        {
            using var scope = Tensor.NewDisposeScope();
            var x = OpsUtil.Leaf(g, shape, layout);
            TestUtil.GradCheck(t => f(t[0]), x);
            // and with a non-linear op after the view, so the gradient's layout matters
            TestUtil.GradCheck(t => f(t[0]).Mul(f(t[0])).Add(f(t[0]).Exp()), x);
        }
    }

    [Test]
    public void ViewValuesMatchTheirInputs()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var (x, v) = OpsUtil.Input(g, [2, 3, 4], Layout.Sliced);
        OpsUtil.AssertAllClose(x.Reshape(6, 4).ToDoubleArray(), v, 0, 0, "reshape keeps row-major order");
        OpsUtil.AssertAllClose(x.Flatten().ToDoubleArray(), v, 0, 0, "flatten");
        OpsUtil.AssertAllClose(x.Unsqueeze(1).Squeeze().ToDoubleArray(), v, 0, 0, "unsqueeze/squeeze");
        var p = x.Permute(2, 0, 1);
        for (long e = 0; e < 24; e++)
        {
            var i = OpsUtil.Unravel(e, [4, 2, 3]);
            Assert.That(p[i], Is.EqualTo(v[(i[1] * 3 + i[2]) * 4 + i[0]]));
        }
        var ex = x.Narrow(2, 1, 1).Expand(2, 3, 5);
        Assert.That(ex.Strides[2], Is.Zero);
        for (long e = 0; e < 30; e++)
        {
            var i = OpsUtil.Unravel(e, [2, 3, 5]);
            Assert.That(ex[i], Is.EqualTo(v[(i[0] * 3 + i[1]) * 4 + 1]));
        }
        var t1 = Tensor.FromArray(new double[] { 1, 2, 3 }).T;
        Assert.That(t1.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3 }));
    }

    [Test]
    public void ExpandGradientSumsOverTheRepeatedDims()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new double[] { 1, 2 }, 2, 1).RequiresGrad_();
        var w = Tensor.Arange(0, 24, 1, DType.Float64).Reshape(4, 2, 3);
        x.Expand(4, 2, 3).Mul(w).Sum().Backward();
        // grad[i] = Σ_{b,j} w[b, i, j]
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 0 + 1 + 2 + 6 + 7 + 8 + 12 + 13 + 14 + 18 + 19 + 20, 3 + 4 + 5 + 9 + 10 + 11 + 15 + 16 + 17 + 21 + 22 + 23 }));
    }
}
