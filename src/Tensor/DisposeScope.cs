namespace Engine;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost scope, and disposes them all when the
/// scope is disposed, except those moved out with <see cref="Tensor.MoveToOuterDisposeScope"/> or
/// <see cref="Tensor.DetachFromDisposeScope"/>. A training step wrapped in a scope frees its intermediates
/// deterministically, with no help from the GC. Scopes nest; they are per thread.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? t_current;
    private readonly List<Tensor> _tensors = [];
    private bool _disposed;

    /// <summary>The enclosing scope, or null.</summary>
    public DisposeScope? Outer { get; }

    /// <summary>The innermost scope of this thread, or null.</summary>
    public static DisposeScope? Current => t_current;

    /// <summary>Opens a scope on this thread; prefer <see cref="Tensor.NewDisposeScope"/>.</summary>
    public DisposeScope()
    {
        Outer = t_current;
        t_current = this;
    }

    /// <summary>Number of live tensors held.</summary>
    public int Count => _tensors.Count(t => !t.IsDisposed);

    internal static void Register(Tensor t)
    {
        var s = t_current;
        if (s is null) return;
        s._tensors.Add(t);
        t.Scope = s;
    }

    internal void Remove(Tensor t)
    {
        // Most moves are of a recent tensor: search from the end.
        int i = _tensors.LastIndexOf(t);
        if (i >= 0) _tensors.RemoveAt(i);
    }

    internal void Adopt(Tensor t)
    {
        _tensors.Add(t);
        t.Scope = this;
    }

    /// <summary>Disposes every tensor still held.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _tensors) t.Dispose();
        _tensors.Clear();
        if (t_current == this) t_current = Outer;
    }
}

public sealed partial class Tensor
{
    /// <summary>Opens a <see cref="DisposeScope"/>: <c>using var scope = Tensor.NewDisposeScope();</c></summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Moves this tensor from its scope to the enclosing one (or to none), so it outlives the inner scope.</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var s = Scope;
        if (s is null) return this;
        s.Remove(this);
        Scope = null;
        if (s.Outer is not null) s.Outer.Adopt(this);
        return this;
    }

    /// <summary>Takes this tensor out of every scope: the caller now owns it and must dispose it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        Scope?.Remove(this);
        Scope = null;
        return this;
    }
}
