using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>MobileNet facts beyond the zoo checks: the v1 width multiplier against the paper, the blocks' residual rule and stochastic depth.</summary>
[TestFixture]
public sealed class MobileNetTests
{
    // Howard et al. 2017, Table 6: parameters of 224-pixel MobileNets with 1000 classes, in millions (one decimal).
    [TestCase(1.0, 4.2)]
    [TestCase(0.75, 2.6)]
    [TestCase(0.5, 1.3)]
    [TestCase(0.25, 0.5)]
    public void V1WidthMultiplierGivesThePapersParameterCount(double alpha, double millions)
    {
        using var model = new MobileNetV1(1000, 3, alpha, generator: new Generator(0));
        Assert.That(Math.Round(model.ParameterCount() / 1e5) / 10, Is.EqualTo(millions));
    }

    [Test]
    public void V1DownsamplesBy32()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        using var model = new MobileNetV1(10, 1, generator: g);
        model.Eval();
        using (Tensor.NoGrad())
            Assert.That(model.Features.Call(Tensor.Randn([1, 1, 64, 64], DType.Float32, g)).Shape, Is.EqualTo(new long[] { 1, 1024, 2, 2 }));
    }

    private static InvertedResidual Block(int stride, int outChannels, double? stochasticDepth = null, Generator? g = null) =>
        new(16, 64, outChannels, 3, stride, Activation.Hardswish, 16, Activation.ReLU, Activation.Hardsigmoid, 1e-3, 0.01,
            stochasticDepth: stochasticDepth, generator: g);

    [Test]
    public void InvertedResidualAddsTheInputOnlyWhenStrideAndWidthAllow()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = Tensor.Randn([2, 16, 8, 8], DType.Float32, g);
        using var residual = Block(1, 16, g: g);
        using var strided = Block(2, 16, g: g);
        using var widened = Block(1, 24, g: g);
        foreach (var b in new[] { residual, strided, widened })
        {
            // A zero last BatchNorm makes the branch zero, so the output is the input if (and only if) it is added back.
            ModelInit.ZeroGamma((BatchNormBase)((Sequential)b.Block[^1])[1]);
            b.Eval();
        }
        using (Tensor.NoGrad())
        {
            TestUtil.AssertClose(residual.Call(x), x, 0, 0);
            Assert.That(strided.Call(x).Shape, Is.EqualTo(new long[] { 2, 16, 4, 4 }));
            Assert.That(strided.Call(x).ToDoubleArray().All(v => v == 0), "no residual across a stride");
            Assert.That(widened.Call(x).ToDoubleArray().All(v => v == 0), "no residual across a width change");
        }
    }

    [Test]
    public void StochasticDepthDropsOrScalesTheWholeBranchPerSample()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int n = 32;
        var x = Tensor.Randn([n, 16, 4, 4], DType.Float32, g);
        using var block = Block(1, 16, stochasticDepth: 0.5, g: g);
        block.Train();
        using (Tensor.NoGrad())
        {
            var branch = block.Block.Call(x).ToDoubleArray(); // training-mode BN: the same batch gives the same branch
            var added = block.Call(x).Sub(x).ToDoubleArray();
            int per = added.Length / n, dropped = 0;
            for (int s = 0; s < n; s++)
            {
                var d = added.AsSpan(s * per, per).ToArray();
                var b = branch.AsSpan(s * per, per).ToArray();
                bool isDropped = d.All(v => Math.Abs(v) < 1e-5);
                if (isDropped) dropped++;
                else
                    for (int i = 0; i < per; i++)
                        Assert.That(d[i], Is.EqualTo(2 * b[i]).Within(1e-4 * (1 + Math.Abs(b[i]))), $"sample {s}: a kept branch is scaled by 1/(1-p)");
            }
            Assert.That(dropped, Is.InRange(1, n - 1), "p = 0.5 drops some samples' branches and keeps others");
        }
    }

    [Test]
    public void V3SqueezeWidthsAreMultiplesOf8NearAQuarterOfTheExpandedWidth()
    {
        using var model = new MobileNetV3(MobileNetV3.Large, 1280, generator: new Generator(0));
        var squeezes = model.NamedModules().Select(m => m.Module).OfType<SqueezeExcitation>().Select(se => se.Fc1.Weight.Size(0)).ToArray();
        // Rows with SE expand to 72, 120, 120, 480, 672, 672, 960, 960: a quarter is 18, 30, 30, 120, 168, 168, 240, 240.
        Assert.That(squeezes, Is.EqualTo(new long[] { 24, 32, 32, 120, 168, 168, 240, 240 }));
    }
}
