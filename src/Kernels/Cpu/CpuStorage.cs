using System.Runtime.InteropServices;

namespace Engine.Kernels.Cpu;

/// <summary>Host memory from <see cref="NativeMemory.AlignedAlloc"/>, 64-byte aligned for vector loads.</summary>
public sealed unsafe class CpuStorage : Storage, IHostAddressable
{
    private static long s_liveBytes, s_liveCount, s_finalized;
    private byte* _ptr;

    /// <summary>Bytes of CPU tensor memory currently allocated by the engine.</summary>
    public static long LiveBytes => Interlocked.Read(ref s_liveBytes);

    /// <summary>Number of CPU storages currently alive.</summary>
    public static long LiveCount => Interlocked.Read(ref s_liveCount);

    /// <summary>Storages freed by the finalizer because nothing disposed them (a leak the GC cleaned up).</summary>
    public static long FinalizedCount => Interlocked.Read(ref s_finalized);

    /// <summary>Allocates <paramref name="byteLength"/> bytes, zeroed when <paramref name="zero"/>.</summary>
    public CpuStorage(long byteLength, bool zero) : base(byteLength)
    {
        _ptr = HostBlockCache.Rent(byteLength);
        if (zero) NativeMemory.Clear(_ptr, (nuint)byteLength);
        Interlocked.Add(ref s_liveBytes, byteLength);
        Interlocked.Increment(ref s_liveCount);
    }

    /// <inheritdoc/>
    public override Device Device => Device.Cpu;

    /// <summary>Start of the memory.</summary>
    public byte* Pointer => _ptr;

    /// <inheritdoc/>
    public byte* HostPointer => _ptr;

    /// <inheritdoc/>
    protected override void Free()
    {
        byte* p = _ptr;
        _ptr = null;
        if (p == null) return;
        HostBlockCache.Return(p, ByteLength);
        Interlocked.Add(ref s_liveBytes, -ByteLength);
        Interlocked.Decrement(ref s_liveCount);
        GC.SuppressFinalize(this);
    }

    /// <summary>Safety net for tensors never disposed: host memory may be freed from any thread.</summary>
    ~CpuStorage()
    {
        if (_ptr != null) Interlocked.Increment(ref s_finalized);
        Free();
    }
}
