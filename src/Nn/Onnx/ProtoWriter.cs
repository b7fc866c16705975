using System.Buffers.Binary;
using System.Text;

namespace Engine.Nn;

/// <summary>
/// The few protocol-buffer encodings an ONNX file needs (varints, length-delimited bytes and messages, fixed 32-bit
/// floats, packed repeated numbers), so the exporter depends on no protobuf library. Field numbers are ONNX's
/// (onnx/onnx.proto), named at each call site. The output is a list of segments, and a nested message or a large byte
/// field is appended by reference: a model's weights are copied once, into the final array, however deep they nest.
/// </summary>
internal sealed class ProtoWriter
{
    private const int Inline = 4096;
    private readonly List<byte[]> _segments = [];
    private readonly MemoryStream _small = new();

    /// <summary>Bytes written so far.</summary>
    public long Length { get; private set; }

    public byte[] ToArray()
    {
        Flush();
        var all = new byte[Length];
        long at = 0;
        foreach (var s in _segments) { s.CopyTo(all, at); at += s.Length; }
        return all;
    }

    public void Int(int field, long value)
    {
        Tag(field, 0);
        Varint((ulong)value);
    }

    public void Bytes(int field, byte[] bytes)
    {
        Tag(field, 2);
        Varint((ulong)bytes.Length);
        Append(bytes);
    }

    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public void Message(int field, Action<ProtoWriter> body)
    {
        var inner = new ProtoWriter();
        body(inner);
        Tag(field, 2);
        Varint((ulong)inner.Length);
        inner.CopyTo(this);
    }

    /// <summary>Appends everything written to this writer to <paramref name="other"/> (by reference).</summary>
    public void CopyTo(ProtoWriter other)
    {
        Flush();
        other.Flush();
        other._segments.AddRange(_segments);
        other.Length += Length;
    }

    public void Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _small.Write(b);
        Length += 4;
    }

    public void PackedInts(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values) inner.Varint((ulong)v);
        Bytes(field, inner.ToArray());
    }

    public void PackedFloats(int field, IReadOnlyList<float> values)
    {
        var b = new byte[4 * values.Count];
        for (int i = 0; i < values.Count; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), values[i]);
        Bytes(field, b);
    }

    private void Append(byte[] bytes)
    {
        if (bytes.Length <= Inline) { _small.Write(bytes); Length += bytes.Length; return; }
        Flush();
        _segments.Add(bytes);
        Length += bytes.Length;
    }

    private void Flush()
    {
        if (_small.Length == 0) return;
        _segments.Add(_small.ToArray());
        _small.SetLength(0);
    }

    private void Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    private void Varint(ulong v)
    {
        while (v >= 0x80) { _small.WriteByte((byte)(v | 0x80)); v >>= 7; Length++; }
        _small.WriteByte((byte)v);
        Length++;
    }
}
