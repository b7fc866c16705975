namespace Engine.Kernels.Cpu;

/// <summary>
/// A kernel's temporary host buffer (packed weights, per-core partial sums), rented from <see cref="HostBlockCache"/>
/// and given back on <see cref="Dispose"/>. A fresh managed array per call cost DenseNet's weight gradients a fifth of
/// the step: the GC hands large arrays out on pages the OS has not backed yet, and a GEMM that reads C before writing
/// it maps each page twice (the zero page, then a copy), flushing the other cores' TLBs every time. A cached block is
/// already backed; <see cref="Clear"/> from the core that will use a slice keeps the first touch a write.
/// </summary>
internal readonly unsafe struct HostBuffer<T> : IDisposable where T : unmanaged
{
    /// <summary>The first element (64-byte aligned); contents are undefined until written.</summary>
    public readonly T* Ptr;

    /// <summary>Elements in the buffer.</summary>
    public readonly long Length;

    /// <summary>Rents room for <paramref name="length"/> elements.</summary>
    public HostBuffer(long length)
    {
        Length = length;
        Ptr = (T*)HostBlockCache.Rent(Math.Max(1, length) * sizeof(T));
    }

    /// <summary>Zeroes elements [<paramref name="start"/>, start + <paramref name="count"/>).</summary>
    public void Clear(long start, long count) =>
        System.Runtime.InteropServices.NativeMemory.Clear(Ptr + start, (nuint)(count * sizeof(T)));

    /// <summary>Gives the block back to the cache.</summary>
    public void Dispose() => HostBlockCache.Return((byte*)Ptr, Math.Max(1, Length) * sizeof(T));
}
