using Engine.Kernels;

namespace Engine.Nn;

/// <summary>
/// Choosing pseudo-labels from a model's predictions on unlabelled data: per batch for pseudo-labelling (Lee 2013)
/// with a confidence threshold, and over the whole unlabelled set for noisy student (Xie et al. 2020) with a
/// confidence filter and class balancing.
/// </summary>
public static class PseudoLabels
{
    /// <summary>The label marking a sample below the confidence threshold (cross-entropy's ignore index).</summary>
    public const long Ignored = -100;

    /// <summary>
    /// The predicted class of each row of <paramref name="logits"/> [B, C] (no gradient), or <see cref="Ignored"/>
    /// where its softmax probability is below <paramref name="threshold"/>; and how many rows were kept.
    /// </summary>
    public static (Tensor Labels, int Kept) Select(Tensor logits, double threshold)
    {
        if (logits.Rank != 2) throw new ShapeException("pseudo_labels", $"expected logits [B, C], got {ShapeUtil.Format(logits.Shape)}");
        if (!(threshold >= 0 && threshold <= 1)) throw new RecipeException("pseudo_labels", $"the confidence threshold must be in [0, 1], got {threshold}");
        using var noGrad = Tensor.NoGrad();
        using var scope = Tensor.NewDisposeScope();
        using var detached = logits.Detach();
        var (confidence, predicted) = detached.Softmax(1).Max(1);
        var low = confidence.Lt(threshold);
        var labels = predicted.MaskedFill(low, Ignored);
        int kept = (int)(logits.Size(0) - low.To(DType.Int64).Sum().Item());
        return (labels.MoveToOuterDisposeScope(), kept);
    }

    /// <summary>
    /// The unlabelled samples noisy student trains on, from the teacher's class probabilities <paramref name="probabilities"/>
    /// [U, C]: those whose confidence is at least <paramref name="threshold"/>; with <paramref name="balance"/>, every
    /// class then gets exactly <paramref name="perClass"/> samples (0: the mean count per class after filtering):
    /// the most confident ones where a class has more, all of them repeated in turn where it has fewer (Xie et al.,
    /// who duplicate images of rare classes). Returns the chosen indices (with repetitions) and their predicted classes,
    /// grouped by class, most confident first.
    /// </summary>
    public static (int[] Indices, long[] Classes) Choose(Tensor probabilities, double threshold, bool balance, int perClass = 0)
    {
        const string op = "pseudo_labels";
        if (probabilities.Rank != 2) throw new ShapeException(op, $"expected probabilities [U, C], got {ShapeUtil.Format(probabilities.Shape)}");
        if (!(threshold >= 0 && threshold <= 1)) throw new RecipeException(op, $"the confidence threshold must be in [0, 1], got {threshold}");
        if (perClass < 0) throw new RecipeException(op, $"samples per class must be non-negative, got {perClass}");
        int u = (int)probabilities.Size(0), c = (int)probabilities.Size(1);
        if (u == 0) throw new RecipeException(op, "the unlabelled set is empty");
        float[] p;
        using (var host = probabilities.Detach().To(Device.Cpu)) using (var f = host.To(DType.Float32)) p = f.ToArray<float>();
        var byClass = Enumerable.Range(0, c).Select(_ => new List<(int Index, float Confidence)>()).ToArray();
        for (int i = 0; i < u; i++)
        {
            int best = 0;
            for (int j = 1; j < c; j++) if (p[i * c + j] > p[i * c + best]) best = j;
            if (p[i * c + best] >= threshold) byClass[best].Add((i, p[i * c + best]));
        }
        foreach (var list in byClass) list.Sort((a, b) => b.Confidence != a.Confidence ? b.Confidence.CompareTo(a.Confidence) : a.Index.CompareTo(b.Index));
        int total = byClass.Sum(l => l.Count);
        if (total == 0) throw new RecipeException(op, $"no unlabelled sample reaches the confidence threshold {threshold}");
        var indices = new List<int>();
        var classes = new List<long>();
        int target = perClass > 0 ? perClass : (int)Math.Ceiling((double)total / byClass.Count(l => l.Count > 0));
        for (int k = 0; k < c; k++)
        {
            var list = byClass[k];
            if (list.Count == 0) continue; // nothing to duplicate: a class the teacher never predicts stays absent
            int n = balance ? target : list.Count;
            for (int i = 0; i < n; i++) { indices.Add(list[i % list.Count].Index); classes.Add(k); }
        }
        return ([.. indices], [.. classes]);
    }
}
