namespace Engine.Nn;

/// <summary>What <see cref="Trainer"/> does with a training batch whose loss is NaN or infinite.</summary>
public enum NonFiniteLoss
{
    /// <summary>
    /// Stop training with <see cref="NonFiniteLossException"/> before the batch changes the weights (the default, like
    /// Keras's TerminateOnNaN and Lightning's <c>detect_anomaly</c>): the epochs finished so far keep their
    /// checkpoints and log rows.
    /// </summary>
    Stop,

    /// <summary>Skip the batch (no backward pass, no optimizer or per-batch schedule step) and warn through the callbacks.</summary>
    Skip,
}
