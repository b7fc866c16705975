namespace Engine.Nn;

/// <summary>y = x·Wᵀ + b, initialised as PyTorch (kaiming uniform with a = √5; bias U(±1/√in)).</summary>
public sealed class Linear : Module
{
    /// <summary>Weight [out, in].</summary>
    public Tensor Weight => Param("weight")!;
    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias => Param("bias");

    /// <summary>Creates the layer.</summary>
    public Linear(long inFeatures, long outFeatures, bool bias = true, DType dtype = DType.Float32, Generator? generator = null)
    {
        DefaultInit.WeightAndBias(this, RegisterParameter, inFeatures, outFeatures, [], 1, bias, dtype, generator);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_features={Weight.Size(1)}, out_features={Weight.Size(0)}, bias={(Bias is null ? "False" : "True")}";
}
