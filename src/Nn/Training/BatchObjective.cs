using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>
/// A training objective for <see cref="Trainer.Objective"/>: the model's logits on <paramref name="batch"/>'s images
/// (for the training accuracy, measured against the batch's labels) and the loss to minimise. Called inside the
/// batch's dispose scope, with the model in training mode.
/// </summary>
public delegate (Tensor Logits, Tensor Loss) BatchObjective(Trainer trainer, Batch batch);
