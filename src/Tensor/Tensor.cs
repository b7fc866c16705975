using Engine.Kernels;

namespace Engine;

/// <summary>
/// An n-dimensional array on a device, with autograd. A tensor is a view (shape, strides, offset, dtype) of a
/// reference-counted <see cref="Storage"/>; views share storage without copying. Tensors are
/// <see cref="IDisposable"/>: dispose them, or create them inside a <see cref="DisposeScope"/>, so memory is
/// released deterministically rather than by the GC.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private Storage? _storage;
    private readonly long[] _shape;
    private readonly long[] _strides;
    private readonly long _offset;
    private bool _requiresGrad;
    private Tensor? _grad;
    internal DisposeScope? Scope;

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Device holding the storage.</summary>
    public Device Device { get; }

    internal Tensor(Storage storage, long[] shape, long[] strides, long offset, DType dtype, bool shareStorage)
    {
        if (shareStorage) storage.AddRef();
        _storage = storage; _shape = shape; _strides = strides; _offset = offset;
        DType = dtype; Device = storage.Device;
        DisposeScope.Register(this);
    }

    [ThreadStatic] private static int t_onMeta;

    /// <summary>
    /// Until the result is disposed, every tensor this thread creates goes to <see cref="Device.Meta"/>, whatever
    /// device is asked: a model built inside has shapes but no memory and no initial values, which is all that
    /// counting its parameters and multiply-accumulates needs (building is then as cheap as the shapes).
    /// </summary>
    public static IDisposable OnMetaDevice() => new MetaScope();

    private sealed class MetaScope : IDisposable
    {
        private bool _done;
        public MetaScope() => t_onMeta++;
        public void Dispose() { if (!_done) { _done = true; t_onMeta--; } }
    }

    /// <summary>Allocates an uninitialised (or zeroed) contiguous tensor.</summary>
    internal static Tensor Empty(ReadOnlySpan<long> shape, DType dtype, Device device, bool zero = false, string op = "empty")
    {
        if (t_onMeta > 0) device = Device.Meta;
        long bytes = ShapeUtil.CheckedBytes(op, shape, dtype.ElementSize());
        var backend = Backends.For(device, op);
        Storage storage;
        try { storage = backend.Allocate(bytes, zero); }
        catch (DeviceOutOfMemoryException e) when (e.Op != op) { throw e.For(op); }
        return new Tensor(storage, shape.ToArray(), ShapeUtil.ContiguousStrides(shape), 0, dtype, shareStorage: false);
    }

    /// <summary>Sizes of the dimensions (a copy).</summary>
    public long[] Shape => (long[])_shape.Clone();

    /// <summary>Steps in elements along each dimension (a copy).</summary>
    public long[] Strides => (long[])_strides.Clone();

    /// <summary>Offset of the first element in the storage, in elements.</summary>
    public long StorageOffset => _offset;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of dimensions (PyTorch's <c>dim()</c>).</summary>
    public int Dim => _shape.Length;

    /// <summary>Number of elements.</summary>
    public long NumEl => ShapeUtil.NumEl(_shape);

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long Size(int dim) => _shape[DimOf("size", dim)];

    /// <summary>True when the elements are laid out row-major without gaps.</summary>
    public bool IsContiguous => ShapeUtil.IsContiguous(_shape, _strides);

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => _storage is null;

    internal ReadOnlySpan<long> ShapeSpan => _shape;
    internal ReadOnlySpan<long> StrideSpan => _strides;
    internal IBackend Backend => Backends.For(Device);

    internal Storage StorageOf(string op) => _storage ?? throw new DisposedTensorException(op, $"the tensor of shape {ShapeUtil.Format(_shape)} was already disposed");

    /// <summary>The kernel's view of this tensor.</summary>
    internal StridedView View(string op) => new(StorageOf(op), _offset, _shape, _strides, DType);

    /// <summary>
    /// The kernel's view of this tensor as the destination of an in-place write: counts the write on the storage's
    /// version (shared by every view), so autograd can tell that a tensor saved for backward has changed.
    /// </summary>
    internal StridedView WriteView(string op)
    {
        var s = StorageOf(op);
        s.BumpVersion();
        return new StridedView(s, _offset, _shape, _strides, DType);
    }

    /// <summary>
    /// In-place writes seen by this tensor's memory so far (PyTorch's <c>_version</c>; views and detached aliases share it).
    /// </summary>
    public int Version => StorageOf("version").Version;

    /// <summary>The kernel's view of this tensor broadcast to <paramref name="shape"/> (stride 0 on expanded dims).</summary>
    internal StridedView ViewAs(string op, long[] shape)
    {
        int r = shape.Length, off = r - Rank;
        var st = new long[r];
        for (int i = 0; i < r; i++)
        {
            int j = i - off;
            st[i] = j < 0 || (_shape[j] == 1 && shape[i] != 1) ? 0 : _strides[j];
        }
        return new StridedView(StorageOf(op), _offset, shape, st, DType);
    }

    /// <summary>A new tensor sharing this one's storage with other geometry.</summary>
    internal Tensor Alias(long[] shape, long[] strides, long offset, string op) => new(StorageOf(op), shape, strides, offset, DType, shareStorage: true);

    /// <summary>
    /// Releases this tensor's reference to its storage (the memory goes when the last view of it goes), and the
    /// gradient it owns. Safe to call twice.
    /// </summary>
    public void Dispose()
    {
        var s = _storage;
        if (s is null) return;
        _storage = null;
        s.Release();
        _grad?.Dispose();
        _grad = null;
        // GradFn stays: a graph through a disposed tensor must fail loudly in backward (its saved tensors are
        // gone), not be silently cut here.
    }

    /// <summary>Shows shape, dtype and device (use <see cref="ToString()"/> for values).</summary>
    public string Describe() => $"Tensor({ShapeUtil.Format(_shape)}, {DType.Name()}, {Device})";
}
