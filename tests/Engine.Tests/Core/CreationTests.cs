namespace Engine.Tests.Core;

public class CreationTests
{
    [Test]
    public void ZerosOnesFullHaveTheirValuesShapeAndDType()
    {
        using var z = Tensor.Zeros(2, 3);
        using var o = Tensor.Ones([4], DType.Int64);
        using var f = Tensor.Full([2, 2], 2.5, DType.Float64);
        Assert.That(z.Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(z.ToArray<float>(), Is.All.EqualTo(0f));
        Assert.That(o.ToArray<long>(), Is.EqualTo(new long[] { 1, 1, 1, 1 }));
        Assert.That(f.ToArray<double>(), Is.All.EqualTo(2.5));
        Assert.That(f.DType, Is.EqualTo(DType.Float64));
    }

    [Test]
    public void ArangeMatchesPythonRange()
    {
        using var a = Tensor.Arange(1, 2.2, 0.5);
        TestUtil.AssertClose(a, [1, 1.5, 2]);
        using var b = Tensor.Arange(5);
        Assert.That(b.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 2, 3, 4 }));
        using var c = Tensor.Arange(3, 0, -1, DType.Int32);
        Assert.That(c.ToArray<int>(), Is.EqualTo(new[] { 3, 2, 1 }));
    }

    [Test]
    public void LinspaceIncludesBothEnds()
    {
        using var l = Tensor.Linspace(-1, 1, 5, DType.Float64);
        Assert.That(l.ToArray<double>(), Is.EqualTo(new[] { -1, -0.5, 0, 0.5, 1 }));
        using var one = Tensor.Linspace(3, 7, 1);
        Assert.That(one.ToArray<float>(), Is.EqualTo(new[] { 3f }));
    }

    [Test]
    public void EyeHasOnesOnTheDiagonalOnly()
    {
        using var e = Tensor.Eye(2, 3);
        Assert.That(e.ToArray<float>(), Is.EqualTo(new float[] { 1, 0, 0, 0, 1, 0 }));
    }

    [Test]
    public void SameSeedGivesSameNumbersAndDifferentSeedsDiffer()
    {
        ulong seed = TestContext.CurrentContext.Random.NextULong();
        using var a = Tensor.Randn([1000], DType.Float32, new Generator(seed));
        using var b = Tensor.Randn([1000], DType.Float32, new Generator(seed));
        using var c = Tensor.Randn([1000], DType.Float32, new Generator(seed + 1));
        Assert.That(a.ToArray<float>(), Is.EqualTo(b.ToArray<float>()));
        Assert.That(a.ToArray<float>(), Is.Not.EqualTo(c.ToArray<float>()));
    }

    [Test]
    public void GeneratorAdvancesSoConsecutiveDrawsDiffer()
    {
        var g = TestUtil.Gen();
        using var a = Tensor.Rand([100], DType.Float32, g);
        using var b = Tensor.Rand([100], DType.Float32, g);
        Assert.That(a.ToArray<float>(), Is.Not.EqualTo(b.ToArray<float>()));
    }

    [Test]
    public void RandomNumbersHaveTheRightMoments()
    {
        var g = TestUtil.Gen();
        using var u = Tensor.Rand([200_000], DType.Float64, g);
        using var n = Tensor.Randn([200_000], DType.Float64, g);
        var ua = u.ToArray<double>();
        Assert.That(ua.Min(), Is.GreaterThanOrEqualTo(0));
        Assert.That(ua.Max(), Is.LessThan(1));
        Assert.That(ua.Average(), Is.EqualTo(0.5).Within(0.005));
        var na = n.ToArray<double>();
        double mean = na.Average(), var = na.Select(x => (x - mean) * (x - mean)).Average();
        Assert.That(mean, Is.EqualTo(0).Within(0.01));
        Assert.That(var, Is.EqualTo(1).Within(0.02));
    }

    [Test]
    public void RandIntStaysInRangeAndHitsEveryValue()
    {
        using var r = Tensor.RandInt(-2, 3, [10_000], generator: TestUtil.Gen());
        var v = r.ToArray<long>();
        Assert.That(v.Distinct().OrderBy(x => x), Is.EqualTo(new long[] { -2, -1, 0, 1, 2 }));
    }

    [Test]
    public void FromArrayRoundTripsEveryDType()
    {
        using var f = Tensor.FromArray(new[] { 1.5f, -2f }, 2);
        using var d = Tensor.FromArray(new[] { 1.25, 3.0, 4, 5 }, 2, 2);
        using var l = Tensor.FromArray(new[] { 7L, -8L });
        using var i = Tensor.FromArray(new[] { 9, 10 });
        using var u = Tensor.FromArray(new byte[] { 0, 255 });
        using var b = Tensor.FromArray(new[] { true, false });
        Assert.That(f.ToArray<float>(), Is.EqualTo(new[] { 1.5f, -2f }));
        Assert.That(d.Shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(d[1, 0], Is.EqualTo(4.0));
        Assert.That(l.ToArray<long>(), Is.EqualTo(new[] { 7L, -8L }));
        Assert.That(i.ToArray<int>(), Is.EqualTo(new[] { 9, 10 }));
        Assert.That(u.ToArray<byte>(), Is.EqualTo(new byte[] { 0, 255 }));
        Assert.That(b.DType, Is.EqualTo(DType.Bool));
        Assert.That(b.ToArray<bool>(), Is.EqualTo(new[] { true, false }));
    }

    [Test]
    public void CastsConvertLikePyTorch()
    {
        using var f = Tensor.FromArray(new[] { -1.7f, 0f, 2.9f });
        using var l = f.To(DType.Int64);
        using var b = f.To(DType.Bool);
        Assert.That(l.ToArray<long>(), Is.EqualTo(new long[] { -1, 0, 2 }));
        Assert.That(b.ToArray<bool>(), Is.EqualTo(new[] { true, false, true }));
    }
}
