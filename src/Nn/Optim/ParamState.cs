namespace Engine.Nn;

/// <summary>
/// What an optimizer keeps for one parameter (PyTorch's <c>optimizer.state[p]</c>): named tensors such as
/// "momentum_buffer", "exp_avg", "exp_avg_sq", and the number of steps taken. The optimizer owns the tensors
/// (they live outside every dispose scope) and releases them when it is disposed.
/// </summary>
public sealed class ParamState
{
    private readonly Dictionary<string, Tensor> _tensors = [];
    private readonly List<string> _names = [];

    /// <summary>Steps this parameter has been updated (Adam's bias correction uses it).</summary>
    public long Step { get; internal set; }

    /// <summary>The state tensor named <paramref name="name"/>, or null.</summary>
    public Tensor? this[string name] => _tensors.GetValueOrDefault(name);

    /// <summary>The names of the state tensors, in creation order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Stores <paramref name="t"/> (taking it out of every dispose scope: the state owns it now), replacing and releasing an older one.</summary>
    public Tensor Set(string name, Tensor t)
    {
        t.DetachFromDisposeScope();
        if (_tensors.TryGetValue(name, out var old)) { if (!ReferenceEquals(old, t)) old.Dispose(); }
        else _names.Add(name);
        _tensors[name] = t;
        return t;
    }

    /// <summary>The tensor named <paramref name="name"/>, created as zeros shaped like <paramref name="like"/> when missing.</summary>
    public Tensor GetOrZeros(string name, Tensor like) => this[name] ?? Set(name, Tensor.ZerosLike(like));

    /// <summary>Releases every tensor.</summary>
    internal void Clear()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
        _names.Clear();
        Step = 0;
    }
}
