using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>
/// A teacher's logits for every sample of a training set, computed once (eval mode, no gradients, a deterministic
/// transform) and looked up by dataset index (<see cref="Batch.Indices"/>), so distillation runs one forward pass
/// per batch instead of two.
/// </summary>
/// <remarks>
/// Why keyed by index and computed once, not "once per epoch": the student must see the teacher's view of the
/// same input. Without augmentation every epoch shows each sample unchanged, so logits computed once are exactly
/// the ones an on-the-fly teacher would give (the cache is then free of approximation). With augmentation each
/// epoch shows a new random view; a per-epoch cache would have to run the teacher on exactly those views, which
/// costs as much as running it on the fly. So with augmentation the cache gives the teacher's prediction for the
/// clean image while the student sees an augmented one: cheaper but an approximation (Beyer et al. 2022 find such
/// inconsistent teaching worse); use <see cref="Distillation"/> without a cache there. The cache belongs to the
/// dataset it was built from: the training loader must iterate that same dataset.
/// </remarks>
public sealed class TeacherLogitCache : IDisposable
{
    private readonly Tensor _logits;

    /// <summary>The cached logits, [N, classes].</summary>
    public Tensor Logits => _logits;

    /// <summary>Number of samples cached.</summary>
    public int Count => (int)_logits.Size(0);

    private TeacherLogitCache(Tensor logits) => _logits = logits.DetachFromDisposeScope();

    /// <summary>Runs <paramref name="teacher"/> over <paramref name="data"/> (through <paramref name="transform"/>) and keeps the logits on <paramref name="device"/>.</summary>
    public static TeacherLogitCache Build(Module teacher, IDataset data, Transform? transform = null, int batchSize = 256, Device? device = null, int workers = 0) =>
        new(DatasetInference.Logits(teacher, data, transform, batchSize, device, workers));

    /// <summary>The cached rows of the given dataset indices, [B, classes] (a new tensor in the current scope).</summary>
    public Tensor Lookup(IReadOnlyList<int> indices)
    {
        foreach (var i in indices)
            if ((uint)i >= (uint)Count) throw new RecipeException("teacher_cache", $"sample {i} is outside the {Count} cached samples: the cache was built from another dataset");
        using var idx = Tensor.FromArray(indices.Select(i => (long)i).ToArray());
        using var onDevice = idx.To(_logits.Device);
        return _logits.IndexSelect(0, onDevice);
    }

    /// <inheritdoc/>
    public void Dispose() => _logits.Dispose();
}
