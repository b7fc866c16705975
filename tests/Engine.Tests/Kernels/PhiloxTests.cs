using Engine.Kernels;

namespace Engine.Tests.KernelTests;

public class PhiloxTests
{
    [Test]
    public void ZeroCounterAndKeyMatchTheRandom123KnownAnswer()
    {
        // Known-answer vector of Philox4x32-10 from the Random123 distribution (kat_vectors).
        var (a, b, c, d) = Philox.Block(0, 0);
        Assert.That(new[] { a, b, c, d }, Is.EqualTo(new uint[] { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 }));
    }

    [Test]
    public void ElementsDependOnlyOnTheirCounter()
    {
        ulong seed = TestContext.CurrentContext.Random.NextULong();
        // A large fill runs in parallel chunks; element i must equal a fill that starts at offset i.
        using var big = Tensor.Rand([100_000], DType.Float32, new Generator(seed));
        var g = new Generator(seed) { Offset = 77_777 };
        using var one = Tensor.Rand([3], DType.Float32, g);
        Assert.That(one.ToArray<float>(), Is.EqualTo(big.Narrow(0, 77_777, 3).ToArray<float>()));
    }
}
