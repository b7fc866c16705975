using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Tests.Training;

public class TrainerTests
{
    // A tiny learnable problem: 3 classes of 8×8 images, each a fixed random pattern plus noise.
    private static TensorDataset Problem(ulong seed, int count)
    {
        var g = new Generator(seed);
        using var patterns = Tensor.Randn([3, 1, 8, 8], DType.Float32, new Generator(99));
        var labels = Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i % 3)).ToArray()).DetachFromDisposeScope();
        using var picked = patterns.IndexSelect(0, labels);
        using var noise = Tensor.Randn([count, 1, 8, 8], DType.Float32, g);
        using var scaled = noise.Mul(0.3);
        var images = picked.Add(scaled).DetachFromDisposeScope();
        return new TensorDataset(images, labels);
    }

    private static Module Net(ulong seed) => new Sequential(
        new Conv2d(1, 4, 3, padding: 1, generator: new Generator(seed)), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(4 * 4 * 4, 3, generator: new Generator(seed + 1)));

    private sealed class Recorder : ITrainingCallback
    {
        public int Starts, Batches, Ends;
        public List<int> Epochs { get; } = [];
        public void OnFitStart(Trainer t, int start, int epochs) => Starts++;
        public void OnBatchEnd(Trainer t, int epoch, int batch, int batches, double loss, double ips) => Batches++;
        public bool OnEpochEnd(Trainer t, EpochStats s) { Epochs.Add(s.Epoch); return true; }
        public void OnFitEnd(Trainer t, IReadOnlyList<EpochStats> h) => Ends++;
    }

    [Test]
    public void FitRunsEveryEpochCallsTheCallbacksAndLearns()
    {
        var ds = Problem(TestContext.CurrentContext.Random.NextULong(), 96);
        using var model = Net(1);
        using var opt = new SGD(model.Parameters(), 0.1, momentum: 0.9);
        using var train = new DataLoader(ds, 16, shuffle: true, seed: 3);
        using var test = new DataLoader(ds, 32);
        var trainer = new Trainer(model, opt, 3, new CosineAnnealingLR(opt, 6));
        var rec = new Recorder();
        trainer.Callbacks.Add(rec);
        var history = trainer.Fit(train, test, 6);
        Assert.That(rec.Epochs, Is.EqualTo(new[] { 0, 1, 2, 3, 4, 5 }));
        Assert.That(rec.Batches, Is.EqualTo(6 * 6));
        Assert.That((rec.Starts, rec.Ends), Is.EqualTo((1, 1)));
        Assert.That(history[^1].TestTop1, Is.GreaterThan(0.9), "a separable 3-class problem is learnt");
        Assert.That(history[^1].TrainLoss, Is.LessThan(history[0].TrainLoss));
        Assert.That(history[1].LearningRate, Is.LessThan(history[0].LearningRate), "the schedule stepped per epoch");
        long total = 0;
        foreach (var v in history[^1].Confusion!) total += v;
        Assert.That(total, Is.EqualTo(96));
    }

    [Test]
    public void ResumingFromACheckpointContinuesWithTheSameLossesAsAnUninterruptedRun()
    {
        var ds = Problem(5, 60);
        string path = Path.Combine(Path.GetTempPath(), $"resume-{Guid.NewGuid():N}.safetensors");
        try
        {
            List<EpochStats> Run(int epochs, string? resumeFrom, string? saveTo)
            {
                using var model = Net(11);
                using var opt = new Adam(model.Parameters(), 0.01);
                var sched = new StepLR(opt, 2, 0.5);
                using var loader = new DataLoader(ds, 12, shuffle: true, seed: 21);
                var trainer = new Trainer(model, opt, 3, sched);
                int start = 0;
                if (resumeFrom is not null) start = Checkpoint.Load(resumeFrom, model, opt, sched).Epoch + 1;
                var h = trainer.Fit(loader, null, epochs, start).ToList();
                if (saveTo is not null) Checkpoint.Save(saveTo, model, opt, sched, epochs - 1);
                return h;
            }
            var full = Run(4, null, null);
            Run(2, null, path);
            var resumed = Run(4, path, null);
            Assert.That(resumed.Select(e => e.Epoch), Is.EqualTo(new[] { 2, 3 }));
            Assert.That(resumed.Select(e => e.TrainLoss), Is.EqualTo(full.Skip(2).Select(e => e.TrainLoss)));
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void EarlyStoppingEndsTrainingWhenAccuracyStalls()
    {
        var ds = Problem(7, 30);
        using var model = Net(3);
        using var opt = new SGD(model.Parameters(), 0.0); // lr 0: accuracy never improves
        using var loader = new DataLoader(ds, 10);
        var trainer = new Trainer(model, opt, 3);
        var stop = new EarlyStopping(patience: 2);
        trainer.Callbacks.Add(stop);
        var history = trainer.Fit(loader, loader, 10);
        Assert.That(stop.Stopped, Is.True);
        Assert.That(history, Has.Count.EqualTo(3));
    }

    [Test]
    public void LogsAndCheckpointsAreWrittenEachEpoch()
    {
        var ds = Problem(9, 24);
        string dir = Directory.CreateTempSubdirectory("trainer").FullName;
        try
        {
            using var model = Net(5);
            using var opt = new SGD(model.Parameters(), 0.05);
            using var loader = new DataLoader(ds, 8);
            var trainer = new Trainer(model, opt, 3);
            var output = new StringWriter();
            trainer.Callbacks.Add(new ProgressReporter(output, interactive: false));
            trainer.Callbacks.Add(new CsvLogger(Path.Combine(dir, "log.csv")));
            trainer.Callbacks.Add(new JsonLinesLogger(Path.Combine(dir, "log.jsonl")));
            var best = new BestCheckpoint(Path.Combine(dir, "best.safetensors"), Path.Combine(dir, "last.safetensors"));
            trainer.Callbacks.Add(best);
            trainer.Fit(loader, loader, 2);
            var csv = File.ReadAllLines(Path.Combine(dir, "log.csv"));
            Assert.That(csv[0], Is.EqualTo(CsvLogger.Header));
            Assert.That(csv, Has.Length.EqualTo(3));
            Assert.That(csv[2], Does.StartWith("2,"));
            Assert.That(File.ReadAllLines(Path.Combine(dir, "log.jsonl")), Has.Length.EqualTo(2).And.All.Contain("\"test_acc\""));
            Assert.That(output.ToString(), Does.Contain("epoch 1/2").And.Contain("epoch 2/2").And.Not.Contain("\r"));
            Assert.That(File.Exists(Path.Combine(dir, "best.safetensors")) && File.Exists(Path.Combine(dir, "last.safetensors")), Is.True);
            Assert.That(best.BestEpoch, Is.GreaterThanOrEqualTo(0));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void TheProgressLineShowsRateLossAndEta()
    {
        var line = ProgressReporter.BarLine(0, 5, 25, 100, 0.4321, 1234, 10);
        Assert.That(line, Does.Contain("epoch 1/5").And.Contain("25/100").And.Contain("loss 0.4321").And.Contain("1234 img/s").And.Contain("ETA 0:30"));
    }
}
