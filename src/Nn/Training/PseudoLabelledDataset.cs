using Engine.Kernels;
using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>
/// A labelled set followed by pseudo-labelled samples of an unlabelled set (indices may repeat, as class balancing
/// duplicates): samples 0 … L − 1 are the labelled ones with their labels, the rest report the teacher's class.
/// <see cref="Targets"/> holds a target distribution per sample for training on soft labels: one-hot for labelled
/// samples, the teacher's probabilities (or one-hot of its class, for hard labels) for the others.
/// </summary>
public sealed class PseudoLabelledDataset : IDataset, IDisposable
{
    private readonly IDataset _labelled, _unlabelled;
    private readonly int[] _chosen;
    private readonly long[] _classes;

    /// <summary>Target distributions, float32 [Count, classes] on the CPU.</summary>
    public Tensor Targets { get; }

    /// <summary>Number of pseudo-labelled samples (after the labelled ones).</summary>
    public int PseudoCount => _chosen.Length;

    /// <summary>Number of labelled samples.</summary>
    public int LabelledCount => _labelled.Count;

    /// <inheritdoc/>
    public int Count => _labelled.Count + _chosen.Length;

    /// <summary>
    /// Combines <paramref name="labelled"/> with the samples <paramref name="chosen"/> of <paramref name="unlabelled"/>,
    /// labelled <paramref name="classes"/>; with <paramref name="probabilities"/> ([U, classes], the teacher's softmax over
    /// all of <paramref name="unlabelled"/>) their targets are soft, otherwise one-hot.
    /// </summary>
    public PseudoLabelledDataset(IDataset labelled, IDataset unlabelled, int[] chosen, long[] classes, int numClasses, Tensor? probabilities = null)
    {
        const string op = "pseudo_labelled_dataset";
        if (chosen.Length != classes.Length) throw new RecipeException(op, $"{chosen.Length} samples but {classes.Length} classes");
        foreach (var i in chosen) if ((uint)i >= (uint)unlabelled.Count) throw new RecipeException(op, $"sample {i} is outside the {unlabelled.Count} unlabelled ones");
        if (probabilities is not null && (probabilities.Rank != 2 || probabilities.Size(0) != unlabelled.Count || probabilities.Size(1) != numClasses))
            throw new RecipeException(op, $"probabilities must be [{unlabelled.Count}, {numClasses}], got {ShapeUtil.Format(probabilities.Shape)}");
        (_labelled, _unlabelled, _chosen, _classes) = (labelled, unlabelled, chosen, classes);
        var t = new float[(long)Count * numClasses];
        for (int i = 0; i < labelled.Count; i++)
        {
            long y = labelled.LabelOf(i);
            if ((ulong)y >= (ulong)numClasses) throw new RecipeException(op, $"labelled sample {i} has label {y}, outside 0..{numClasses - 1}");
            t[(long)i * numClasses + y] = 1;
        }
        float[]? p = null;
        if (probabilities is not null)
            using (var host = probabilities.Detach().To(Device.Cpu)) using (var f = host.To(DType.Float32)) p = f.ToArray<float>();
        for (int j = 0; j < chosen.Length; j++)
        {
            long row = (long)(labelled.Count + j) * numClasses;
            if (p is null) t[row + classes[j]] = 1;
            else Array.Copy(p, (long)chosen[j] * numClasses, t, row, numClasses);
        }
        Targets = Tensor.FromArray(t, Count, numClasses).DetachFromDisposeScope();
    }

    /// <inheritdoc/>
    public Sample Get(int index) => index < _labelled.Count ? _labelled.Get(Check(index)) : _unlabelled.Get(_chosen[Check(index) - _labelled.Count]) with { Label = _classes[index - _labelled.Count] };

    /// <inheritdoc/>
    public long LabelOf(int index) => index < _labelled.Count ? _labelled.LabelOf(Check(index)) : _classes[Check(index) - _labelled.Count];

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image)
    {
        if (index < _labelled.Count) return _labelled.ReadInto(Check(index), image);
        _unlabelled.ReadInto(_chosen[Check(index) - _labelled.Count], image);
        return _classes[index - _labelled.Count];
    }

    private int Check(int index) =>
        (uint)index < (uint)Count ? index : throw new IndexException("pseudo_labelled_dataset", $"index {index} is out of range for {Count} samples");

    /// <summary>The targets of a batch's samples, [B, classes] on <paramref name="device"/> (new tensors in the current scope).</summary>
    public Tensor TargetsOf(IReadOnlyList<int> indices, Device device)
    {
        using var idx = Tensor.FromArray(indices.Select(i => (long)i).ToArray());
        return Targets.IndexSelect(0, idx).To(device); // the CPU copy, when moved, goes with the current scope
    }

    /// <inheritdoc/>
    public void Dispose() => Targets.Dispose();
}
