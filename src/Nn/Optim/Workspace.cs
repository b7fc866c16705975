namespace Engine.Nn;

/// <summary>
/// Scratch memory for one optimizer step: per (dtype, device) and slot, one flat buffer as large as the largest
/// parameter, handed out as views shaped like the parameter being updated. A step therefore allocates a few
/// buffers in all, not temporaries per parameter and operation; everything is released in <see cref="Dispose"/>.
/// </summary>
internal sealed class Workspace : IDisposable
{
    private readonly Dictionary<(DType, Device), long> _sizes = [];
    private readonly Dictionary<(DType, Device, int), Tensor> _buffers = [];
    private readonly List<Tensor> _views = [];

    /// <summary>A workspace sized for <paramref name="parameters"/>.</summary>
    public Workspace(IEnumerable<Tensor> parameters)
    {
        foreach (var p in parameters)
        {
            var key = (p.DType, p.Device);
            _sizes[key] = Math.Max(_sizes.GetValueOrDefault(key), p.NumEl);
        }
    }

    /// <summary>A contiguous scratch tensor shaped like <paramref name="like"/>; different slots never overlap.</summary>
    public Tensor Like(Tensor like, int slot)
    {
        var key = (like.DType, like.Device, slot);
        if (!_buffers.TryGetValue(key, out var flat))
        {
            long n = Math.Max(_sizes.GetValueOrDefault((like.DType, like.Device)), like.NumEl);
            flat = Tensor.Empty([n], like.DType, like.Device, op: "optimizer").DetachFromDisposeScope();
            _buffers[key] = flat;
        }
        var shape = like.Shape;
        var view = flat.Alias(shape, Engine.Kernels.ShapeUtil.ContiguousStrides(shape), 0, "optimizer").DetachFromDisposeScope();
        _views.Add(view);
        return view;
    }

    /// <summary>Releases the buffers and every view handed out.</summary>
    public void Dispose()
    {
        foreach (var v in _views) v.Dispose();
        foreach (var b in _buffers.Values) b.Dispose();
        _views.Clear();
        _buffers.Clear();
    }
}
