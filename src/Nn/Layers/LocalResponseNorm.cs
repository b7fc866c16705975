namespace Engine.Nn;

/// <summary>Local response normalisation across channels (AlexNet).</summary>
public sealed class LocalResponseNorm(int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LocalResponseNorm(input, size, alpha, beta, k);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{size}, alpha={alpha}, beta={beta}, k={k}";
}
