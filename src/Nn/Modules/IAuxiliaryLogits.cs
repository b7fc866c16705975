namespace Engine.Nn;

/// <summary>Logits of an auxiliary classifier head and the weight of its loss in the training objective.</summary>
public readonly record struct AuxiliaryLogits(string Name, Tensor Logits, double LossWeight);

/// <summary>
/// A model with auxiliary classifier heads (GoogLeNet, Inception v3). <see cref="Module.Forward"/> keeps returning
/// the main logits in every mode, so the model works wherever any other does; a trainer that knows about heads
/// calls <see cref="ForwardWithAuxiliary"/> in training mode and adds each head's weighted loss
/// (loss = CE(main) + Σ weight·CE(aux)), as the papers do (0.3 per GoogLeNet head, 0.4 for Inception v3's).
/// </summary>
public interface IAuxiliaryLogits
{
    /// <summary>
    /// The main logits and, in training mode when the heads are enabled, each auxiliary head's logits with its loss
    /// weight (empty in eval mode or with the heads disabled).
    /// </summary>
    (Tensor Logits, IReadOnlyList<AuxiliaryLogits> Auxiliary) ForwardWithAuxiliary(Tensor input);
}
