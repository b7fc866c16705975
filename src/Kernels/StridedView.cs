namespace Engine.Kernels;

/// <summary>
/// What a kernel sees of a tensor: its storage, element offset, shape, strides (in elements) and dtype.
/// A stride of 0 repeats an element (broadcasting).
/// </summary>
public readonly struct StridedView
{
    /// <summary>The memory.</summary>
    public readonly Storage Storage;
    /// <summary>Offset of element [0,..,0] in elements.</summary>
    public readonly long Offset;
    /// <summary>Size of each dimension.</summary>
    public readonly long[] Shape;
    /// <summary>Step in elements along each dimension.</summary>
    public readonly long[] Strides;
    /// <summary>Element type.</summary>
    public readonly DType DType;

    /// <summary>Creates a view.</summary>
    public StridedView(Storage storage, long offset, long[] shape, long[] strides, DType dtype)
    {
        Storage = storage; Offset = offset; Shape = shape; Strides = strides; DType = dtype;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Number of elements.</summary>
    public long NumEl
    {
        get { long n = 1; foreach (var s in Shape) n *= s; return n; }
    }

    /// <summary>True when elements are laid out row-major with no gaps.</summary>
    public bool IsContiguous => ShapeUtil.IsContiguous(Shape, Strides);

    /// <summary>The same memory seen with another shape and strides.</summary>
    public StridedView With(long[] shape, long[] strides, long? offset = null) => new(Storage, offset ?? Offset, shape, strides, DType);

    /// <summary>Host pointer to element [0,..,0] (host-addressable storages only: CPU and emulated GPU memory).</summary>
    /// <exception cref="DeviceException">The storage is not addressable from the host (real GPU memory).</exception>
    public unsafe T* Ptr<T>() where T : unmanaged => Storage is IHostAddressable h
        ? (T*)h.HostPointer + Offset
        : throw new DeviceException("kernel", $"memory on {Storage.Device} is not addressable from the host");
}
