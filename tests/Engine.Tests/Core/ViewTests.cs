namespace Engine.Tests.Core;

public class ViewTests
{
    private static Tensor Seq(params long[] shape) => Tensor.Arange(0, Engine.Kernels.ShapeUtil.NumEl(shape), 1, DType.Float64).Reshape(shape);

    [Test]
    public void ViewSharesStorageWithTheOriginal()
    {
        using var a = Seq(2, 3);
        using var v = a.View(3, 2);
        using (Tensor.NoGrad()) a.Narrow(0, 0, 1).FillInPlace(-1);
        Assert.That(v.ToArray<double>(), Is.EqualTo(new double[] { -1, -1, -1, 3, 4, 5 }));
    }

    [Test]
    public void PermuteTransposesElements()
    {
        using var a = Seq(2, 3, 4);
        using var p = a.Permute(2, 0, 1);
        Assert.That(p.Shape, Is.EqualTo(new long[] { 4, 2, 3 }));
        Assert.That(p.IsContiguous, Is.False);
        Assert.That(p[3, 1, 2], Is.EqualTo(a[1, 2, 3]));
        using var c = p.Contiguous();
        Assert.That(c.IsContiguous, Is.True);
        Assert.That(c[3, 1, 2], Is.EqualTo(a[1, 2, 3]));
    }

    [Test]
    public void ViewOfANonContiguousTensorThrowsButReshapeCopies()
    {
        using var a = Seq(2, 3);
        using var t = a.T;
        Assert.Throws<ShapeException>(() => t.View(6));
        using var r = t.Reshape(6);
        Assert.That(r.ToArray<double>(), Is.EqualTo(new double[] { 0, 3, 1, 4, 2, 5 }));
    }

    [Test]
    public void ReshapeInfersMinusOne()
    {
        using var a = Seq(2, 3, 4);
        using var r = a.Reshape(-1, 4);
        Assert.That(r.Shape, Is.EqualTo(new long[] { 6, 4 }));
    }

    [Test]
    public void NarrowSliceAndSelectPickTheRightElements()
    {
        using var a = Seq(4, 5);
        using var n = a.Narrow(1, 1, 3);
        Assert.That(n.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3, 6, 7, 8, 11, 12, 13, 16, 17, 18 }));
        using var s = a.Slice(0, 0, 4, 2).Slice(1, 1, 5, 3);
        Assert.That(s.ToArray<double>(), Is.EqualTo(new double[] { 1, 4, 11, 14 }));
        using var row = a.Select(0, -1);
        Assert.That(row.ToArray<double>(), Is.EqualTo(new double[] { 15, 16, 17, 18, 19 }));
    }

    [Test]
    public void ExpandRepeatsWithoutCopying()
    {
        using var a = Tensor.FromArray(new[] { 1.0, 2.0 }, 2, 1);
        using var e = a.Expand(2, 3);
        Assert.That(e.Strides, Is.EqualTo(new long[] { 1, 0 }));
        Assert.That(e.ToArray<double>(), Is.EqualTo(new double[] { 1, 1, 1, 2, 2, 2 }));
        using var e3 = a.Expand(4, -1, 3);
        Assert.That(e3.Shape, Is.EqualTo(new long[] { 4, 2, 3 }));
    }

    [Test]
    public void SqueezeUnsqueezeAndFlattenRoundTrip()
    {
        using var a = Seq(2, 1, 3);
        Assert.That(a.Squeeze().Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(a.Squeeze(0).Shape, Is.EqualTo(new long[] { 2, 1, 3 }));
        Assert.That(a.Unsqueeze(-1).Shape, Is.EqualTo(new long[] { 2, 1, 3, 1 }));
        Assert.That(a.Unsqueeze(0).Squeeze(0).ToArray<double>(), Is.EqualTo(a.ToArray<double>()));
        Assert.That(a.Flatten(1).Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(a.Flatten().Shape, Is.EqualTo(new long[] { 6 }));
    }

    [Test]
    public void ViewRoundTripsPreserveElementsOnRandomShapes()
    {
        var g = TestUtil.Gen();
        var rnd = new Random((int)g.Seed);
        for (int trial = 0; trial < 20; trial++)
        {
            using var scope = Tensor.NewDisposeScope();
            int rank = rnd.Next(1, 5);
            var shape = Enumerable.Range(0, rank).Select(_ => (long)rnd.Next(1, 5)).ToArray();
            var x = TestUtil.Randn(g, shape);
            var perm = Enumerable.Range(0, rank).OrderBy(_ => rnd.Next()).ToArray();
            var inv = new int[rank];
            for (int i = 0; i < rank; i++) inv[perm[i]] = i;
            var back = x.Permute(perm).Contiguous().Reshape(-1).Reshape(shape.Select((_, i) => shape[perm[i]]).ToArray()).Permute(inv);
            Assert.That(back.ToArray<double>(), Is.EqualTo(x.ToArray<double>()));
        }
    }

    [Test]
    public void CatStackSplitChunk()
    {
        using var a = Seq(2, 2);
        using var b = Seq(2, 1);
        using var c = Tensor.Cat([a, b], 1);
        Assert.That(c.ToArray<double>(), Is.EqualTo(new double[] { 0, 1, 0, 2, 3, 1 }));
        using var s = Tensor.Stack([a, a], 0);
        Assert.That(s.Shape, Is.EqualTo(new long[] { 2, 2, 2 }));
        var parts = c.Split(2, 1);
        Assert.That(parts.Select(p => p.Size(1)), Is.EqualTo(new long[] { 2, 1 }));
        Assert.That(parts[1].ToArray<double>(), Is.EqualTo(new double[] { 0, 1 }));
        var chunks = Seq(5).Chunk(3);
        Assert.That(chunks.Select(p => p.Size(0)), Is.EqualTo(new long[] { 2, 2, 1 }));
        var sized = Seq(6).Split([1, 2, 3]);
        Assert.That(sized[2].ToArray<double>(), Is.EqualTo(new double[] { 3, 4, 5 }));
    }
}
