namespace Engine.Nn;

/// <summary>
/// The weight of the unlabelled loss over training (Lee 2013, eq. 16): 0 before epoch <see cref="Start"/>, rising
/// linearly to <see cref="Final"/> at epoch <see cref="End"/>, then constant. A late, slow start keeps the pseudo-labels
/// of an untrained network from being learned as truth. Epochs are fractional (epoch + batch / batches).
/// </summary>
public sealed record RampUp
{
    /// <summary>The weight after the ramp (Lee: 3).</summary>
    public double Final { get; }
    /// <summary>The epoch at which the weight starts to rise (Lee: T1 = 100 of his epochs).</summary>
    public double Start { get; }
    /// <summary>The epoch at which the weight reaches <see cref="Final"/> (Lee: T2 = 600).</summary>
    public double End { get; }

    /// <summary>Creates the ramp; <paramref name="end"/> = <paramref name="start"/> is a step.</summary>
    public RampUp(double final, double start, double end)
    {
        if (!(final >= 0) || double.IsInfinity(final)) throw new RecipeException("ramp_up", $"the final weight must be finite and non-negative, got {final}");
        if (!(start >= 0) || !(end >= start) || double.IsInfinity(end)) throw new RecipeException("ramp_up", $"need 0 ≤ start ≤ end, got start {start}, end {end}");
        (Final, Start, End) = (final, start, end);
    }

    /// <summary>The weight at (fractional) <paramref name="epoch"/>.</summary>
    public double Weight(double epoch) =>
        epoch < Start ? 0 : epoch >= End ? Final : Final * (epoch - Start) / (End - Start);
}
