using Engine.Nn;

namespace Engine.Tests.Cnn;

/// <summary>Channel shuffle (ShuffleNet) against an index loop written from its definition, its gradient, the module and bad input.</summary>
public class ChannelShuffleTests
{
    /// <summary>Output channel j·g + i is input channel i·(C/g) + j, for every sample and position.</summary>
    private static double[] ShuffleRef(double[] x, long n, long c, long plane, int groups)
    {
        var y = new double[x.Length];
        long per = c / groups;
        for (long b = 0; b < n; b++)
            for (int i = 0; i < groups; i++)
                for (long j = 0; j < per; j++)
                    for (long p = 0; p < plane; p++)
                        y[(b * c + j * groups + i) * plane + p] = x[(b * c + i * per + j) * plane + p];
        return y;
    }

    [TestCase(new long[] { 2, 6, 3, 4 }, 2)]
    [TestCase(new long[] { 2, 6, 3, 4 }, 3)]
    [TestCase(new long[] { 1, 12, 2, 2 }, 4)]
    [TestCase(new long[] { 3, 4, 5 }, 2)]
    [TestCase(new long[] { 1, 6, 2, 2, 3 }, 6)]
    [TestCase(new long[] { 2, 5, 2, 2 }, 1)]
    public void MatchesIndexLoop(long[] shape, int groups)
    {
        var g = TestUtil.Gen();
        var x = TestUtil.RandnF(g, shape);
        long plane = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        var y = Functional.ChannelShuffle(x, groups);
        Assert.That(y.Shape, Is.EqualTo(shape));
        Assert.That(y.ToDoubleArray(), Is.EqualTo(ShuffleRef(x.ToDoubleArray(), shape[0], shape[1], plane, groups)));
        using var m = new ChannelShuffle(groups);
        Assert.That(m.Call(x).ToDoubleArray(), Is.EqualTo(y.ToDoubleArray()));
        Assert.That(m.ToString(), Is.EqualTo($"ChannelShuffle(groups={groups})"));
    }

    [Test]
    public void NonContiguousInput()
    {
        var g = TestUtil.Gen();
        var x = TestUtil.Randn(g, 2, 4, 3, 6).Transpose(2, 3);
        var expected = ShuffleRef(x.Contiguous().ToDoubleArray(), 2, 4, 18, 2);
        Assert.That(Functional.ChannelShuffle(x, 2).ToDoubleArray(), Is.EqualTo(expected));
    }

    [Test]
    public void GradientIsTheInverseShuffle()
    {
        var g = TestUtil.Gen();
        TestUtil.GradCheck(t => Functional.ChannelShuffle(t[0], 3).Mul(t[1]), TestUtil.Leaf(g, 2, 6, 2, 3), TestUtil.Randn(g, 2, 6, 2, 3));
        // Shuffling with g then with C/g groups restores the input, so the gradient of a sum through both is all ones.
        var x = TestUtil.Leaf(g, 1, 6, 2, 2);
        var back = Functional.ChannelShuffle(Functional.ChannelShuffle(x, 2), 3);
        Assert.That(back.ToDoubleArray(), Is.EqualTo(x.ToDoubleArray()));
    }

    [Test]
    public void BadInputRaisesTypedErrors()
    {
        var x = Tensor.Zeros(2, 6, 3, 3);
        Assert.That(Assert.Throws<ShapeException>(() => Functional.ChannelShuffle(x, 4))!.Op, Is.EqualTo("channel_shuffle"));
        Assert.Throws<ArgumentValueException>(() => Functional.ChannelShuffle(x, 0));
        Assert.Throws<ShapeException>(() => Functional.ChannelShuffle(Tensor.Zeros(2, 6), 2));
        Assert.Throws<ArgumentValueException>(() => new ChannelShuffle(0));
    }
}
