namespace Engine.Nn;

/// <summary>An ordered map from dotted names to tensors (PyTorch's state_dict).</summary>
public sealed class StateDict : IEnumerable<KeyValuePair<string, Tensor>>
{
    private readonly List<string> _keys = [];
    private readonly Dictionary<string, Tensor> _map = [];

    /// <summary>Adds or replaces an entry, keeping first-insertion order.</summary>
    public void Add(string name, Tensor tensor)
    {
        if (!_map.ContainsKey(name)) _keys.Add(name);
        _map[name] = tensor;
    }

    /// <summary>Names in order.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>Number of entries.</summary>
    public int Count => _keys.Count;

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    public Tensor this[string name] => _map.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"state dict has no entry '{name}'");

    /// <summary>True when <paramref name="name"/> is present.</summary>
    public bool ContainsKey(string name) => _map.ContainsKey(name);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator()
    {
        foreach (var k in _keys) yield return new(k, _map[k]);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>What <see cref="Module.LoadStateDict"/> found: keys the model has but the source lacks, keys the source has that the model does not, and shape mismatches.</summary>
public sealed record LoadResult(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> Mismatched)
{
    /// <summary>True when every key matched.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;
}

/// <summary>Raised when a state dict does not fit a model; nothing was loaded.</summary>
/// <param name="result">The keys that did not match.</param>
/// <param name="filePath">The file the state dict came from, named first in the message, when there is one.</param>
public sealed class StateDictException(LoadResult result, string? filePath = null)
    : EngineException("load_state_dict", (filePath is null ? "" : $"'{filePath}': ") + Describe(result))
{
    /// <summary>The keys that did not match.</summary>
    public LoadResult Result { get; } = result;

    /// <summary>The file the state dict came from, or null.</summary>
    public string? FilePath { get; } = filePath;

    private static string Describe(LoadResult r)
    {
        var parts = new List<string>();
        if (r.Missing.Count > 0) parts.Add($"missing keys: {string.Join(", ", r.Missing)}");
        if (r.Unexpected.Count > 0) parts.Add($"unexpected keys: {string.Join(", ", r.Unexpected)}");
        if (r.Mismatched.Count > 0) parts.Add($"size mismatch: {string.Join("; ", r.Mismatched)}");
        return "nothing was loaded; " + string.Join("; ", parts);
    }
}
