namespace Engine.Nn.Data;

/// <summary>
/// One batch from a <see cref="DataLoader"/>: images [N, C, H, W] float32 and labels [N] int64, plus soft labels
/// [N, classes] when a <see cref="BatchTransform"/> (MixUp, CutMix) mixed the batch. The batch belongs to the
/// consumer: dispose it (<c>using var batch = …</c>), or let the <see cref="DisposeScope"/> that was current on
/// the consuming thread when it was handed over collect it.
/// </summary>
public sealed class Batch : IDisposable
{
    /// <summary>The images, float32 [N, C, H, W].</summary>
    public Tensor Images { get; private set; }

    /// <summary>The labels, int64 [N] (each image's own label, also when mixed).</summary>
    public Tensor Labels { get; private set; }

    /// <summary>Soft labels, float32 [N, classes], when the batch was mixed; otherwise null.</summary>
    public Tensor? SoftLabels { get; private set; }

    /// <summary>The mixing weight of each image's own label, when the batch was mixed.</summary>
    public double? Lambda { get; }

    /// <summary>The dataset indices of the samples, in batch order.</summary>
    public IReadOnlyList<int> Indices { get; }

    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; }

    /// <summary>The batch's position in its epoch (0-based).</summary>
    public int Index { get; }

    /// <summary>Number of samples.</summary>
    public int Size => Indices.Count;

    internal Batch(Tensor images, Tensor labels, Tensor? softLabels, double? lambda, int[] indices, int epoch, int index)
    {
        (Images, Labels, SoftLabels, Lambda, Indices, Epoch, Index) = (images, labels, softLabels, lambda, indices, epoch, index);
    }

    /// <summary>Registers the tensors with the current thread's dispose scope (they were made on a worker thread, outside any scope).</summary>
    internal void AdoptIntoCurrentScope()
    {
        if (Images.Scope is null) DisposeScope.Register(Images);
        if (Labels.Scope is null) DisposeScope.Register(Labels);
        if (SoftLabels is { Scope: null }) DisposeScope.Register(SoftLabels);
    }

    /// <summary>Moves the tensors to <paramref name="device"/> (no-op when already there).</summary>
    internal void MoveTo(Device device)
    {
        // Host-to-device hook. Today this is a plain copy (Tensor.To). With the CUDA backend, the worker will
        // collate straight into a pinned (page-locked) host staging buffer taken from a small pool, and this
        // becomes an asynchronous cudaMemcpyAsync on a copy stream plus an event the compute stream waits on,
        // so the transfer of batch k+1 overlaps the training step on batch k; the staging buffer returns to the
        // pool when the event completes.
        if (Images.Device == device) return;
        Images = Replace(Images, device);
        Labels = Replace(Labels, device);
        if (SoftLabels is not null) SoftLabels = Replace(SoftLabels, device);
    }

    private static Tensor Replace(Tensor t, Device device)
    {
        var moved = t.To(device);
        if (!ReferenceEquals(moved, t)) t.Dispose();
        return moved;
    }

    /// <summary>Disposes the tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        SoftLabels?.Dispose();
    }
}
