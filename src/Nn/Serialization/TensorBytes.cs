using System.Runtime.InteropServices;
using Engine.Kernels;

namespace Engine.Nn;

/// <summary>Receives one piece of a tensor's bytes (row-major, host byte order); the span is reused afterwards.</summary>
internal delegate void ChunkSink(Span<byte> data);

/// <summary>
/// Moves tensor elements between devices and host byte buffers in row-major order, in bounded chunks, for any dtype
/// (including float16/bfloat16, which the CPU backend cannot copy elementwise).
/// </summary>
internal static class TensorBytes
{
    /// <summary>Bytes per chunk (a multiple of every element size).</summary>
    public const int ChunkBytes = 1 << 22;

    public static long ByteLength(Tensor t) => checked(t.NumEl * t.DType.ElementSize());

    public static bool IsHalf(DType t) => t is DType.Float16 or DType.BFloat16;

    /// <summary>Sends the elements of <paramref name="t"/> to <paramref name="sink"/> in row-major order (whatever its strides).</summary>
    public static void Read(Tensor t, byte[] chunk, ChunkSink sink, string op)
    {
        if (ByteLength(t) == 0) return;
        if (t.IsContiguous) { ReadContiguous(t, chunk, sink, op); return; }
        if (!IsHalf(t.DType))
        {
            using var c = t.ContiguousNoGrad().DetachFromDisposeScope();
            ReadContiguous(c, chunk, sink, op);
            return;
        }
        Gather(t, chunk, sink, op);
    }

    private static void ReadContiguous(Tensor t, byte[] chunk, ChunkSink sink, string op)
    {
        var view = t.View(op);
        int es = t.DType.ElementSize();
        long elems = t.NumEl, per = chunk.Length / es;
        for (long e = 0; e < elems; e += per)
        {
            long n = Math.Min(per, elems - e);
            var span = chunk.AsSpan(0, (int)(n * es));
            t.Backend.CopyToHost(view.With([n], [1], view.Offset + e), span);
            sink(span);
        }
    }

    // Non-contiguous float16/bfloat16: copy the storage range the view spans to the host and gather there.
    private static void Gather(Tensor t, byte[] chunk, ChunkSink sink, string op)
    {
        var view = t.View(op);
        var shape = t.ShapeSpan;
        var strides = t.StrideSpan;
        int es = t.DType.ElementSize(), rank = shape.Length;
        long lo = 0, hi = 0;
        for (int d = 0; d < rank; d++)
        {
            long reach = (shape[d] - 1) * strides[d];
            if (reach >= 0) hi += reach; else lo += reach;
        }
        long span = hi - lo + 1;
        if (span * es > Array.MaxLength)
            throw new ShapeException(op, $"a non-contiguous {t.DType.Name()} view spanning {span} elements is too large to gather; call Contiguous() first");
        var src = new byte[span * es];
        t.Backend.CopyToHost(view.With([span], [1], view.Offset + lo), src);
        var idx = new long[rank];
        long off = -lo, total = t.NumEl;
        int filled = 0;
        for (long k = 0; k < total; k++)
        {
            src.AsSpan((int)(off * es), es).CopyTo(chunk.AsSpan(filled));
            filled += es;
            if (filled == chunk.Length) { sink(chunk.AsSpan(0, filled)); filled = 0; }
            for (int d = rank - 1; d >= 0; d--)
            {
                off += strides[d];
                if (++idx[d] < shape[d]) break;
                off -= strides[d] * shape[d];
                idx[d] = 0;
            }
        }
        if (filled > 0) sink(chunk.AsSpan(0, filled));
    }

    /// <summary>All elements of <paramref name="t"/> as row-major host bytes.</summary>
    public static byte[] ToHost(Tensor t, string op)
    {
        var result = new byte[ByteLength(t)];
        int pos = 0;
        Read(t, new byte[(int)Math.Min(ChunkBytes, Math.Max(8, result.Length))], data => { data.CopyTo(result.AsSpan(pos)); pos += data.Length; }, op);
        return result;
    }

    /// <summary>A new contiguous CPU tensor holding <paramref name="bytes"/> (row-major, host byte order). It joins the current dispose scope.</summary>
    public static Tensor FromHost(ReadOnlySpan<byte> bytes, long[] shape, DType dtype, string op)
    {
        var t = Tensor.Empty(shape, dtype, Device.Cpu, op: op);
        t.Backend.CopyFromHost(t.View(op), bytes);
        return t;
    }

    /// <summary>
    /// <paramref name="src"/> converted to <paramref name="target"/> through host memory, for the conversions the CPU
    /// backend cannot do (to or from float16/bfloat16). The result is a new CPU tensor in the current dispose scope.
    /// </summary>
    public static Tensor ConvertOnHost(Tensor src, DType target, string op)
    {
        double[] v;
        if (IsHalf(src.DType))
        {
            var raw = MemoryMarshal.Cast<byte, ushort>(ToHost(src, op));
            v = new double[raw.Length];
            for (int i = 0; i < raw.Length; i++)
                v[i] = src.DType == DType.Float16 ? (double)BitConverter.UInt16BitsToHalf(raw[i]) : BFloat16ToFloat(raw[i]);
        }
        else v = src.ToDoubleArray();
        if (IsHalf(target))
        {
            var bits = new ushort[v.Length];
            for (int i = 0; i < v.Length; i++)
                bits[i] = target == DType.Float16 ? BitConverter.HalfToUInt16Bits((Half)v[i]) : FloatToBFloat16((float)v[i]);
            return FromHost(MemoryMarshal.AsBytes(bits.AsSpan()), src.Shape, target, op);
        }
        using var d = Tensor.FromSpan<double>(v, src.Shape);
        return d.ToOwned(target, Device.Cpu, copy: true);
    }

    /// <summary>The float a bfloat16 bit pattern stands for.</summary>
    public static float BFloat16ToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The nearest bfloat16 (round to nearest even; NaN stays NaN).</summary>
    public static ushort FloatToBFloat16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((u >> 16) | 0x40);
        u += 0x7FFFu + ((u >> 16) & 1);
        return (ushort)(u >> 16);
    }

    /// <summary>Converts between host byte order and little-endian in place (nothing to do on little-endian hosts).</summary>
    public static void SwapLittleEndian(Span<byte> data, int elementSize)
    {
        if (BitConverter.IsLittleEndian || elementSize == 1) return;
        for (int i = 0; i + elementSize <= data.Length; i += elementSize) data.Slice(i, elementSize).Reverse();
    }
}
