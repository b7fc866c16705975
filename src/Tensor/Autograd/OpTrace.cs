namespace Engine;

/// <summary>
/// A record of every op the tensor layer runs on the current thread while the trace is active, in order: its name (the
/// name errors use, e.g. "conv2d", "add", "view"), its tensor operands, its result, and the attributes its operands' and
/// result's shapes do not determine (stride, padding, the dims of a reduction, ...). Ops record themselves where they
/// record their backward (<see cref="Autograd"/>), with or without gradient mode, so a trace sees the same ops autograd
/// does. The ONNX exporter is built on it. One trace per thread at a time; dispose it to stop.
/// </summary>
public sealed class OpTrace : IDisposable
{
    [ThreadStatic] private static OpTrace? _current;
    private readonly List<TracedOp> _ops = [];
    private readonly Dictionary<Tensor, TracedOp> _byOutput = new(ReferenceEqualityComparer.Instance);

    private OpTrace() { }

    /// <summary>Starts tracing this thread's ops.</summary>
    /// <exception cref="InvalidOperationException">A trace is already active on this thread.</exception>
    public static OpTrace Start()
    {
        if (_current is not null) throw new InvalidOperationException("an op trace is already active on this thread");
        return _current = new OpTrace();
    }

    /// <summary>The ops recorded so far, in execution order.</summary>
    public IReadOnlyList<TracedOp> Ops => _ops;

    /// <summary>The op that produced <paramref name="tensor"/>, or null when it was not produced by a traced op.</summary>
    public TracedOp? ProducerOf(Tensor tensor) => _byOutput.GetValueOrDefault(tensor);

    internal static bool IsActive => _current is not null;

    internal static void Add(string name, Tensor?[] inputs, Tensor result)
    {
        if (_current is not { } t) return;
        var op = new TracedOp(name, [.. inputs], result, result.Shape);
        t._ops.Add(op);
        t._byOutput[result] = op;
    }

    /// <summary>Attaches attributes to the op that produced <paramref name="result"/> (call only when <see cref="IsActive"/>).</summary>
    internal static void Annotate(Tensor result, params (string Name, object Value)[] attributes)
    {
        if (_current is not { } t || !t._byOutput.TryGetValue(result, out var op)) return;
        foreach (var (name, value) in attributes) op.Attributes[name] = value;
    }

    /// <summary>Stops the trace.</summary>
    public void Dispose()
    {
        if (ReferenceEquals(_current, this)) _current = null;
    }
}

/// <summary>One op of an <see cref="OpTrace"/>.</summary>
/// <param name="Name">The op's name (as in its errors and its autograd node).</param>
/// <param name="Inputs">Its tensor operands, in order (null for an absent optional operand such as a bias).</param>
/// <param name="Output">Its result.</param>
/// <param name="OutputShape">The result's shape (kept, since the result may be disposed after the op).</param>
public sealed record TracedOp(string Name, IReadOnlyList<Tensor?> Inputs, Tensor Output, long[] OutputShape)
{
    /// <summary>What the operands' and result's shapes do not say: "stride", "padding_begin", "dims", "scale", ...</summary>
    public Dictionary<string, object> Attributes { get; } = [];

    /// <summary>The attribute <paramref name="name"/> as <typeparamref name="T"/>.</summary>
    /// <exception cref="KeyNotFoundException">The op has no such attribute.</exception>
    public T Get<T>(string name) => Attributes.TryGetValue(name, out var v) ? (T)v
        : throw new KeyNotFoundException($"op '{Name}' has no attribute '{name}'");
}
