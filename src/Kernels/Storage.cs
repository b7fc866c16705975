namespace Engine.Kernels;

/// <summary>
/// A reference-counted block of memory on one device. Tensors and their views share one storage;
/// the memory is released when the last reference goes (deterministically, not by the GC).
/// </summary>
public abstract class Storage
{
    private int _refs = 1;
    private int _version;

    /// <summary>The device that owns the memory.</summary>
    public abstract Device Device { get; }

    /// <summary>Size in bytes.</summary>
    public long ByteLength { get; }

    /// <summary>True once the memory has been released.</summary>
    public bool IsReleased => Volatile.Read(ref _refs) <= 0;

    /// <summary>References currently held (tensors and views sharing this storage); 0 once released.</summary>
    public int RefCount => Math.Max(Volatile.Read(ref _refs), 0);

    /// <summary>
    /// How many in-place writes this memory has seen (PyTorch's version counter, shared by every view of it). Autograd
    /// records it when an op saves a tensor for backward and checks it before using the tensor, so a saved tensor
    /// changed in place raises instead of giving a wrong gradient.
    /// </summary>
    public int Version => Volatile.Read(ref _version);

    /// <summary>Counts one in-place write (every op that writes into existing memory calls this).</summary>
    public void BumpVersion() => Interlocked.Increment(ref _version);

    /// <summary>Creates a storage of <paramref name="byteLength"/> bytes holding one reference.</summary>
    protected Storage(long byteLength) => ByteLength = byteLength;

    /// <summary>Adds a reference (a new view shares this storage).</summary>
    public void AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new InvalidOperationException("storage was already released");
    }

    /// <summary>Drops a reference; frees the memory when it was the last.</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _refs);
        if (left == 0) Free();
    }

    /// <summary>Frees the memory. Called once.</summary>
    protected abstract void Free();
}
