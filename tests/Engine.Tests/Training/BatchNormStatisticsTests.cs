using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Tests.Training;

/// <summary><see cref="BatchNormStatistics.Update"/> against the cumulative average of per-batch statistics computed directly.</summary>
public class BatchNormStatisticsTests
{
    [Test]
    public void RunningStatisticsBecomeTheAverageOfTheBatchStatisticsOfTheCurrentWeights()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var conv = new Conv2d(1, 3, 3, generator: g);
        var bn = new BatchNorm2d(3, momentum: 0.3);
        var frozen = new BatchNorm2d(3) { KeepEval = true };
        using var model = new Sequential(conv, bn, new ReLU(), frozen, new Flatten());
        var images = Tensor.Randn([20, 1, 6, 6], DType.Float32, g).Mul(2).Add(0.5);
        var labels = Tensor.Zeros([20], DType.Int64);
        using var loader = new DataLoader(new TensorDataset(images, labels), batchSize: 8);   // batches of 8, 8, 4
        using (Tensor.NoGrad()) frozen.RunningMean!.FillInPlace(0.25);
        bn.RunningMean!.FillInPlace(7);   // stale values the update must replace
        model.Eval();

        int seen = BatchNormStatistics.Update(model, loader);

        Assert.That(seen, Is.EqualTo(3));
        Assert.That(model.Training, Is.False, "the model's mode is restored");
        Assert.That(bn.Momentum, Is.EqualTo(0.3), "the momentum is restored");
        Assert.That(frozen.RunningMean!.ToArray<float>(), Is.All.EqualTo(0.25f), "a batch norm kept in eval mode is left alone");
        // The oracle: each batch's per-channel mean and unbiased variance of the conv output, averaged over batches.
        var mean = new double[3];
        var variance = new double[3];
        using (Tensor.NoGrad())
            foreach (var (start, n) in new[] { (0, 8), (8, 8), (16, 4) })
            {
                var y = conv.Call(images.Narrow(0, start, n)).To(DType.Float64);
                for (int c = 0; c < 3; c++)
                {
                    var v = y.Select(1, c).Contiguous().ToArray<double>();
                    double m = v.Average();
                    mean[c] += m / 3;
                    variance[c] += v.Sum(x => (x - m) * (x - m)) / (v.Length - 1) / 3;
                }
            }
        Assert.That(bn.RunningMean!.ToArray<float>().Select(v => (double)v), Is.EqualTo(mean).Within(1e-5));
        Assert.That(bn.RunningVar!.ToArray<float>().Select(v => (double)v), Is.EqualTo(variance).Within(1e-4));
        Assert.That(bn.NumBatchesTracked!.Item(), Is.EqualTo(3));
    }

    [Test]
    public void AnEmptyLoaderChangesNothing()
    {
        using var scope = Tensor.NewDisposeScope();
        var bn = new BatchNorm2d(2);
        using var model = new Sequential(bn);
        bn.RunningMean!.FillInPlace(3);
        using var loader = new DataLoader(new TensorDataset(Tensor.Zeros([3, 2, 2, 2]), Tensor.Zeros([3], DType.Int64)), batchSize: 4, dropLast: true);
        Assert.Throws<ArgumentValueException>(() => BatchNormStatistics.Update(model, loader));
        Assert.That(bn.RunningMean!.ToArray<float>(), Is.All.EqualTo(3f));
    }
}
