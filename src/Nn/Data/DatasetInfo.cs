namespace Engine.Nn.Data;

/// <summary>
/// What a model needs to know about an image dataset: the image size and channels, the classes, and the per-channel
/// mean and standard deviation of its training pixels (scaled to [0, 1]) that <see cref="Normalize"/> uses. A video
/// dataset also gives its clip length (<see cref="Frames"/>); its samples are [C, T, H, W].
/// </summary>
/// <param name="Name">Display name.</param>
/// <param name="Channels">Image channels (1 for grey).</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Width">Image width in pixels.</param>
/// <param name="ClassNames">Class names indexed by label; their count is the number of classes.</param>
/// <param name="Mean">Per-channel mean of the training pixels.</param>
/// <param name="Std">Per-channel standard deviation of the training pixels.</param>
/// <param name="Frames">Frames per clip of a video dataset; 0 for an image dataset.</param>
public sealed record DatasetInfo(string Name, int Channels, int Height, int Width, IReadOnlyList<string> ClassNames, float[] Mean, float[] Std, int Frames = 0)
{
    /// <summary>Whether samples are clips [C, T, H, W] rather than images [C, H, W].</summary>
    public bool IsVideo => Frames > 0;

    /// <summary>Number of classes.</summary>
    public int NumClasses => ClassNames.Count;

    /// <summary>The normalisation by <see cref="Mean"/> and <see cref="Std"/>.</summary>
    public Normalize Normalize() => new(Mean, Std);
}
