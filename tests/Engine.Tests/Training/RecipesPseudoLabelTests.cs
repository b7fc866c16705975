using Engine.Nn;
using Engine.Nn.Data;
using static Engine.Tests.Training.RecipesTestData;

namespace Engine.Tests.Training;

public class RecipesPseudoLabelTests
{
    [Test]
    public void SelectionKeepsTheArgMaxOfConfidentRowsOnly()
    {
        using var scope = Tensor.NewDisposeScope();
        // softmax rows: [~0.97, …] confident class 0; uniform (1/3) unconfident; class 2 at ~0.84
        var logits = Tensor.FromArray(new float[] { 5, 1, 1, 0, 0, 0, 0, 1, 3 }, 3, 3);
        var (labels, kept) = PseudoLabels.Select(logits, 0.8);
        Assert.That(labels.ToArray<long>(), Is.EqualTo(new long[] { 0, PseudoLabels.Ignored, 2 }));
        Assert.That(kept, Is.EqualTo(2));
        var (all, n) = PseudoLabels.Select(logits, 0);
        Assert.That((all.ToArray<long>(), n), Is.EqualTo((new long[] { 0, 0, 2 }, 3)));
        var (none, zero) = PseudoLabels.Select(logits, 0.99);
        Assert.That((none.ToArray<long>(), zero), Is.EqualTo((new long[] { -100, -100, -100 }, 0)));
        Assert.That(() => PseudoLabels.Select(logits, 1.5), Throws.TypeOf<RecipeException>());
    }

    [Test]
    public void TheRampRisesLinearlyBetweenItsEpochs()
    {
        var ramp = new RampUp(3, start: 2, end: 6);
        Assert.That(new[] { 0, 1.99, 2, 4, 5, 6, 100 }.Select(ramp.Weight), Is.EqualTo(new[] { 0, 0, 0, 1.5, 2.25, 3, 3 }).Within(1e-12));
        Assert.That(new RampUp(1, 3, 3).Weight(3), Is.EqualTo(1));
        Assert.That(() => new RampUp(1, 5, 2), Throws.TypeOf<RecipeException>());
    }

    [Test]
    public void ChoosingFiltersByConfidenceAndBalancesClasses()
    {
        using var scope = Tensor.NewDisposeScope();
        var probs = Tensor.FromArray(new float[]
        {
            0.9f, 0.1f, 0f,   // 0: class 0, 0.9
            0.6f, 0.4f, 0f,   // 1: class 0, 0.6
            0.2f, 0.8f, 0f,   // 2: class 1, 0.8
            0.95f, 0f, 0.05f, // 3: class 0, 0.95
            0.4f, 0.3f, 0.3f, // 4: class 0, 0.4 (filtered at 0.5)
            0.1f, 0.2f, 0.7f, // 5: class 2, 0.7
        }, 6, 3);
        var (idx, cls) = PseudoLabels.Choose(probs, 0.5, balance: false);
        Assert.That(idx, Is.EqualTo(new[] { 3, 0, 1, 2, 5 }), "grouped by class, most confident first, sample 4 filtered");
        Assert.That(cls, Is.EqualTo(new long[] { 0, 0, 0, 1, 2 }));
        var (bi, bc) = PseudoLabels.Choose(probs, 0.5, balance: true, perClass: 2);
        Assert.That(bi, Is.EqualTo(new[] { 3, 0, 2, 2, 5, 5 }), "the most confident of a large class, duplicates of a small one");
        Assert.That(bc, Is.EqualTo(new long[] { 0, 0, 1, 1, 2, 2 }));
        var (ai, _) = PseudoLabels.Choose(probs, 0.5, balance: true);
        Assert.That(ai, Has.Length.EqualTo(6), "automatic: ceil(5 / 3) = 2 per class");
        Assert.That(() => PseudoLabels.Choose(probs, 0.99, false), Throws.TypeOf<RecipeException>().With.Message.Contains("threshold"));
        using var empty = Tensor.Zeros([0, 3], DType.Float32);
        Assert.That(() => PseudoLabels.Choose(empty, 0.5, false), Throws.TypeOf<RecipeException>().With.Message.Contains("empty"));
    }

    [Test]
    public void TheObjectiveAddsTheRampedLossOfConfidentUnlabelledSamples()
    {
        var labelled = Problem(1, 12);
        var unlabelled = new Unlabelled(Problem(2, 10));
        using var model = PlainNet(3);
        using var opt = new SGD(model.Parameters(), 0.01);
        using var lLoader = new DataLoader(labelled, 6, seed: 1);
        using var uLoader = new DataLoader(unlabelled, 5, seed: 1);
        var ramp = new RampUp(2, start: 0.25, end: 1.25);
        using var pl = new PseudoLabelling(uLoader, lLoader.Count, threshold: 0.4, ramp);
        var trainer = new Trainer(model, opt, 3);
        var batches = lLoader.GetEpoch(0).ToList();
        try
        {
            // Batch 0 (epoch 0.0): the ramp is still 0, only the labelled cross-entropy.
            using (Tensor.NewDisposeScope())
            {
                var (_, loss) = pl.Objective(trainer, batches[0]);
                var ce = Functional.CrossEntropy(model.Call(batches[0].Images), batches[0].Labels);
                Assert.That(loss.Item(), Is.EqualTo(ce.Item()).Within(1e-6));
                Assert.That((pl.LastWeight, pl.Seen), Is.EqualTo((0.0, 0L)));
            }
            // Batch 1 (epoch 0.5): weight 2·(0.5 − 0.25) = 0.5 on the first unlabelled batch.
            using (Tensor.NewDisposeScope())
            {
                var (_, loss) = pl.Objective(trainer, batches[1]);
                Assert.That(pl.LastWeight, Is.EqualTo(0.5).Within(1e-12));
                var ce = Functional.CrossEntropy(model.Call(batches[1].Images), batches[1].Labels).Item();
                using var u = uLoader.LoadBatch(0, 0);
                var uLogits = model.Call(u.Images);
                var p = uLogits.Softmax(1).To(DType.Float64).ToArray<double>();
                var logp = uLogits.LogSoftmax(1).To(DType.Float64).ToArray<double>();
                double sum = 0;
                int kept = 0;
                for (int i = 0; i < 5; i++)
                {
                    int best = 0;
                    for (int j = 1; j < 3; j++) if (p[i * 3 + j] > p[i * 3 + best]) best = j;
                    if (p[i * 3 + best] < 0.4) continue;
                    kept++;
                    sum -= logp[i * 3 + best];
                }
                Assert.That(kept, Is.GreaterThan(0), "some predictions pass the threshold");
                Assert.That((pl.Seen, pl.Accepted), Is.EqualTo((5L, (long)kept)));
                Assert.That(loss.Item(), Is.EqualTo(ce + 0.5 * sum / 5).Within(1e-5));
            }
        }
        finally { foreach (var b in batches) b.Dispose(); }
    }

    [Test]
    public void TrainingWithPseudoLabelsRunsAndAnEmptyUnlabelledSetIsRejected()
    {
        var labelled = Problem(1, 24);
        using var model = Net(3);
        using var opt = new SGD(model.Parameters(), 0.05, momentum: 0.9);
        using var lLoader = new DataLoader(labelled, 8, shuffle: true, seed: 1);
        using var uLoader = new DataLoader(new Unlabelled(Problem(2, 20)), 8, shuffle: true, seed: 2);
        using var pl = new PseudoLabelling(uLoader, lLoader.Count, threshold: 0.5, new RampUp(1, 0, 1));
        var trainer = new Trainer(model, opt, 3) { Objective = pl.Objective };
        var h = trainer.Fit(lLoader, null, 3);
        Assert.That(h.All(e => double.IsFinite(e.TrainLoss)), Is.True);
        // One unlabelled batch per labelled batch once the ramp is above 0 (all but epoch 0.0): 8 batches cycling 8, 8, 4.
        Assert.That(pl.Seen, Is.EqualTo(8 + 8 + 4 + 8 + 8 + 4 + 8 + 8));
        using var empty = new DataLoader(new Subset(labelled, []), 8);
        Assert.That(() => new PseudoLabelling(empty, 3), Throws.TypeOf<RecipeException>().With.Message.Contains("empty"));
    }
}
