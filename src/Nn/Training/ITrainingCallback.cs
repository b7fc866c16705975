namespace Engine.Nn;

/// <summary>Hooks into <see cref="Trainer.Fit"/>: progress, logging, checkpoints, early stopping.</summary>
public interface ITrainingCallback
{
    /// <summary>Before the first epoch of a Fit call.</summary>
    void OnFitStart(Trainer trainer, int startEpoch, int epochs) { }

    /// <summary>After each training batch: the epoch, batch number (from 1), batches per epoch, that batch's loss and the running images/s.</summary>
    void OnBatchEnd(Trainer trainer, int epoch, int batch, int batches, double loss, double imagesPerSecond) { }

    /// <summary>A batch skipped because its loss was <paramref name="loss"/> (NaN or infinite) under <see cref="NonFiniteLoss.Skip"/>.</summary>
    void OnBatchSkipped(Trainer trainer, int epoch, int batch, double loss) { }

    /// <summary>After each epoch's evaluation. Return false to stop training (early stopping).</summary>
    bool OnEpochEnd(Trainer trainer, EpochStats stats) => true;

    /// <summary>After the last epoch (or an early stop).</summary>
    void OnFitEnd(Trainer trainer, IReadOnlyList<EpochStats> history) { }
}
