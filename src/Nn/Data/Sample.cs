namespace Engine.Nn.Data;

/// <summary>
/// One example of a dataset: an image, float32 [C, H, W], and its int64 class label. The image belongs to the
/// caller (dispose it, or let the current <see cref="DisposeScope"/> collect it).
/// </summary>
/// <param name="Image">The image, float32 [C, H, W].</param>
/// <param name="Label">The class index (or <see cref="Unlabelled.NoLabel"/>).</param>
public readonly record struct Sample(Tensor Image, long Label) : IDisposable
{
    /// <summary>Disposes the image.</summary>
    public void Dispose() => Image.Dispose();
}
