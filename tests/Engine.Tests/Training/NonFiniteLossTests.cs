using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Tests.Training;

/// <summary>
/// A NaN or infinite training loss stops training before it changes the weights (the epochs before keep their
/// checkpoint and log rows), or is skipped with a warning; empty data gives an error or absent metrics, never NaN.
/// </summary>
public class NonFiniteLossTests
{
    private static TensorDataset Data(int count)
    {
        var g = new Generator(5);
        var images = Tensor.Randn([count, 1, 4, 4], DType.Float32, g).DetachFromDisposeScope();
        var labels = Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i % 2)).ToArray()).DetachFromDisposeScope();
        return new TensorDataset(images, labels);
    }

    private static Module Net() => new Sequential(new Flatten(), new Linear(16, 2, generator: new Generator(7)));

    /// <summary>The default loss, times NaN (or infinity) for the batches <paramref name="poisoned"/> picks by (epoch, batch from 1).</summary>
    private static BatchObjective Poison(Func<int, int, bool> poisoned, double bad, Func<int> epoch)
    {
        int batch = 0, lastEpoch = -1;
        return (t, b) =>
        {
            if (epoch() != lastEpoch) (lastEpoch, batch) = (epoch(), 0);
            batch++;
            var (logits, loss) = t.TrainingLoss(b.Images, b.Labels);
            return poisoned(lastEpoch, batch) ? (logits, loss.Mul(bad)) : (logits, loss);
        };
    }

    private sealed class EpochTracker : ITrainingCallback
    {
        public int Epoch;
        public List<(int Epoch, int Batch, double Loss)> Skipped { get; } = [];
        public bool OnEpochEnd(Trainer trainer, EpochStats stats) { Epoch = stats.Epoch + 1; return true; }
        public void OnBatchSkipped(Trainer trainer, int epoch, int batch, double loss) => Skipped.Add((epoch, batch, loss));
    }

    [Test]
    public void ByDefaultANaNLossStopsTrainingKeepingTheLastGoodCheckpointAndLog()
    {
        var dir = Directory.CreateTempSubdirectory("engine-nan-").FullName;
        try
        {
            var ds = Data(32);
            using var model = Net();
            using var opt = new SGD(model.Parameters(), 0.1, momentum: 0.9);
            using var train = new DataLoader(ds, 8);
            var trainer = new Trainer(model, opt, 2);
            var tracker = new EpochTracker();
            trainer.Objective = Poison((e, b) => e == 1 && b == 3, double.NaN, () => tracker.Epoch);
            trainer.Callbacks.Add(tracker);
            string last = Path.Combine(dir, "last.safetensors"), log = Path.Combine(dir, "log.jsonl");
            trainer.Callbacks.Add(new BestCheckpoint(Path.Combine(dir, "best.safetensors"), last));
            trainer.Callbacks.Add(new JsonLinesLogger(log));
            byte[][]? weightsBeforeBadBatch = null;
            trainer.Callbacks.Add(new Snapshotter(model, (e, b) => e == 1 && b == 2, w => weightsBeforeBadBatch = w));

            var e = Assert.Throws<NonFiniteLossException>(() => trainer.Fit(train, null, 3))!;
            Assert.That((e.Epoch, e.Batch, double.IsNaN(e.Loss)), Is.EqualTo((1, 3, true)));
            Assert.That(e.Message, Does.Contain("epoch 2, batch 3 is NaN"));
            Assert.That(File.ReadAllLines(log), Has.Length.EqualTo(1), "the finished epoch's row is kept");
            using var reloaded = Net();
            Assert.That(Checkpoint.Load(last, reloaded).Epoch, Is.EqualTo(0), "the last good checkpoint is epoch 1's");
            Assert.That(Snapshotter.Weights(model), Is.EqualTo(weightsBeforeBadBatch), "the NaN batch did not change the weights");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void WithSkipAnInfiniteLossBatchIsSkippedWithAWarningAndTheRestTrains()
    {
        var ds = Data(32);
        using var model = Net();
        using var opt = new SGD(model.Parameters(), 0.1);
        using var train = new DataLoader(ds, 8);
        var trainer = new Trainer(model, opt, 2) { OnNonFiniteLoss = NonFiniteLoss.Skip };
        var tracker = new EpochTracker();
        trainer.Objective = Poison((e, b) => b == 2, double.PositiveInfinity, () => tracker.Epoch);
        trainer.Callbacks.Add(tracker);
        var output = new StringWriter();
        trainer.Callbacks.Add(new ProgressReporter(output, interactive: false));
        var history = trainer.Fit(train, null, 2);
        Assert.That(tracker.Skipped.Select(s => (s.Epoch, s.Batch)), Is.EqualTo(new[] { (0, 2), (1, 2) }));
        Assert.That(tracker.Skipped.All(s => double.IsPositiveInfinity(s.Loss)), Is.True);
        Assert.That(output.ToString(), Does.Contain("warning: epoch 1, batch 2: the loss is ∞; batch skipped").Or.Contain("warning: epoch 1, batch 2: the loss is Infinity; batch skipped"));
        Assert.That(history.All(h => double.IsFinite(h.TrainLoss)), Is.True, "the mean is over the batches trained");
    }

    [Test]
    public void ALoaderWithoutABatchIsAnErrorAndAnEmptyTestSetGivesAbsentMetrics()
    {
        using var model = Net();
        using var opt = new SGD(model.Parameters(), 0.1);
        using var tooBig = new DataLoader(Data(10), 16, dropLast: true);
        var trainer = new Trainer(model, opt, 2);
        Assert.That(() => trainer.Fit(tooBig, null, 1), Throws.TypeOf<ArgumentValueException>().With.Message.Contains("10 samples, batch size 16"));

        using var train = new DataLoader(Data(16), 8);
        using var empty = new DataLoader(new Subset(Data(4), []), 8);
        var stats = trainer.Fit(train, empty, 1).Single();
        Assert.That((stats.TestLoss, stats.TestTop1, stats.TestTopK, stats.Confusion), Is.EqualTo(((double?)null, (double?)null, (double?)null, (long[,]?)null)));
    }

    /// <summary>Records the model's weights after a chosen batch.</summary>
    private sealed class Snapshotter(Module model, Func<int, int, bool> when, Action<byte[][]> record) : ITrainingCallback
    {
        public static byte[][] Weights(Module m) => [.. m.StateDict().Select(kv => kv.Value.ToArray<float>().SelectMany(BitConverter.GetBytes).ToArray())];

        public void OnBatchEnd(Trainer trainer, int epoch, int batch, int batches, double loss, double imagesPerSecond)
        {
            if (when(epoch, batch)) record(Weights(model));
        }
    }
}
