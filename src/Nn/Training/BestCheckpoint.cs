namespace Engine.Nn;

/// <summary>
/// Saves a full training checkpoint (model, optimizer, schedule, epoch, RNG) after every epoch to
/// <paramref name="lastPath"/> (for resuming) and to <paramref name="bestPath"/> whenever the test accuracy
/// (the training accuracy when there is no test set) beats the best so far. Writes are atomic.
/// </summary>
public sealed class BestCheckpoint(string bestPath, string? lastPath = null, Generator? rng = null, IReadOnlyDictionary<string, string>? extra = null) : ITrainingCallback
{
    /// <summary>The best score seen.</summary>
    public double Best { get; private set; } = double.NegativeInfinity;

    /// <summary>The epoch of the best score, or −1.</summary>
    public int BestEpoch { get; private set; } = -1;

    /// <inheritdoc/>
    public bool OnEpochEnd(Trainer trainer, EpochStats s)
    {
        var meta = new Dictionary<string, string>(extra ?? new Dictionary<string, string>())
        {
            ["test_acc"] = (s.TestTop1 ?? double.NaN).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (lastPath is not null) Checkpoint.Save(lastPath, trainer.Model, trainer.Optimizer, trainer.Scheduler, s.Epoch, rng, meta);
        double score = s.TestTop1 ?? s.TrainTop1;
        if (score > Best)
        {
            Best = score;
            BestEpoch = s.Epoch;
            Checkpoint.Save(bestPath, trainer.Model, trainer.Optimizer, trainer.Scheduler, s.Epoch, rng, meta);
        }
        return true;
    }
}
