namespace Engine.Nn;

/// <summary>Element dropout, active in training mode only.</summary>
public sealed class Dropout(double p = 0.5, Generator? generator = null) : Module
{
    /// <summary>Drop probability; settable (as PyTorch's <c>module.p</c>), e.g. to 0 for a deterministic training-mode check.</summary>
    public double P { get; set; } = p;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout(input, P, Training, generator);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P}";
}

/// <summary>Channel dropout, active in training mode only.</summary>
public sealed class Dropout2d(double p = 0.5, Generator? generator = null) : Module
{
    /// <summary>Drop probability of a whole channel; settable.</summary>
    public double P { get; set; } = p;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout2d(input, P, Training, generator);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P}";
}

/// <summary>Drops a whole residual branch per sample ("row") or per batch, in training mode.</summary>
public sealed class StochasticDepth(double p, bool perSample = true, Generator? generator = null) : Module
{
    /// <summary>Probability of dropping the branch; settable.</summary>
    public double P { get; set; } = p;
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.StochasticDepth(input, P, Training, perSample, generator);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P}, mode={(perSample ? "row" : "batch")}";
}
