namespace Engine.Nn.Data;

/// <summary>The samples of another dataset at the given indices, in that order (no copy).</summary>
public sealed class Subset : IDataset
{
    private readonly int[] _indices;

    /// <summary>The dataset the indices point into.</summary>
    public IDataset Dataset { get; }

    /// <summary>The indices into <see cref="Dataset"/> (a copy).</summary>
    public int[] Indices => (int[])_indices.Clone();

    /// <summary>A view of <paramref name="dataset"/> at <paramref name="indices"/> (each in range; repeats allowed).</summary>
    public Subset(IDataset dataset, IReadOnlyList<int> indices)
    {
        Dataset = dataset;
        _indices = [.. indices];
        foreach (int i in _indices)
            if ((uint)i >= (uint)dataset.Count)
                throw new IndexException("subset", $"index {i} is out of range for a dataset of {dataset.Count} samples");
    }

    /// <inheritdoc/>
    public int Count => _indices.Length;

    private int Map(int index) => (uint)index < (uint)_indices.Length
        ? _indices[index]
        : throw new IndexException("subset", $"index {index} is out of range for {_indices.Length} samples");

    /// <inheritdoc/>
    public Sample Get(int index) => Dataset.Get(Map(index));

    /// <inheritdoc/>
    public long LabelOf(int index) => Dataset.LabelOf(Map(index));

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image) => Dataset.ReadInto(Map(index), image);

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image, Generator generator) => Dataset.ReadInto(Map(index), image, generator);
}
