using Engine.Kernels.Fused;
using Engine.Kernels;

namespace Engine;

/// <summary>How a loss combines its per-element values.</summary>
public enum Reduction
{
    /// <summary>No reduction: one value per element (or sample).</summary>
    None,
    /// <summary>The mean (for weighted classification losses, divided by the total weight, as PyTorch).</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
    /// <summary>The sum divided by the batch size (KL divergence only; the mathematically correct KL).</summary>
    BatchMean,
}

public static partial class Functional
{
    private static void NoBatchMean(string op, Reduction r)
    {
        if (r == Reduction.BatchMean) throw new ArgumentValueException(op, "reduction BatchMean is only defined for kl_div");
    }

    private static Tensor Reduce(Tensor loss, Reduction r) => r switch
    {
        Reduction.None => loss,
        Reduction.Sum => loss.Sum(),
        _ => loss.Mean(),
    };

    // [N, C, d1, ...] → [M, C] with the class dim last, M = N·d1·…
    private static Tensor ClassesLast(Tensor logits)
    {
        if (logits.Rank == 2) return logits;
        var perm = new List<int> { 0 };
        for (int d = 2; d < logits.Rank; d++) perm.Add(d);
        perm.Add(1);
        return logits.Permute([.. perm]).Reshape(-1, logits.Size(1));
    }

    private static void CheckLogitsTarget(string op, Tensor logits, Tensor target)
    {
        logits.StorageOf(op); target.StorageOf(op);
        Checks.Float(op, logits);
        Checks.SameDevice(op, logits, target);
        if (logits.Rank < 2) throw new ShapeException(op, $"expected logits of shape (N, C) or (N, C, d1, ...), got {ShapeUtil.Format(logits.ShapeSpan)}");
    }

    // Returns how many labels are not the ignore index.
    private static long CheckLabels(string op, Tensor logits, Tensor target, long ignoreIndex)
    {
        Checks.IsDType(op, target, DType.Int64, "class labels");
        var expect = new List<long> { logits.Size(0) };
        for (int d = 2; d < logits.Rank; d++) expect.Add(logits.Size(d));
        if (!target.ShapeSpan.SequenceEqual(expect.ToArray()))
            throw new ShapeException(op, $"labels of shape {ShapeUtil.Format(target.ShapeSpan)} do not match logits {ShapeUtil.Format(logits.ShapeSpan)} (expected {ShapeUtil.Format(expect.ToArray())})");
        long c = logits.Size(1);
        using var _ = Tensor.NoGrad();
        long counted = 0;
        foreach (var v in target.ToArray<long>())
        {
            if (v == ignoreIndex) continue;
            if (v < 0 || v >= c) throw new IndexException(op, $"label {v} is out of range for {c} classes (ignore index {ignoreIndex})");
            counted++;
        }
        return counted;
    }

    private static void CheckWeight(string op, Tensor logits, Tensor? weight)
    {
        if (weight is null) return;
        Checks.SameDType(op, logits, weight);
        Checks.SameDevice(op, logits, weight);
        if (weight.Rank != 1 || weight.Size(0) != logits.Size(1))
            throw new ShapeException(op, $"class weights must have shape [{logits.Size(1)}], got {ShapeUtil.Format(weight.ShapeSpan)}");
    }

    /// <summary>
    /// Negative log-likelihood from log-probabilities [N, C, ...] and int64 labels [N, ...]. Labels equal to
    /// <paramref name="ignoreIndex"/> contribute nothing; with class weights the mean divides by the summed weight of the counted labels.
    /// </summary>
    public static Tensor NllLoss(Tensor logProbs, Tensor target, Tensor? weight = null, long ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        const string op = "nll_loss";
        NoBatchMean(op, reduction);
        CheckLogitsTarget(op, logProbs, target);
        CheckLabels(op, logProbs, target, ignoreIndex);
        CheckWeight(op, logProbs, weight);
        var (perSample, w) = PickedLoss(ClassesLast(logProbs), target.Reshape(-1), weight, ignoreIndex);
        return reduction switch
        {
            Reduction.None => perSample.Reshape(target.Shape),
            Reduction.Sum => perSample.Sum(),
            _ => perSample.Sum().Div(w.Sum()),
        };
    }

    // −w[y]·logp[y] per row and the weight w[y] counted for each row (0 for ignored rows).
    private static (Tensor Loss, Tensor Weight) PickedLoss(Tensor logp, Tensor target, Tensor? weight, long ignoreIndex)
    {
        using var valid = target.Ne(ignoreIndex);
        using var zero = Tensor.Zeros([], DType.Int64, target.Device);
        var safe = Tensor.Where(valid, target, zero); // not disposed here: the backward of index_select (class weights) reads it
        var picked = logp.Gather(1, safe.Unsqueeze(1)).Squeeze(1);
        var w = valid.To(logp.DType);
        if (weight is not null) w = w.Mul(weight.IndexSelect(0, safe));
        return (picked.Mul(w).Neg(), w);
    }

    /// <summary>
    /// Cross-entropy from logits [N, C, ...] and int64 class labels [N, ...], with optional class weights,
    /// ignore index and label smoothing ε: (1 − ε)·NLL + ε/C · (−Σ_c w_c·log p_c), reduced as PyTorch does.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Tensor? weight = null, long ignoreIndex = -100,
        Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    {
        const string op = "cross_entropy";
        NoBatchMean(op, reduction);
        CheckLogitsTarget(op, logits, target);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new ArgumentValueException(op, $"label smoothing must be in [0, 1], got {labelSmoothing}");
        if (target.DType.IsFloatingPoint())
        {
            // As PyTorch: an ignore index means nothing for probability targets, so a real one is an error.
            if (ignoreIndex >= 0) throw new ArgumentValueException(op, $"ignore_index={ignoreIndex} is not supported with probability targets");
            return CrossEntropySoft(logits, target, weight, reduction, labelSmoothing);
        }
        CheckLabels(op, logits, target, ignoreIndex);
        CheckWeight(op, logits, weight);
        long c = logits.Size(1);
        var logp = ClassesLast(logits).LogSoftmax(1);
        var flat = target.Reshape(-1);
        var (perSample, w) = PickedLoss(logp, flat, weight, ignoreIndex);
        Tensor nll = reduction switch
        {
            Reduction.None => perSample,
            Reduction.Sum => perSample.Sum(),
            _ => perSample.Sum().Div(w.Sum()),
        };
        if (labelSmoothing > 0)
        {
            var weighted = weight is null ? logp : logp.Mul(weight);
            using var valid = flat.Ne(ignoreIndex);
            var smooth = weighted.Sum(1).Neg().Mul(valid.To(logp.DType));
            Tensor s = reduction switch
            {
                Reduction.None => smooth,
                Reduction.Sum => smooth.Sum(),
                _ => smooth.Sum().Div(weight is null ? valid.To(logp.DType).Sum() : w.Sum()),
            };
            nll = nll.Mul(1 - labelSmoothing).Add(s.Mul(labelSmoothing / c));
        }
        return reduction == Reduction.None ? nll.Reshape(target.Shape) : nll;
    }

    private static void CheckDistribution(string op, Tensor p, int dim, string what)
    {
        using var _ = Tensor.NoGrad();
        using var mn = p.Min();
        if (mn.Item() < 0) throw new ArgumentValueException(op, $"{what} must be non-negative probabilities, found {mn.Item():G4}");
        using var sums = p.Sum(dim);
        double tol = p.DType == DType.Float64 ? 1e-6 : 1e-3;
        foreach (var s in sums.ToDoubleArray())
            if (Math.Abs(s - 1) > tol) throw new ArgumentValueException(op, $"{what} must sum to 1 along dim {dim}, found a sum of {s:G6}");
    }

    private static Tensor CrossEntropySoft(Tensor logits, Tensor target, Tensor? weight, Reduction reduction, double labelSmoothing)
    {
        const string op = "cross_entropy";
        Checks.SameDType(op, logits, target);
        if (!target.ShapeSpan.SequenceEqual(logits.ShapeSpan))
            throw new ShapeException(op, $"probability targets must have the logits' shape {ShapeUtil.Format(logits.ShapeSpan)}, got {ShapeUtil.Format(target.ShapeSpan)}");
        CheckWeight(op, logits, weight);
        CheckDistribution(op, target, 1, "soft targets");
        long c = logits.Size(1);
        var logp = ClassesLast(logits).LogSoftmax(1);
        var t = ClassesLast(target);
        if (labelSmoothing > 0) t = t.Mul(1 - labelSmoothing).Add(labelSmoothing / c);
        var term = logp.Mul(t);
        if (weight is not null) term = term.Mul(weight);
        var perSample = term.Sum(1).Neg();
        if (reduction == Reduction.None)
        {
            var shape = new List<long> { logits.Size(0) };
            for (int d = 2; d < logits.Rank; d++) shape.Add(logits.Size(d));
            return perSample.Reshape([.. shape]);
        }
        return Reduce(perSample, reduction);
    }

    /// <summary>
    /// KL divergence with <paramref name="input"/> as log-probabilities and <paramref name="target"/> as
    /// probabilities (or log-probabilities when <paramref name="logTarget"/>): pointwise t·(log t − input), 0 where t = 0.
    /// Mean averages over every element; BatchMean divides the sum by the batch size (the true KL). Runs as one fused kernel
    /// over the broadcast shape (<see cref="Engine.Kernels.Fused.FusedOps.KlDiv"/>), and one for both gradients.
    /// </summary>
    public static Tensor KlDiv(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool logTarget = false)
    {
        const string op = "kl_div";
        input.StorageOf(op); target.StorageOf(op);
        Checks.Float(op, input);
        Checks.SameDType(op, input, target);
        Checks.SameDevice(op, input, target);
        var shape = Checks.Broadcast(op, input.ShapeSpan, target.ShapeSpan);
        if (!logTarget)
        {
            using var _ = Tensor.NoGrad();
            using var mn = target.Min();
            if (target.NumEl > 0 && mn.Item() < 0) throw new ArgumentValueException(op, $"target probabilities must be non-negative, found {mn.Item():G4}");
        }
        // One fused kernel (FusedOps.KlDiv) over the broadcast shape; the operands are made contiguous first.
        long n = ShapeUtil.NumEl(shape);
        bool reduce = reduction != Reduction.None;
        double scale = reduction switch
        {
            Reduction.Mean => 1.0 / n,
            Reduction.BatchMean => 1.0 / (input.Rank == 0 ? 1 : input.Size(0)),
            _ => 1.0,
        };
        Tensor Dense(Tensor t)
        {
            if (t.ShapeSpan.SequenceEqual(shape)) return t.ContiguousNoGrad();
            using var _ = Tensor.NoGrad();
            using var e = t.Expand(shape);
            return e.ContiguousNoGrad();
        }
        var result = Tensor.Empty(reduce ? [] : shape, input.DType, input.Device, op: op);
        using (var xc = Dense(input))
        using (var tc = Dense(target))
            FusedOps.KlDiv.Run(input.Backend, new(result.View(op), xc.View(op), tc.View(op), logTarget, reduce, scale));
        long[] inShape = input.Shape, tShape = target.Shape;
        return Autograd.Record(result, op, [input, target], (g, need) =>
        {
            using var gc = g.ContiguousNoGrad();
            using var xc = Dense(input);
            using var tc = Dense(target);
            var dx = need[0] ? Tensor.Empty(shape, input.DType, input.Device, op: op) : null;
            var dt = need[1] ? Tensor.Empty(shape, input.DType, input.Device, op: op) : null;
            FusedOps.KlDivBackward.Run(input.Backend, new(dx?.View(op), dt?.View(op), gc.View(op), xc.View(op), tc.View(op), logTarget, reduce ? scale : 1.0));
            return [dx is null ? null : Unbroadcast(dx, inShape), dt is null ? null : Unbroadcast(dt, tShape)];
        }, saved: [input, target]);
    }

    // A gradient of the broadcast shape summed back to an operand's shape.
    private static Tensor Unbroadcast(Tensor grad, long[] shape)
    {
        if (grad.ShapeSpan.SequenceEqual(shape)) return grad;
        using (grad) return grad.SumTo(shape);
    }

    /// <summary>
    /// Knowledge-distillation loss (Hinton et al.): α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) (batch mean)
    /// + (1 − α)·CE(student, labels). The teacher logits get no gradient. [B, C] logits with int64 labels (−100 ignored, as
    /// cross-entropy) run as one fused kernel that also writes the student gradient (<see cref="Engine.Kernels.Fused.FusedOps.Distillation"/>);
    /// soft labels, [N, C, d1, ...] logits and a batch whose labels are all ignored use the composed formula.
    /// </summary>
    public static Tensor DistillationLoss(Tensor studentLogits, Tensor teacherLogits, Tensor labels, double temperature, double alpha)
    {
        const string op = "distillation_loss";
        CheckTemperature(op, temperature);
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentValueException(op, $"alpha must be in [0, 1], got {alpha}");
        CheckLogitsTarget(op, studentLogits, labels);
        long counted = labels.DType.IsFloatingPoint() ? 0 : CheckLabels(op, studentLogits, labels, ignoreIndex: -100);
        if (!teacherLogits.ShapeSpan.SequenceEqual(studentLogits.ShapeSpan))
            throw new ShapeException(op, $"teacher logits {ShapeUtil.Format(teacherLogits.ShapeSpan)} must have the student's shape {ShapeUtil.Format(studentLogits.ShapeSpan)}");
        // The fused kernel covers [B, C] logits with int64 labels; soft (float) labels, extra spatial dims, an empty
        // batch, or every label ignored with alpha < 1 (a 0/0 cross-entropy) take the composed path below.
        if (!labels.DType.IsFloatingPoint() && studentLogits.Rank == 2 && studentLogits.NumEl > 0 && (counted > 0 || alpha == 1))
        {
            Checks.SameDType(op, studentLogits, teacherLogits);
            Checks.SameDevice(op, studentLogits, teacherLogits);
            return FusedDistillation(op, studentLogits, teacherLogits, labels, temperature, alpha, counted);
        }
        var teacher = teacherLogits.Detach();
        var soft = KlDiv(LogSoftmax(studentLogits, temperature, 1), LogSoftmax(teacher, temperature, 1), Reduction.BatchMean, logTarget: true)
            .Mul(alpha * temperature * temperature);
        if (alpha == 1) return soft;
        return soft.Add(CrossEntropy(studentLogits, labels).Mul(1 - alpha));
    }

    // One kernel call (FusedOps.Distillation) gives the loss and, when the student needs it, its gradient; the
    // backward only scales that saved gradient by the upstream one.
    private static Tensor FusedDistillation(string op, Tensor student, Tensor teacher, Tensor labels, double temperature, double alpha, long counted)
    {
        long b = student.Size(0);
        double klScale = alpha * temperature * temperature / b;
        double ceScale = alpha == 1 ? 0 : (1 - alpha) / counted;
        bool wantGrad = GradMode.IsEnabled && student.RequiresGrad;
        using var sc = student.ContiguousNoGrad();
        using var tc = teacher.ContiguousNoGrad();
        using var lc = labels.ContiguousNoGrad();
        using var rows = Tensor.Empty([b], student.DType, student.Device, op: op);
        var loss = Tensor.Empty([], student.DType, student.Device, op: op);
        var grad = wantGrad ? Tensor.Empty(student.ShapeSpan, student.DType, student.Device, op: op) : null;
        FusedOps.Distillation.Run(student.Backend, new(loss.View(op), rows.View(op), grad?.View(op), sc.View(op), tc.View(op), lc.View(op), temperature, klScale, ceScale));
        if (grad is null) return loss;
        return Autograd.Record(loss, op, [student], (g, _) => [grad.Mul(g)]);
    }

    /// <summary>
    /// Binary cross-entropy on logits, computed stably: (1 − y)·x + (1 + (p − 1)·y)·softplus(−x), with
    /// softplus(−x) = m + log(e^−m + e^(−x−m)), m = max(−x, 0), whose gradient −σ(−x) is exact also at x = 0,
    /// with optional per-element <paramref name="weight"/> and positive-class weight <paramref name="posWeight"/>.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target, Tensor? weight = null, Tensor? posWeight = null, Reduction reduction = Reduction.Mean)
    {
        const string op = "binary_cross_entropy_with_logits";
        NoBatchMean(op, reduction);
        CheckFloatOperands(op, logits, target, weight, posWeight);
        if (!target.ShapeSpan.SequenceEqual(logits.ShapeSpan))
            throw new ShapeException(op, $"target shape {ShapeUtil.Format(target.ShapeSpan)} must equal the logits' shape {ShapeUtil.Format(logits.ShapeSpan)}");
        foreach (var (w, name) in new[] { (weight, "weight"), (posWeight, "pos_weight") })
            if (w is not null && !Checks.Broadcast(op, w.ShapeSpan, logits.ShapeSpan).AsSpan().SequenceEqual(logits.ShapeSpan))
                throw new ShapeException(op, $"{name} of shape {ShapeUtil.Format(w.ShapeSpan)} does not broadcast to the logits' shape {ShapeUtil.Format(logits.ShapeSpan)}");
        var m = logits.Neg().Relu();
        var softplusNeg = m.Neg().Exp().Add(logits.Neg().Sub(m).Exp()).Log().Add(m);
        var coef = posWeight is null ? null : posWeight.Sub(1.0).Mul(target).Add(1.0);
        var loss = target.RSub(1.0).Mul(logits).Add(coef is null ? softplusNeg : coef.Mul(softplusNeg));
        if (weight is not null) loss = loss.Mul(weight);
        return Reduce(loss, reduction);
    }

    /// <summary>Mean squared error (x − y)², broadcasting.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        const string op = "mse_loss";
        NoBatchMean(op, reduction);
        CheckFloatOperands(op, input, target);
        Checks.Broadcast(op, input.ShapeSpan, target.ShapeSpan); // names this op, not "sub", on a mismatch
        return Reduce(input.Sub(target).Square(), reduction);
    }
}
