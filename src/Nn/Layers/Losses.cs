namespace Engine.Nn;

/// <summary>A loss: a module of (input, target).</summary>
public abstract class Loss : Module
{
    /// <summary>The loss of <paramref name="input"/> against <paramref name="target"/>.</summary>
    public abstract Tensor Forward(Tensor input, Tensor target);
}

/// <summary>Cross-entropy from logits with integer labels or probability targets (weights, ignore index, label smoothing).</summary>
public sealed class CrossEntropyLoss(Tensor? weight = null, long ignoreIndex = -100, Reduction reduction = Reduction.Mean, double labelSmoothing = 0) : Loss
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Functional.CrossEntropy(input, target, weight, ignoreIndex, reduction, labelSmoothing);
}

/// <summary>Negative log-likelihood from log-probabilities.</summary>
public sealed class NLLLoss(Tensor? weight = null, long ignoreIndex = -100, Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Functional.NllLoss(input, target, weight, ignoreIndex, reduction);
}

/// <summary>KL divergence with log-probability input.</summary>
public sealed class KLDivLoss(Reduction reduction = Reduction.Mean, bool logTarget = false) : Loss
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Functional.KlDiv(input, target, reduction, logTarget);
}

/// <summary>Binary cross-entropy on logits.</summary>
public sealed class BCEWithLogitsLoss(Tensor? weight = null, Tensor? posWeight = null, Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Functional.BinaryCrossEntropyWithLogits(input, target, weight, posWeight, reduction);
}

/// <summary>Mean squared error.</summary>
public sealed class MSELoss(Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Functional.MseLoss(input, target, reduction);
}

/// <summary>Knowledge distillation: α·T²·KL(teacher ‖ student at temperature T) + (1 − α)·CE(student, labels).</summary>
public sealed class DistillationLoss(double alpha = 0.5, double temperature = 4.0) : Module
{
    /// <summary>Weight of the soft (teacher) term.</summary>
    public double Alpha { get; } = alpha;
    /// <summary>Softmax temperature.</summary>
    public double Temperature { get; } = temperature;

    /// <summary>The loss for a batch.</summary>
    public Tensor Forward(Tensor studentLogits, Tensor teacherLogits, Tensor labels) =>
        Functional.DistillationLoss(studentLogits, teacherLogits, labels, Temperature, Alpha);
}
