namespace Engine.Nn.Data;

/// <summary>
/// Another dataset with its labels hidden: every sample reports <see cref="NoLabel"/> (−1, the usual
/// "ignore" index), for the unlabelled part of a semi-supervised split. <see cref="Dataset"/> keeps the truth.
/// </summary>
public sealed class Unlabelled(IDataset dataset) : IDataset
{
    /// <summary>The label every sample reports.</summary>
    public const long NoLabel = -1;

    /// <summary>The dataset whose labels are hidden.</summary>
    public IDataset Dataset { get; } = dataset;

    /// <inheritdoc/>
    public int Count => Dataset.Count;

    /// <inheritdoc/>
    public Sample Get(int index) => Dataset.Get(index) with { Label = NoLabel };

    /// <inheritdoc/>
    public long LabelOf(int index)
    {
        if ((uint)index >= (uint)Count) throw new IndexException("unlabelled", $"index {index} is out of range for {Count} samples");
        return NoLabel;
    }

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image)
    {
        Dataset.ReadInto(index, image);
        return NoLabel;
    }

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image, Generator generator)
    {
        Dataset.ReadInto(index, image, generator);
        return NoLabel;
    }
}
