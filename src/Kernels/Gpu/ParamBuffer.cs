using System.Buffers.Binary;

namespace Engine.Kernels.Gpu;

/// <summary>
/// Builds a kernel parameter buffer as CUDA lays it out for cuLaunchKernel (CU_LAUNCH_PARAM_BUFFER_POINTER): each
/// parameter at the next multiple of its size (its alignment), in declaration order. The caller writes the
/// parameters in the order the kernel declares them; the runtime checks the total size.
/// </summary>
public sealed class ParamBuffer
{
    private byte[] _buf = new byte[256];

    /// <summary>Bytes written so far.</summary>
    public int Length { get; private set; }

    private Span<byte> Next(int size)
    {
        int at = (Length + size - 1) / size * size;
        if (at + size > _buf.Length) Array.Resize(ref _buf, Math.Max(_buf.Length * 2, at + size));
        Length = at + size;
        return _buf.AsSpan(at, size);
    }

    /// <summary>A .u64 / .s64 / pointer parameter.</summary>
    public ParamBuffer U64(ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(Next(8), v); return this; }

    /// <summary>A .s64 parameter.</summary>
    public ParamBuffer S64(long v) { BinaryPrimitives.WriteInt64LittleEndian(Next(8), v); return this; }

    /// <summary>A .u32 / .s32 parameter.</summary>
    public ParamBuffer U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(Next(4), v); return this; }

    /// <summary>A .u16 parameter.</summary>
    public ParamBuffer U16(ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(Next(2), v); return this; }

    /// <summary>A .f32 parameter.</summary>
    public ParamBuffer F32(float v) { BinaryPrimitives.WriteSingleLittleEndian(Next(4), v); return this; }

    /// <summary>A .f64 parameter.</summary>
    public ParamBuffer F64(double v) { BinaryPrimitives.WriteDoubleLittleEndian(Next(8), v); return this; }

    /// <summary>The packed bytes.</summary>
    public ReadOnlySpan<byte> Span => _buf.AsSpan(0, Length);
}
