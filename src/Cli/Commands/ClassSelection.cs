using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary>The samples of some classes of a dataset, relabelled 0 … k − 1 in the order given (a transfer task's classes).</summary>
internal sealed class ClassSelection : IDataset
{
    private readonly IDataset _source;
    private readonly int[] _indices;
    private readonly Dictionary<long, long> _map;

    public ClassSelection(IDataset source, IReadOnlyList<long> classes)
    {
        _source = source;
        _map = classes.Select((c, i) => (c, (long)i)).ToDictionary(t => t.c, t => t.Item2);
        _indices = [.. Enumerable.Range(0, source.Count).Where(i => _map.ContainsKey(source.LabelOf(i)))];
    }

    public int Count => _indices.Length;

    public Sample Get(int index) { var s = _source.Get(_indices[index]); return s with { Label = _map[s.Label] }; }

    public long LabelOf(int index) => _map[_source.LabelOf(_indices[index])];

    public long ReadInto(int index, ImageBuffer image) => _map[_source.ReadInto(_indices[index], image)];
}
