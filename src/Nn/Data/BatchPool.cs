namespace Engine.Nn.Data;

/// <summary>
/// Recycles the memory of batch image tensors. Each pooled tensor is kept by the pool (one reference) and lent
/// out as a view (a second reference): once the consumer has disposed the batch and every view it made of it,
/// only the pool's reference is left and the memory is reused for a later batch. This keeps large batches off
/// the system allocator, whose fresh pages (one fault per 4 KiB page, tens of microseconds per image at
/// 224×224) otherwise cost more than the augmentation itself; it is also where the pinned host staging
/// buffers of the GPU backend will live.
/// </summary>
internal sealed class BatchPool(int capacity) : IDisposable
{
    private readonly List<Tensor> _pooled = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Number of tensors the pool keeps.</summary>
    public int Count
    {
        get { lock (_lock) return _pooled.Count; }
    }

    /// <summary>Bytes of tensor memory the pool keeps (lent out or not).</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                long b = 0;
                foreach (var t in _pooled) b += t.NumEl * sizeof(float);
                return b;
            }
        }
    }

    /// <summary>A float32 CPU tensor of <paramref name="shape"/> (uninitialised), owned by the caller.</summary>
    public Tensor Rent(long[] shape, string op)
    {
        long n = 1;
        foreach (long d in shape) n *= d;
        lock (_lock)
        {
            if (!_disposed)
            {
                int spare = -1;
                for (int i = 0; i < _pooled.Count; i++)
                {
                    var t = _pooled[i];
                    if (t.StorageOf(op).RefCount != 1) continue; // lent out, or a view of it still lives
                    if (t.NumEl == n) return Lend(t, shape);
                    spare = i;
                }
                if (_pooled.Count < capacity) return Lend(Add(n, op), shape);
                if (spare >= 0)
                {
                    _pooled[spare].Dispose();
                    _pooled.RemoveAt(spare);
                    return Lend(Add(n, op), shape);
                }
            }
        }
        return TensorMemory.EmptyFloat(shape, op);
    }

    private Tensor Add(long n, string op)
    {
        var t = TensorMemory.EmptyFloat([n], op).DetachFromDisposeScope();
        _pooled.Add(t);
        return t;
    }

    private static Tensor Lend(Tensor pooled, long[] shape) => pooled.View(shape);

    /// <summary>Drops the pool's references: memory still lent out is freed when its borrower disposes it.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var t in _pooled) t.Dispose();
            _pooled.Clear();
        }
    }
}
