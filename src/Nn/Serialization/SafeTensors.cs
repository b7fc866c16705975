using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Engine.Kernels;

namespace Engine.Nn;

/// <summary>One tensor's entry in a safetensors header: name, dtype, shape and byte range in the data region.</summary>
public sealed class SafeTensorsEntry
{
    internal SafeTensorsEntry(string name, DType dtype, long[] shape, long begin, long end)
    {
        Name = name; DType = dtype; Shape = shape; Begin = begin; End = end;
    }

    /// <summary>The tensor's name, e.g. <c>features.0.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The dimensions (empty for a scalar).</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>First byte of the tensor's data, relative to the start of the data region.</summary>
    public long Begin { get; }

    /// <summary>One past the last byte of the tensor's data, relative to the start of the data region.</summary>
    public long End { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: {SafeTensors.DTypeCode(DType)} {ShapeUtil.Format(Shape.ToArray())} [{Begin}, {End})";
}

/// <summary>The validated header of a safetensors file.</summary>
public sealed class SafeTensorsHeader
{
    internal SafeTensorsHeader(IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string> metadata, long headerLength, long dataLength)
    {
        Entries = entries; Metadata = metadata; HeaderLength = headerLength; DataLength = dataLength;
    }

    /// <summary>The tensors in the order the header lists them.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>N, the length in bytes of the JSON header (padding included).</summary>
    public long HeaderLength { get; }

    /// <summary>Offset of the data region from the start of the file: 8 + N.</summary>
    public long DataStart => 8 + HeaderLength;

    /// <summary>Length of the data region in bytes.</summary>
    public long DataLength { get; }
}

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length N, N bytes of UTF-8 JSON mapping each tensor name to its dtype, shape and
/// <c>data_offsets</c> (plus optional <c>__metadata__</c> strings), padded with spaces to a multiple of 8, then the
/// raw little-endian, row-major tensor data. Names and layouts are PyTorch's state_dict ones, so a file written by
/// <c>safetensors.torch.save_file(model.state_dict(), path)</c> loads into the equivalent engine model unchanged, and
/// the other way round.
/// </summary>
/// <remarks>
/// Every file is validated completely (header, dtypes, shapes, offsets, coverage of the data region) before any
/// tensor is created; a bad file raises <see cref="CheckpointException"/> naming the file and the problem. Writes are
/// atomic: the file is written to a temporary file in the same directory, flushed to disk, then moved over the
/// target, so a crash or error leaves any previous file intact. The temporary file has a short name of its own
/// (<c>.safetensors-XXXXXXXXXXXX.tmp</c>, so a target name near the system's limit still saves); temporary files
/// that a killed save left in a folder are removed by the next save to that folder (only those no process holds
/// open). Write errors name the target, never the temporary file.
/// </remarks>
public static class SafeTensors
{
    /// <summary>The largest header accepted (as the reference implementation: 100 MB).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>The header key of the metadata strings.</summary>
    public const string MetadataKey = "__metadata__";

    private const string SaveOp = "safetensors.save";
    private const string LoadOp = "safetensors.load";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly IReadOnlyDictionary<string, string> NoMetadata = new Dictionary<string, string>();

    /// <summary>The safetensors dtype code of <paramref name="dtype"/> (F32, F64, F16, BF16, I64, I32, U8, BOOL).</summary>
    public static string DTypeCode(DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Float16 => "F16",
        DType.BFloat16 => "BF16",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.UInt8 => "U8",
        DType.Bool => "BOOL",
        _ => throw new DTypeException(SaveOp, $"dtype {dtype} has no safetensors code"),
    };

    /// <summary>The dtype of a safetensors dtype code; false for codes the engine has no dtype for (I8, U16, F8_E4M3, ...).</summary>
    public static bool TryParseDTypeCode(string code, out DType dtype)
    {
        switch (code)
        {
            case "F32": dtype = DType.Float32; return true;
            case "F64": dtype = DType.Float64; return true;
            case "F16": dtype = DType.Float16; return true;
            case "BF16": dtype = DType.BFloat16; return true;
            case "I64": dtype = DType.Int64; return true;
            case "I32": dtype = DType.Int32; return true;
            case "U8": dtype = DType.UInt8; return true;
            case "BOOL": dtype = DType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    // ---- writing ------------------------------------------------------------------------------------------

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device, any strides: data is written contiguous and row-major) and
    /// optional <paramref name="metadata"/> to <paramref name="path"/>, atomically. The header lists the tensors in
    /// the given order; in the data region they are placed by decreasing element size (stable), so every tensor is
    /// aligned to its element size, as the reference writer does.
    /// </summary>
    /// <exception cref="CheckpointException">An empty, reserved, duplicate or invalid name, a disposed tensor, or invalid metadata.</exception>
    /// <exception cref="CheckpointException">
    /// Also: the file could not be written (missing folder, no permission, a folder in its place, disk full); the
    /// message names <paramref name="path"/>, the cause is the I/O error, and the previous file, if any, is intact.
    /// </exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var items = Collect(path, tensors);
        if (metadata is not null) CheckMetadata(path, metadata);
        var header = BuildHeader(items, metadata, out var layout);
        WriteAtomically(path, stream =>
        {
            stream.Write(header);
            var chunk = new byte[TensorBytes.ChunkBytes];
            foreach (var i in layout)
            {
                int es = items[i].Tensor.DType.ElementSize();
                TensorBytes.Read(items[i].Tensor, chunk, data =>
                {
                    TensorBytes.SwapLittleEndian(data, es);
                    stream.Write(data);
                }, SaveOp);
            }
        });
    }

    private static List<(string Name, Tensor Tensor)> Collect(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var items = new List<(string, Tensor)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new CheckpointException(SaveOp, path, "tensor names must be non-empty");
            if (name == MetadataKey) throw new CheckpointException(SaveOp, path, $"'{MetadataKey}' is reserved for the metadata and cannot name a tensor");
            if (!IsValidUnicode(name)) throw new CheckpointException(SaveOp, path, $"tensor name '{name}' is not valid Unicode");
            if (!seen.Add(name)) throw new CheckpointException(SaveOp, path, $"duplicate tensor name '{name}'");
            if (t is null) throw new CheckpointException(SaveOp, path, $"tensor '{name}' is null");
            if (t.IsDisposed) throw new CheckpointException(SaveOp, path, $"tensor '{name}' was disposed");
            items.Add((name, t));
        }
        return items;
    }

    private static void CheckMetadata(string path, IReadOnlyDictionary<string, string> metadata)
    {
        foreach (var (k, v) in metadata)
        {
            if (k is null || v is null) throw new CheckpointException(SaveOp, path, $"metadata entry '{k}' has a null key or value");
            if (!IsValidUnicode(k) || !IsValidUnicode(v)) throw new CheckpointException(SaveOp, path, $"metadata entry '{k}' is not valid Unicode");
        }
    }

    private static bool IsValidUnicode(string s)
    {
        try { StrictUtf8.GetByteCount(s); return true; }
        catch (EncoderFallbackException) { return false; }
    }

    private static byte[] BuildHeader(List<(string Name, Tensor Tensor)> items, IReadOnlyDictionary<string, string>? metadata, out int[] layout)
    {
        // Widest elements first (OrderBy is stable): the data start is 8-aligned, so every tensor is aligned.
        layout = [.. Enumerable.Range(0, items.Count).OrderByDescending(i => items[i].Tensor.DType.ElementSize())];
        var begins = new long[items.Count];
        long pos = 0;
        foreach (var i in layout)
        {
            begins[i] = pos;
            pos = checked(pos + TensorBytes.ByteLength(items[i].Tensor));
        }
        var json = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is not null)
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            for (int i = 0; i < items.Count; i++)
            {
                var t = items[i].Tensor;
                w.WriteStartObject(items[i].Name);
                w.WriteString("dtype", DTypeCode(t.DType));
                w.WriteStartArray("shape");
                foreach (var d in t.ShapeSpan) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(begins[i]);
                w.WriteNumberValue(begins[i] + TensorBytes.ByteLength(t));
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int n = json.WrittenCount, padded = (n + 7) & ~7;
        var header = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        json.WrittenSpan.CopyTo(header.AsSpan(8));
        header.AsSpan(8 + n).Fill((byte)' ');
        return header;
    }

    /// <summary>The pattern of the temporary files of <see cref="WriteAtomically"/>.</summary>
    internal const string TempPattern = ".safetensors-*.tmp";

    /// <summary>
    /// Runs <paramref name="write"/> on a temporary file next to <paramref name="path"/>, flushes it to disk and moves
    /// it over <paramref name="path"/>. On any error the temporary file is deleted and the error propagates, an I/O
    /// error as a <see cref="CheckpointException"/> naming <paramref name="path"/>. Stale temporary files of killed
    /// saves in the same folder are removed first.
    /// </summary>
    internal static void WriteAtomically(string path, Action<Stream> write)
    {
        string full, dir;
        try
        {
            full = Path.GetFullPath(path);
            dir = Path.GetDirectoryName(full) ?? throw new CheckpointException(SaveOp, path, "the path has no folder");
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new CheckpointException(SaveOp, path, $"cannot write: invalid path ({e.Message})", e);
        }
        if (Directory.Exists(full)) throw new CheckpointException(SaveOp, path, "cannot write: it is a folder");
        if (!Directory.Exists(dir)) throw new CheckpointException(SaveOp, path, $"cannot write: the folder '{dir}' does not exist");
        RemoveStaleTemporaries(dir);
        // A short name of our own: the target's name may already be near the system's limit (255 bytes on Linux).
        var temp = Path.Combine(dir, TempPattern.Replace("*", Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6)), StringComparison.Ordinal));
        try
        {
            // FileShare.None takes an exclusive lock (flock on Unix), which tells RemoveStaleTemporaries the save is alive.
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(temp); }
            catch (IOException) { /* best effort: the original error matters more */ }
            catch (UnauthorizedAccessException) { }
            if (e is UnauthorizedAccessException) throw new CheckpointException(SaveOp, path, $"cannot write: permission denied in the folder '{dir}'", e);
            if (e is PathTooLongException) throw new CheckpointException(SaveOp, path, "cannot write: the file name is too long for the file system", e);
            if (e is IOException) throw new CheckpointException(SaveOp, path, $"cannot write: {e.Message.Replace(temp, full, StringComparison.Ordinal)}", e);
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary files that saves killed before their move left in <paramref name="dir"/>: each is opened
    /// exclusively first, which fails while a live save holds it, and deleted on close. Best effort: errors are ignored.
    /// </summary>
    private static void RemoveStaleTemporaries(string dir)
    {
        string[] stale;
        try { stale = Directory.GetFiles(dir, TempPattern); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        foreach (var f in stale)
        {
            try
            {
                using var _ = new FileStream(f, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* in use, or not ours to delete */ }
        }
    }

    // ---- reading ------------------------------------------------------------------------------------------

    /// <summary>Reads and validates the header of <paramref name="path"/> without loading any tensor.</summary>
    /// <exception cref="CheckpointException">The file is not a valid safetensors file (see <see cref="Load(string)"/>).</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var fs = OpenRead(path);
        return ReadHeader(fs, path);
    }

    /// <summary>
    /// Reads and validates a header from a seekable <paramref name="stream"/> positioned at the start of the
    /// safetensors data (which runs to the end of the stream); <paramref name="name"/> names it in errors. The
    /// stream is left at the start of the data region.
    /// </summary>
    public static SafeTensorsHeader ReadHeader(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanRead || !stream.CanSeek) throw new ArgumentException("the stream must be readable and seekable", nameof(stream));
        long total = stream.Length - stream.Position;
        if (total < 8) throw Bad(name, $"the file has {total} bytes, fewer than the 8 bytes of the header length");
        Span<byte> len = stackalloc byte[8];
        ReadExactly(stream, len, name);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n > MaxHeaderLength)
            throw Bad(name, $"the header length {n} exceeds the limit of {MaxHeaderLength} bytes (corrupt file, or not a safetensors file)");
        if ((long)n > total - 8)
            throw Bad(name, $"the header length {n} goes beyond the end of the file ({total} bytes)");
        var bytes = new byte[n];
        ReadExactly(stream, bytes, name);
        return ParseHeader(bytes, total - 8 - (long)n, name);
    }

    /// <summary>
    /// Loads every tensor of <paramref name="path"/> onto the CPU, in header order, after validating the whole file.
    /// </summary>
    /// <remarks>
    /// Ownership: the tensors are new tensors like those of any factory (<see cref="Tensor.Zeros(long[])"/>): they join
    /// the current <see cref="DisposeScope"/> if there is one, and otherwise belong to the caller, who disposes them
    /// (or passes them to <see cref="Module.LoadStateDict"/>, which copies, and then disposes them). On any error no
    /// tensor is returned and every tensor already created is disposed.
    /// </remarks>
    /// <exception cref="CheckpointException">
    /// The file is shorter than 8 bytes; its header length is absurd or beyond the file; the header is not UTF-8 JSON
    /// or not an object; an entry is not an object or has a missing or invalid dtype, shape or data_offsets, a
    /// negative dimension, an unsupported dtype, a byte size that does not match its offsets, offsets out of range or
    /// overlapping another tensor; the tensors leave part of the data region uncovered; or a name appears twice.
    /// </exception>
    /// <exception cref="FileNotFoundException">There is no such file (other I/O errors propagate too).</exception>
    public static StateDict Load(string path) => Load(path, out _);

    /// <summary>As <see cref="Load(string)"/>, also returning the <c>__metadata__</c> strings (empty when absent).</summary>
    public static StateDict Load(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var fs = OpenRead(path);
        return Load(fs, path, out metadata);
    }

    /// <summary>
    /// As <see cref="Load(string)"/>, from a seekable <paramref name="stream"/> positioned at the start of the
    /// safetensors data; <paramref name="name"/> names it in errors.
    /// </summary>
    public static StateDict Load(Stream stream, string name, out IReadOnlyDictionary<string, string> metadata)
    {
        var header = ReadHeader(stream, name);
        var created = new List<Tensor>(header.Entries.Count);
        try
        {
            var result = new StateDict();
            foreach (var e in header.Entries)
            {
                var t = Tensor.Empty(e.Shape.ToArray(), e.DType, Device.Cpu, op: LoadOp);
                created.Add(t);
                result.Add(e.Name, t);
            }
            // The data region is covered exactly (validated), so reading in offset order is one sequential pass.
            var chunk = new byte[(int)Math.Min(TensorBytes.ChunkBytes, Math.Max(8, header.DataLength))];
            foreach (var i in Enumerable.Range(0, header.Entries.Count).OrderBy(i => header.Entries[i].Begin).ThenBy(i => header.Entries[i].End))
                ReadTensor(stream, created[i], chunk, name);
            metadata = header.Metadata;
            return result;
        }
        catch
        {
            foreach (var t in created) t.Dispose();
            throw;
        }
    }

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);

    private static void ReadTensor(Stream stream, Tensor t, byte[] chunk, string name)
    {
        var view = t.View(LoadOp);
        int es = t.DType.ElementSize();
        long elems = t.NumEl, per = chunk.Length / es;
        for (long e = 0; e < elems; e += per)
        {
            long n = Math.Min(per, elems - e);
            var span = chunk.AsSpan(0, (int)(n * es));
            ReadExactly(stream, span, name);
            TensorBytes.SwapLittleEndian(span, es);
            if (t.DType == DType.Bool)
                foreach (ref var b in span) b = b != 0 ? (byte)1 : (byte)0; // the engine's bools are exactly 0 or 1
            t.Backend.CopyFromHost(view.With([n], [1], view.Offset + e), span);
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string name)
    {
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException ex) { throw Bad(name, "the file ended early (was it changed while being read?)", ex); }
    }

    private static CheckpointException Bad(string name, string problem, Exception? cause = null) => new(LoadOp, name, problem, cause);

    private static SafeTensorsHeader ParseHeader(byte[] bytes, long dataLength, string name)
    {
        if (bytes.Length == 0 || bytes[0] != (byte)'{')
            throw Bad(name, "the header does not start with '{' (corrupt file, or not a safetensors file)");
        try { StrictUtf8.GetCharCount(bytes); }
        catch (DecoderFallbackException ex) { throw Bad(name, "the header is not valid UTF-8", ex); }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 16 }); }
        catch (JsonException ex) { throw Bad(name, $"the header is not valid JSON: {ex.Message}", ex); }
        using (doc)
        {
            try
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw Bad(name, $"the header is a JSON {Kind(root)}, not an object");
                var entries = new List<SafeTensorsEntry>();
                var names = new HashSet<string>(StringComparer.Ordinal);
                IReadOnlyDictionary<string, string>? metadata = null;
                foreach (var prop in root.EnumerateObject())
                {
                    if (prop.Name == MetadataKey)
                    {
                        if (metadata is not null) throw Bad(name, $"'{MetadataKey}' appears twice");
                        metadata = ParseMetadata(prop.Value, name);
                        continue;
                    }
                    if (!names.Add(prop.Name)) throw Bad(name, $"duplicate tensor name '{prop.Name}'");
                    entries.Add(ParseEntry(prop.Name, prop.Value, dataLength, name));
                }
                CheckCoverage(entries, dataLength, name);
                return new SafeTensorsHeader(entries, metadata ?? NoMetadata, bytes.Length, dataLength);
            }
            catch (InvalidOperationException ex)
            {
                // System.Text.Json raises this for strings that are not valid UTF-16 once unescaped ("\ud800").
                throw Bad(name, $"the header holds an invalid string: {ex.Message}", ex);
            }
        }
    }

    private static string Snip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    private static Dictionary<string, string> ParseMetadata(JsonElement v, string name)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (v.ValueKind == JsonValueKind.Null) return result;
        if (v.ValueKind != JsonValueKind.Object) throw Bad(name, $"'{MetadataKey}' is a JSON {Kind(v)}, not an object of strings");
        foreach (var p in v.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) throw Bad(name, $"metadata '{p.Name}' is a JSON {Kind(p.Value)}, not a string");
            if (!result.TryAdd(p.Name, p.Value.GetString()!)) throw Bad(name, $"metadata key '{p.Name}' appears twice");
        }
        return result;
    }

    private static SafeTensorsEntry ParseEntry(string tensor, JsonElement v, long dataLength, string name)
    {
        if (v.ValueKind != JsonValueKind.Object) throw Bad(name, $"entry '{tensor}' is a JSON {Kind(v)}, not an object");
        string? code = null;
        long[]? shape = null, offsets = null;
        foreach (var f in v.EnumerateObject())
        {
            switch (f.Name)
            {
                case "dtype":
                    if (code is not null) throw Bad(name, $"tensor '{tensor}' has two 'dtype' fields");
                    if (f.Value.ValueKind != JsonValueKind.String) throw Bad(name, $"the dtype of tensor '{tensor}' is a JSON {Kind(f.Value)}, not a string");
                    code = f.Value.GetString()!;
                    break;
                case "shape":
                    if (shape is not null) throw Bad(name, $"tensor '{tensor}' has two 'shape' fields");
                    shape = Integers(f.Value, tensor, "shape", "dimension", name);
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Bad(name, $"tensor '{tensor}' has two 'data_offsets' fields");
                    offsets = Integers(f.Value, tensor, "data_offsets", "offset", name);
                    break;
                default:
                    break; // unknown fields are ignored, as by the reference implementation
            }
        }
        if (code is null) throw Bad(name, $"tensor '{tensor}' has no dtype");
        if (shape is null) throw Bad(name, $"tensor '{tensor}' has no shape");
        if (offsets is null) throw Bad(name, $"tensor '{tensor}' has no data_offsets");
        if (!TryParseDTypeCode(code, out var dtype))
            throw Bad(name, $"tensor '{tensor}' has dtype '{code}', which is unknown or unsupported (supported: F32, F64, F16, BF16, I64, I32, U8, BOOL)");
        if (offsets.Length != 2) throw Bad(name, $"the data_offsets of tensor '{tensor}' have {offsets.Length} numbers, not 2 (begin, end)");
        long begin = offsets[0], end = offsets[1];
        if (end < begin) throw Bad(name, $"the data_offsets [{begin}, {end}] of tensor '{tensor}' end before they begin");
        long bytes;
        try
        {
            long numel = 1;
            foreach (var d in shape) numel = checked(numel * d);
            bytes = checked(numel * dtype.ElementSize());
        }
        catch (OverflowException)
        {
            throw Bad(name, $"the shape {ShapeUtil.Format(shape)} of tensor '{tensor}' is too large");
        }
        if (bytes != end - begin)
            throw Bad(name, $"tensor '{tensor}' of dtype {code} and shape {ShapeUtil.Format(shape)} needs {bytes} bytes, but its data_offsets [{begin}, {end}] span {end - begin}");
        if (end > dataLength)
            throw Bad(name, $"the data_offsets [{begin}, {end}] of tensor '{tensor}' are out of range: the data region has {dataLength} bytes");
        return new SafeTensorsEntry(tensor, dtype, shape, begin, end);
    }

    private static long[] Integers(JsonElement v, string tensor, string field, string what, string name)
    {
        if (v.ValueKind != JsonValueKind.Array) throw Bad(name, $"the {field} of tensor '{tensor}' is a JSON {Kind(v)}, not an array");
        var result = new long[v.GetArrayLength()];
        int i = 0;
        foreach (var x in v.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out var n))
                throw Bad(name, $"the {field} of tensor '{tensor}' holds {Snip(x.GetRawText())}, which is not an integer");
            if (n < 0) throw Bad(name, $"the {field} of tensor '{tensor}' holds a negative {what} ({n})");
            result[i++] = n;
        }
        return result;
    }

    private static void CheckCoverage(List<SafeTensorsEntry> entries, long dataLength, string name)
    {
        long covered = 0;
        SafeTensorsEntry? prev = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin < covered)
                throw Bad(name, $"tensors '{prev!.Name}' [{prev.Begin}, {prev.End}) and '{e.Name}' [{e.Begin}, {e.End}) overlap");
            if (e.Begin > covered)
                throw Bad(name, $"bytes [{covered}, {e.Begin}) of the data region belong to no tensor (the format allows no holes)");
            covered = e.End;
            prev = e;
        }
        if (covered != dataLength)
            throw Bad(name, $"the data region has {dataLength} bytes but the tensors cover only {covered}: {dataLength - covered} trailing bytes belong to no tensor");
    }
}
