using Engine.Nn;
using Engine.Nn.Data;
using static Engine.Tests.Training.RecipesTestData;

namespace Engine.Tests.Training;

public class RecipesNoisyStudentTests
{
    private sealed class Crash(int iteration, int afterEpoch) : ITrainingCallback
    {
        public int Iteration => iteration;
        public bool OnEpochEnd(Trainer trainer, EpochStats s) =>
            s.Epoch == afterEpoch ? throw new InvalidOperationException("simulated interruption") : true;
    }

    private static NoisyStudent Create(string folder, bool soft, int crashIteration = -1)
    {
        var labelled = Problem(1, 18);
        var unlabelled = new Unlabelled(Problem(2, 24));
        var options = new NoisyStudentOptions { Iterations = 1, Epochs = 2, BatchSize = 6, Lr = 0.05, Threshold = 0.2, SoftLabels = soft, NumClasses = 3, Seed = 4 };
        // The student is wider than the teacher (equal-or-larger).
        var ns = new NoisyStudent(labelled, unlabelled, Problem(3, 9), k => Net(10 + (ulong)k, width: 4 + 2 * k), options, folder);
        if (crashIteration >= 0) ns.ConfigureTrainer = (t, k) => { if (k == crashIteration) t.Callbacks.Add(new Crash(k, 0)); };
        return ns;
    }

    [TestCase(0, true)]
    [TestCase(1, true)]
    [TestCase(1, false)]
    public void EachPhaseResumesFromItsCheckpointToTheSameResult(int crashIteration, bool soft)
    {
        string straight = TempFolder("ns-a"), resumed = TempFolder("ns-b");
        try
        {
            var (a, phases) = Create(straight, soft).Run();
            using (a)
            {
                Assert.That(phases.Select(p => p.Iteration), Is.EqualTo(new[] { 0, 1 }));
                Assert.That(phases[1].PseudoLabelled, Is.GreaterThan(0));
                Assert.That(phases[1].TrainSamples, Is.EqualTo(18 + phases[1].PseudoLabelled));
                Assert.That(phases[1].Parameters, Is.GreaterThan(phases[0].Parameters));
                Assert.That(File.Exists(Path.Combine(straight, "iteration1", "final.safetensors")), Is.True);

                Assert.That(() => Create(resumed, soft, crashIteration).Run(), Throws.InvalidOperationException);
                Assert.That(File.Exists(Path.Combine(resumed, $"iteration{crashIteration}", "last.safetensors")), Is.True);
                Assert.That(File.Exists(Path.Combine(resumed, $"iteration{crashIteration}", "final.safetensors")), Is.False);
                var (b, again) = Create(resumed, soft).Run();
                using (b)
                {
                    Assert.That(again[crashIteration].History.Select(h => h.Epoch), Is.EqualTo(new[] { 1 }), "the interrupted phase continues after its epoch");
                    if (crashIteration == 1) Assert.That(again[0].Loaded, Is.True, "a complete phase is loaded, not retrained");
                    Assert.That(Snapshot(b), Is.EqualTo(Snapshot(a)), "resuming gives the uninterrupted run's student");
                }
            }
            var (c, loaded) = Create(straight, soft).Run();
            using (c) Assert.That(loaded.All(p => p.Loaded), Is.True);
        }
        finally
        {
            Directory.Delete(straight, true);
            Directory.Delete(resumed, true);
        }
    }

    [Test]
    public void BadSetupsAreTyped()
    {
        string dir = TempFolder("ns-bad");
        try
        {
            var options = new NoisyStudentOptions { Iterations = 1, Epochs = 1, BatchSize = 6, NumClasses = 3, Threshold = 0 };
            var smaller = new NoisyStudent(Problem(1, 12), new Unlabelled(Problem(2, 6)), null, k => Net(1, width: 6 - 2 * k), options, dir);
            Assert.That(() => smaller.Run(), Throws.TypeOf<RecipeException>().With.Message.Contains("equal-or-larger"));
            var empty = new NoisyStudent(Problem(1, 12), new Subset(Problem(2, 6), []), null, k => Net(1), options, dir);
            Assert.That(() => empty.Run(), Throws.TypeOf<RecipeException>().With.Message.Contains("unlabelled set is empty"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void ThePseudoLabelledSetHoldsLabelledThenChosenSamples()
    {
        var labelled = Problem(1, 4);
        var unlabelled = new Unlabelled(Problem(2, 3));
        using var probs = Tensor.FromArray(new float[] { 0.5f, 0.3f, 0.2f, 0.1f, 0.1f, 0.8f, 0.2f, 0.7f, 0.1f }, 3, 3);
        using var soft = new PseudoLabelledDataset(labelled, unlabelled, [2, 2, 0], [1, 1, 0], 3, probs);
        Assert.That(soft.Count, Is.EqualTo(7));
        Assert.That(Enumerable.Range(0, 7).Select(soft.LabelOf), Is.EqualTo(new long[] { 0, 1, 2, 0, 1, 1, 0 }));
        var t = soft.Targets.ToArray<float>();
        Assert.That(t.AsSpan(3 * 3, 3).ToArray(), Is.EqualTo(new[] { 1f, 0f, 0f }), "labelled: one-hot");
        Assert.That(t.AsSpan(4 * 3, 3).ToArray(), Is.EqualTo(new[] { 0.2f, 0.7f, 0.1f }), "pseudo: the teacher's probabilities");
        using var img = soft.Get(6).Image;
        using var src = unlabelled.Get(0).Image;
        Assert.That(img.ToArray<float>(), Is.EqualTo(src.ToArray<float>()));
        using var hard = new PseudoLabelledDataset(labelled, unlabelled, [2], [1], 3);
        Assert.That(hard.Targets.ToArray<float>().AsSpan(4 * 3, 3).ToArray(), Is.EqualTo(new[] { 0f, 1f, 0f }));
    }
}
