using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>
/// Pseudo-labelling (Lee 2013): each training step takes a labelled batch (from the trainer's loader) and an
/// unlabelled batch (from <see cref="Unlabelled"/>, cycled); the unlabelled images are labelled with the network's
/// own current prediction (the arg-max of the same forward pass, detached), kept only when its softmax confidence
/// reaches <see cref="Threshold"/>, and the loss is CE(labelled) + α(t)·Σ_confident CE(unlabelled, pseudo-label) / B_u,
/// α(t) given by the <see cref="RampUp"/> (averaging over the whole unlabelled batch, so rejected samples weigh zero,
/// as in FixMatch's formulation).
/// </summary>
/// <example>
/// <code>
/// using var pl = new PseudoLabelling(unlabelledLoader, labelledLoader.Count, threshold: 0.95, new RampUp(3, start: 2, end: 8));
/// var trainer = new Trainer(model, optimizer, numClasses: 10) { Objective = pl.Objective };
/// trainer.Fit(labelledLoader, valLoader, epochs: 15);
/// </code>
/// </example>
public sealed class PseudoLabelling : IDisposable
{
    private readonly int _batchesPerEpoch;
    private IEnumerator<Batch>? _stream;
    private int _unlabelledEpoch;

    /// <summary>The unlabelled data (its labels are not read).</summary>
    public DataLoader Unlabelled { get; }
    /// <summary>The softmax confidence a prediction needs to become a pseudo-label.</summary>
    public double Threshold { get; }
    /// <summary>The weight of the unlabelled loss over training.</summary>
    public RampUp Ramp { get; }
    /// <summary>Unlabelled samples seen so far.</summary>
    public long Seen { get; private set; }
    /// <summary>Unlabelled samples that passed the threshold so far.</summary>
    public long Accepted { get; private set; }
    /// <summary>The weight of the unlabelled loss at the last step.</summary>
    public double LastWeight { get; private set; }

    /// <summary>Creates the recipe; <paramref name="labelledBatchesPerEpoch"/> turns batch numbers into fractional epochs for the ramp.</summary>
    public PseudoLabelling(DataLoader unlabelled, int labelledBatchesPerEpoch, double threshold = 0.95, RampUp? ramp = null)
    {
        ArgumentNullException.ThrowIfNull(unlabelled);
        if (unlabelled.Dataset.Count == 0) throw new RecipeException("pseudo_label", "the unlabelled set is empty");
        if (unlabelled.Count == 0) throw new RecipeException("pseudo_label", $"the unlabelled set ({unlabelled.Dataset.Count} samples) gives no batch of {unlabelled.BatchSize}");
        if (!(threshold >= 0 && threshold <= 1)) throw new RecipeException("pseudo_label", $"the confidence threshold must be in [0, 1], got {threshold}");
        if (labelledBatchesPerEpoch < 1) throw new RecipeException("pseudo_label", $"the labelled loader gives no batch");
        (Unlabelled, _batchesPerEpoch, Threshold, Ramp) = (unlabelled, labelledBatchesPerEpoch, threshold, ramp ?? new RampUp(3, 0, 0));
    }

    /// <summary>The objective for <see cref="Trainer.Objective"/>.</summary>
    public (Tensor Logits, Tensor Loss) Objective(Trainer trainer, Batch batch)
    {
        var logits = trainer.Model.Call(batch.Images);
        var loss = Functional.CrossEntropy(logits, batch.SoftLabels ?? batch.Labels);
        LastWeight = Ramp.Weight(batch.Epoch + (double)batch.Index / _batchesPerEpoch);
        if (LastWeight == 0) return (logits, loss);
        var u = NextUnlabelled(); // collected by the trainer's batch scope, after the backward pass that needs its images
        if (u.Images.Device != logits.Device) throw new DeviceException("pseudo_label", $"unlabelled batches are on {u.Images.Device}, the model on {logits.Device}");
        var uLogits = trainer.Model.Call(u.Images);
        var (pseudo, kept) = PseudoLabels.Select(uLogits, Threshold);
        Seen += u.Size;
        Accepted += kept;
        if (kept == 0) return (logits, loss);
        var perSample = Functional.CrossEntropy(uLogits, pseudo, ignoreIndex: PseudoLabels.Ignored, reduction: Reduction.Sum);
        return (logits, loss.Add(perSample.Mul(LastWeight / u.Size)));
    }

    private Batch NextUnlabelled()
    {
        for (int attempt = 0; attempt < 2; attempt++)
        {
            _stream ??= Unlabelled.GetEpoch(_unlabelledEpoch++).GetEnumerator();
            if (_stream.MoveNext()) return _stream.Current;
            _stream.Dispose();
            _stream = null;
        }
        throw new RecipeException("pseudo_label", "the unlabelled loader gives no batch");
    }

    /// <summary>Stops the unlabelled stream (the loader stays the caller's).</summary>
    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
    }
}
