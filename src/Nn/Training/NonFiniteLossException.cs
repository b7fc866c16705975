namespace Engine.Nn;

/// <summary>
/// Training met a NaN or infinite loss under <see cref="NonFiniteLoss.Stop"/>; the batch did not change the weights.
/// A learning rate too high, data with NaN or infinite values, or an overflow in reduced precision are the usual causes.
/// </summary>
public sealed class NonFiniteLossException(int epoch, int batch, double loss)
    : EngineException("trainer", $"the loss of epoch {epoch + 1}, batch {batch} is {loss}; training stopped before the batch changed the weights "
        + "(a learning rate too high, or NaN/Inf in the data?)")
{
    /// <summary>The epoch, from 0.</summary>
    public int Epoch { get; } = epoch;

    /// <summary>The batch within the epoch, from 1.</summary>
    public int Batch { get; } = batch;

    /// <summary>The loss.</summary>
    public double Loss { get; } = loss;
}
