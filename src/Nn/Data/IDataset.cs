namespace Engine.Nn.Data;

/// <summary>
/// A finite, indexable collection of labelled images. Implementations must allow concurrent reads from several
/// threads (the <see cref="DataLoader"/>'s workers call <see cref="ReadInto(int, ImageBuffer, Generator)"/> in parallel).
/// </summary>
public interface IDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Sample <paramref name="index"/> (0 ≤ index &lt; <see cref="Count"/>): a new float32 [C, H, W] tensor (a clip: [C, T, H, W]) and its label.</summary>
    Sample Get(int index);

    /// <summary>The label of sample <paramref name="index"/>; in-memory datasets answer without decoding the image.</summary>
    long LabelOf(int index)
    {
        using var s = Get(index);
        return s.Label;
    }

    /// <summary>
    /// Writes sample <paramref name="index"/>'s pixels into <paramref name="image"/> (resizing it) and returns its
    /// label: the allocation-free path the <see cref="DataLoader"/> uses. The default goes through <see cref="Get"/>.
    /// </summary>
    long ReadInto(int index, ImageBuffer image)
    {
        using var s = Get(index);
        image.CopyFrom(s.Image);
        return s.Label;
    }

    /// <summary>
    /// <see cref="ReadInto(int, ImageBuffer)"/> for datasets that sample at random when read (which frames of a video
    /// form the clip): every draw comes from <paramref name="generator"/>, which the <see cref="DataLoader"/> seeds from
    /// (seed, epoch, index) and then hands on to the sample's transform. Datasets without such draws need not
    /// implement it (the default reads as <see cref="ReadInto(int, ImageBuffer)"/> and draws nothing).
    /// </summary>
    long ReadInto(int index, ImageBuffer image, Generator generator) => ReadInto(index, image);
}
