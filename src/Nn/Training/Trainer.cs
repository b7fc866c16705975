using System.Diagnostics;
using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>
/// Epochs of training and evaluation for an image classifier: cross-entropy on the model's logits (soft labels
/// when the loader mixes batches with CutMix or MixUp), the optimizer and an optional LR schedule stepped per
/// epoch or per batch, top-1/top-k accuracy and a confusion matrix on the test set, and callbacks for progress,
/// logs, checkpoints and early stopping. Every batch runs in a dispose scope, so memory stays flat.
/// </summary>
public sealed class Trainer
{
    private readonly List<EpochStats> _history = [];

    /// <summary>The model being trained.</summary>
    public Module Model { get; }
    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>The learning-rate schedule, or null.</summary>
    public LRScheduler? Scheduler { get; }
    /// <summary>True to step the schedule after every batch, false (default) after every epoch.</summary>
    public bool StepSchedulePerBatch { get; }
    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }
    /// <summary>Label smoothing of the training loss.</summary>
    public double LabelSmoothing { get; }
    /// <summary>Callbacks, run in order.</summary>
    public List<ITrainingCallback> Callbacks { get; } = [];
    /// <summary>
    /// The training objective of a batch, replacing the default cross-entropy (<see cref="TrainingLoss"/>): the
    /// recipes (distillation, pseudo-labelling, noisy student) plug in here and keep the rest of the loop, the
    /// callbacks and the checkpoints. Null (the default): <see cref="TrainingLoss"/> on the batch's labels.
    /// </summary>
    public BatchObjective? Objective { get; set; }
    /// <summary>What a NaN or infinite training loss does: stop (the default) or skip the batch with a warning.</summary>
    public NonFiniteLoss OnNonFiniteLoss { get; set; } = NonFiniteLoss.Stop;
    /// <summary>Every finished epoch, in order (including those of earlier Fit calls).</summary>
    public IReadOnlyList<EpochStats> History => _history;

    /// <summary>Creates a trainer.</summary>
    public Trainer(Module model, Optimizer optimizer, int numClasses, LRScheduler? scheduler = null, bool stepSchedulePerBatch = false, double labelSmoothing = 0)
    {
        if (numClasses < 2) throw new ArgumentValueException("trainer", $"a classifier needs at least 2 classes, got {numClasses}");
        (Model, Optimizer, NumClasses, Scheduler, StepSchedulePerBatch, LabelSmoothing) = (model, optimizer, numClasses, scheduler, stepSchedulePerBatch, labelSmoothing);
    }

    /// <summary>
    /// Trains epochs <paramref name="startEpoch"/> … <paramref name="epochs"/> − 1 (a resumed run passes the epoch
    /// after its checkpoint), evaluating on <paramref name="test"/> after each. Returns the epochs run.
    /// </summary>
    public IReadOnlyList<EpochStats> Fit(DataLoader train, DataLoader? test, int epochs, int startEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (epochs < 0 || startEpoch < 0) throw new ArgumentValueException("trainer", $"epochs must be non-negative, got epochs={epochs}, start={startEpoch}");
        if (train.Count == 0 && startEpoch < epochs)
            throw new ArgumentValueException("trainer", train.Dataset.Count == 0 ? "the training set is empty"
                : $"the training loader yields no batch: {train.Dataset.Count} samples, batch size {train.BatchSize}{(train.DropLast ? ", incomplete batches dropped" : "")}");
        var run = new List<EpochStats>();
        foreach (var c in Callbacks) c.OnFitStart(this, startEpoch, epochs);
        for (int epoch = startEpoch; epoch < epochs; epoch++)
        {
            var stats = TrainEpoch(train, test, epoch);
            _history.Add(stats);
            run.Add(stats);
            bool go = true;
            foreach (var c in Callbacks) go &= c.OnEpochEnd(this, stats);
            if (!go) break;
        }
        foreach (var c in Callbacks) c.OnFitEnd(this, _history);
        return run;
    }

    private EpochStats TrainEpoch(DataLoader train, DataLoader? test, int epoch)
    {
        Model.Train();
        var clock = Stopwatch.StartNew();
        var metrics = new ClassificationMetrics(NumClasses);
        double lr = Optimizer.ParamGroups[0].Lr;
        long images = 0;
        int batches = train.Count, b = 0;
        foreach (var batch in train.GetEpoch(epoch))
        {
            using var scope = Tensor.NewDisposeScope();
            using (batch)
            {
                Optimizer.ZeroGrad();
                var (logits, loss) = Objective is { } objective ? objective(this, batch) : TrainingLoss(batch.Images, batch.SoftLabels ?? batch.Labels);
                double l = loss.Item();
                b++;
                if (!double.IsFinite(l))
                {
                    // Checked before the backward pass, so the weights (and the optimizer's state) never see it.
                    if (OnNonFiniteLoss == NonFiniteLoss.Stop) throw new NonFiniteLossException(epoch, b, l);
                    foreach (var c in Callbacks) c.OnBatchSkipped(this, epoch, b, l);
                    continue;
                }
                loss.Backward();
                Optimizer.Step();
                if (StepSchedulePerBatch) Scheduler?.Step();
                using (Tensor.NoGrad()) metrics.Update(logits.Detach(), batch.Labels, l);
                images += batch.Size;
                double rate = images / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                foreach (var c in Callbacks) c.OnBatchEnd(this, epoch, b, batches, l, rate);
            }
        }
        if (!StepSchedulePerBatch) Scheduler?.Step();
        double seconds = clock.Elapsed.TotalSeconds;
        double ips = images / Math.Max(seconds, 1e-9);
        if (test is null) return new EpochStats(epoch, metrics.MeanLoss, metrics.Top1, null, null, null, lr, seconds, ips, null);
        var (testLoss, tm) = Evaluate(test);
        // An empty test set measures nothing: its metrics are absent, not NaN or 0.
        if (tm.Count == 0) return new EpochStats(epoch, metrics.MeanLoss, metrics.Top1, null, null, null, lr, seconds, ips, null);
        return new EpochStats(epoch, metrics.MeanLoss, metrics.Top1, testLoss, tm.Top1, tm.TopK, lr, seconds, ips, tm.Confusion);
    }

    /// <summary>
    /// The main logits and the training objective for one batch: cross-entropy of the main logits plus, for a model
    /// with auxiliary heads (<see cref="IAuxiliaryLogits"/>), each head's cross-entropy times its weight.
    /// </summary>
    public (Tensor Logits, Tensor Loss) TrainingLoss(Tensor images, Tensor targets)
    {
        if (Model is not IAuxiliaryLogits withAux || !Model.Training)
        {
            var logits = Model.Call(images);
            return (logits, Functional.CrossEntropy(logits, targets, labelSmoothing: LabelSmoothing));
        }
        var (main, aux) = withAux.ForwardWithAuxiliary(images);
        var loss = Functional.CrossEntropy(main, targets, labelSmoothing: LabelSmoothing);
        foreach (var a in aux)
            loss = loss.Add(Functional.CrossEntropy(a.Logits, targets, labelSmoothing: LabelSmoothing).Mul(a.LossWeight));
        return (main, loss);
    }

    /// <summary>Mean cross-entropy and the classification metrics of the model (in eval mode, without gradients) on <paramref name="loader"/>.</summary>
    public (double Loss, ClassificationMetrics Metrics) Evaluate(DataLoader loader)
    {
        bool wasTraining = Model.Training;
        Model.Eval();
        var metrics = new ClassificationMetrics(NumClasses);
        try
        {
            using var noGrad = Tensor.NoGrad();
            foreach (var batch in loader.GetEpoch(0))
            {
                using var scope = Tensor.NewDisposeScope();
                using (batch)
                {
                    var logits = Model.Call(batch.Images);
                    double l = Functional.CrossEntropy(logits, batch.Labels).Item();
                    metrics.Update(logits, batch.Labels, l);
                }
            }
        }
        finally { Model.Train(wasTraining); }
        return (metrics.MeanLoss, metrics);
    }
}
