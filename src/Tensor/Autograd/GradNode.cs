namespace Engine;

/// <summary>
/// Computes the gradients of an op's inputs from the gradient of its output. <paramref name="needed"/> says
/// which inputs want one; entries for the others may be null. Return new tensors or views of
/// <paramref name="grad"/> (never a tensor saved from the forward pass): the engine disposes each gradient as
/// soon as the nodes that need it have consumed it.
/// </summary>
public delegate Tensor?[] BackwardFn(Tensor grad, bool[] needed);

/// <summary>
/// One recorded operation in the autograd graph: the op's name, the inputs that require grad (each either an
/// earlier node or a leaf tensor that accumulates), and the closure that computes input gradients. The closure
/// holds the tensors the op saved; it is dropped once backward has run (unless the graph is retained).
/// </summary>
public sealed class GradNode
{
    internal readonly Tensor?[] Inputs;
    internal readonly bool[] Needed;
    private BackwardFn? _backward;
    private readonly Tensor?[]? _saved;
    private readonly int[]? _savedVersions;

    /// <summary>The op that made this node, e.g. <c>mul</c>.</summary>
    public string Name { get; }

    /// <summary>
    /// The sliding window a convolution or pooling applied to its first input, or null for every other op
    /// (read by the model inspector to compute receptive fields).
    /// </summary>
    public SpatialWindow? Window { get; internal set; }

    internal GradNode(string name, Tensor?[] inputs, bool[] needed, BackwardFn backward, Tensor?[]? saved)
    {
        Name = name; Inputs = inputs; Needed = needed; _backward = backward;
        if (saved is null || saved.Length == 0) return;
        _saved = saved;
        _savedVersions = new int[saved.Length];
        for (int i = 0; i < saved.Length; i++)
            if (saved[i] is { IsDisposed: false } t) _savedVersions[i] = t.Version;
    }

    /// <summary>True once the saved tensors were released by a backward pass.</summary>
    public bool IsReleased => _backward is null;

    internal Tensor?[] Apply(Tensor grad)
    {
        var fn = _backward ?? throw new AutogradException("backward",
            $"trying to backward through the graph a second time (node '{Name}'): its saved tensors were freed after the first backward; pass retainGraph: true to the first call");
        CheckSavedVersions();
        return fn(grad, Needed);
    }

    // One int compare per saved tensor: a saved tensor written in place since the forward pass would make the closure
    // compute a wrong gradient, so it raises as PyTorch does.
    private void CheckSavedVersions()
    {
        if (_saved is null) return;
        for (int i = 0; i < _saved.Length; i++)
        {
            if (_saved[i] is not { IsDisposed: false } t) continue; // a disposed one fails loudly in the closure
            int now = t.Version;
            if (now != _savedVersions![i])
                throw new AutogradException(Name,
                    $"one of the variables needed for gradient computation has been modified by an inplace operation: {t.Describe()}, " +
                    $"saved by {Name} for backward, is at version {now}; expected version {_savedVersions[i]} instead. " +
                    "Use the out-of-place op, or Clone() the tensor before changing it in place");
        }
    }

    internal void Release()
    {
        _backward = null;
        if (_saved is not null) Array.Clear(_saved); // the closure was the saved tensors' user; the check goes with it
    }

    /// <inheritdoc/>
    public override string ToString() => $"<{Name}Backward>";
}

/// <summary>
/// The window of a convolution or pooling along each spatial dim (H, W for 2-D): output index i reads input
/// indices i·Stride − Padding + t·Dilation for t in [0, Kernel). Adaptive pooling, whose windows vary, is described
/// by its largest window, a fractional stride input/output and no padding.
/// </summary>
/// <param name="Kernel">Kernel extent per dim (before dilation).</param>
/// <param name="Stride">Stride per dim.</param>
/// <param name="Padding">Padding before the first element per dim.</param>
/// <param name="Dilation">Dilation per dim.</param>
public sealed record SpatialWindow(int[] Kernel, double[] Stride, int[] Padding, int[] Dilation)
{
    internal static Tensor Attach(Tensor result, int[] kernel, int[] stride, int[] padding, int[] dilation)
    {
        if (result.GradFn is { } node) node.Window = new SpatialWindow(kernel, [.. stride.Select(s => (double)s)], padding, dilation);
        return result;
    }
}
