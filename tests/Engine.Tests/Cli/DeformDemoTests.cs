using Engine.Cli;
using Engine.Nn;

namespace Engine.Tests.Cli;

/// <summary><c>engine deform-demo</c>: the sampling-point tracer against the regular grid, and a tiny end-to-end run.</summary>
[TestFixture]
public sealed class DeformDemoTests
{
    [Test]
    public void WithZeroOffsetsTheTracedPointsAreTheRegularGrid()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var net = DeformDemoNet.Create(deformable: true, modulated: false, g);
        var images = Tensor.Randn([2, 1, 28, 28], DType.Float32, g);
        var points = SamplingPlot.Points(net, images);
        Assert.That(points, Has.Count.EqualTo(2));
        foreach (var (learned, grid, unit) in points)
        {
            Assert.That(learned, Has.Count.EqualTo(729), "9 points per tap of 3 deformable layers");
            Assert.That(learned, Is.EqualTo(grid), "offset predictors start at zero");
            // unit (3, 3) of the 7×7 map: rows 2..4 of the last layer's input, 3..9 of the stride-2 layer's, 2..10 of the
            // first deformable layer's (a 14×14 map, 2 pixels per row): image rows 4..20, the unit itself at 2·(2·3) = 12
            Assert.That(unit, Is.EqualTo((12.0, 12.0)));
            Assert.That(grid.Min(p => p.Y), Is.EqualTo(4.0));
            Assert.That(grid.Max(p => p.Y), Is.EqualTo(20.0));
        }
        var pack = net.NamedModules().Select(m => m.Module).OfType<DeformConv2dPack>().Last();
        Init.Constant(pack.ConvOffset.Bias!.Narrow(0, 0, 1), 1);   // tap 0's dy of the last layer: +1 row
        var moved = SamplingPlot.Points(net, images)[0];
        int shifted = moved.Learned.Zip(moved.Grid).Count(p => p.First != p.Second);
        Assert.That(shifted, Is.EqualTo(81), "the 81 points traced through tap 0 of the last layer move");
        Assert.That(moved.Learned.Zip(moved.Grid).Where(p => p.First != p.Second).All(p => Math.Abs(p.First.Y - p.Second.Y - 4) < 1e-9 && p.First.X == p.Second.X),
            "by one row of the last layer's input, 4 image pixels");
    }

    [Test]
    public void ATinyRunTrainsBothNetsAndWritesTheFigure()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"engine-deform-demo-{Guid.NewGuid():N}");
        try
        {
            var log = new StringWriter();
            var s = new DeformDemoSettings(Epochs: 1, BatchSize: 16, Lr: 3e-3, Seed: 3, Degrees: 60, ScaleMin: 0.6, ScaleMax: 1.3, TrainSize: 32, TestSize: 16,
                Modulated: true, Data: null, Output: dir, Workers: 0);
            Assert.That(DeformDemoCommand.Run(s, log), Is.EqualTo(0), log.ToString());
            Assert.That(log.ToString(), Does.Contain("plain: 70,330 parameters").And.Contain("deformable (DCNv2)").And.Contain("result: plain"));
            Assert.That(new FileInfo(Path.Combine(dir, "deform_sampling.png")).Length, Is.GreaterThan(10_000));
            Assert.That(DeformDemoCommand.Run(s with { Epochs = 0 }, new StringWriter()), Is.EqualTo(2), "bad options are an error, not a crash");
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
