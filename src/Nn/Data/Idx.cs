using System.Buffers.Binary;
using System.IO.Compression;

namespace Engine.Nn.Data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (LeCun et al.): a big-endian magic number 0x0000TTDD (TT the
/// element type, 0x08 for unsigned bytes; DD the number of dimensions), DD big-endian int32 sizes, then the
/// values row-major. Files may be gzipped (recognised by content, not by name). Only unsigned-byte files are
/// read: 0x00000803 for images [N, rows, cols] and 0x00000801 for labels [N].
/// </summary>
public static class Idx
{
    /// <summary>Magic number of an unsigned-byte image file [N, rows, cols].</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an unsigned-byte label file [N].</summary>
    public const int LabelsMagic = 0x00000801;

    private const string Op = "idx";

    /// <summary>Reads an image file: [N, rows, cols] unsigned bytes.</summary>
    public static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(string path) => ReadImages(ReadFile(path), path);

    /// <summary>Reads a label file: [N] unsigned bytes.</summary>
    public static byte[] ReadLabels(string path) => ReadLabels(ReadFile(path), path);

    /// <summary>Reads an image file from a stream (raw or gzipped); <paramref name="name"/> names it in errors.</summary>
    public static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(Stream stream, string name) => ReadImages(ReadStream(stream, name), name);

    /// <summary>Reads a label file from a stream (raw or gzipped); <paramref name="name"/> names it in errors.</summary>
    public static byte[] ReadLabels(Stream stream, string name) => ReadLabels(ReadStream(stream, name), name);

    /// <summary>
    /// Writes an unsigned-byte IDX file with the given dimensions (1-D labels or 3-D images), gzipped when
    /// <paramref name="path"/> ends in ".gz" (deterministic output: no timestamp).
    /// </summary>
    public static void Write(string path, ReadOnlySpan<int> dims, ReadOnlySpan<byte> data)
    {
        long n = 1;
        foreach (int d in dims)
        {
            if (d < 0) throw new ArgumentValueException(Op, $"negative dimension {d}");
            n *= d;
        }
        if (dims.Length is < 1 or > 255) throw new ArgumentValueException(Op, $"an IDX file has 1 to 255 dimensions, got {dims.Length}");
        if (n != data.Length) throw new ShapeException(Op, $"{data.Length} bytes do not fill dimensions [{string.Join(", ", dims.ToArray())}]");
        var header = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, 0x0800 | dims.Length);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        using var file = File.Create(path);
        using Stream output = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(file, CompressionLevel.SmallestSize) : file;
        output.Write(header);
        output.Write(data);
    }

    private static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(byte[] content, string name)
    {
        var (dims, start) = Header(content, name, ImagesMagic, "images");
        DataLength(dims, name);
        if (dims[1] == 0 || dims[2] == 0)
            throw new DataException(Op, name, $"the header's image size {dims[1]} x {dims[2]} has no pixels");
        if ((long)dims[1] * dims[2] > Array.MaxLength)
            throw new DataException(Op, name, $"the header's image size {dims[1]} x {dims[2]} is too large for one image (corrupt header?)");
        var pixels = Payload(content, start, dims, name);
        return (pixels, dims[0], dims[1], dims[2]);
    }

    private static byte[] ReadLabels(byte[] content, string name)
    {
        var (dims, start) = Header(content, name, LabelsMagic, "labels");
        return Payload(content, start, dims, name);
    }

    private static (int[] Dims, int Start) Header(byte[] content, string name, int expected, string what)
    {
        if (content.Length < 4)
            throw new DataException(Op, name, $"not an IDX file: {content.Length} bytes, too short for the 4-byte magic number");
        int magic = BinaryPrimitives.ReadInt32BigEndian(content);
        if (magic != expected)
        {
            string meaning = magic switch
            {
                ImagesMagic => " (an IDX image file)",
                LabelsMagic => " (an IDX label file)",
                _ when (magic & unchecked((int)0xFFFF0000)) == 0 => $" (IDX element type 0x{(magic >> 8) & 0xFF:X2} with {magic & 0xFF} dimensions)",
                _ => " (not an IDX file)",
            };
            throw new DataException(Op, name, $"wrong magic number 0x{magic:X8}{meaning}; expected 0x{expected:X8} for {what}");
        }
        int nd = magic & 0xFF, start = 4 + 4 * nd;
        if (content.Length < start)
            throw new DataException(Op, name, $"truncated header: {nd} dimensions need {start} bytes, the file has {content.Length}");
        var dims = new int[nd];
        for (int i = 0; i < nd; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(content.AsSpan(4 + 4 * i));
            if (dims[i] < 0) throw new DataException(Op, name, $"negative size {dims[i]} for dimension {i} in the header");
        }
        return (dims, start);
    }

    private static byte[] Payload(byte[] content, int start, int[] dims, string name)
    {
        long n = DataLength(dims, name);
        long have = content.Length - start;
        string shape = string.Join(" x ", dims);
        if (have < n)
            throw new DataException(Op, name, $"truncated: the header promises {shape} = {n} bytes of data, but only {have} follow");
        if (have > n)
            throw new DataException(Op, name, $"{have - n} unexpected bytes after the {shape} = {n} bytes of data the header promises");
        return content.AsSpan(start).ToArray();
    }

    /// <summary>
    /// The number of data bytes the header's <paramref name="dims"/> promise, computed with checked arithmetic: a
    /// product beyond what one array can hold (which would otherwise wrap around, even to a length that matches the
    /// file) is rejected here, at load, rather than at the first read of a sample. For images, one image
    /// (rows × cols) must also fit in an array, since samples are read as slices of it.
    /// </summary>
    private static long DataLength(int[] dims, string name)
    {
        string shape = string.Join(" x ", dims);
        long n = 1;
        try
        {
            foreach (int d in dims) n = checked(n * d);
        }
        catch (OverflowException)
        {
            throw new DataException(Op, name, $"the header's dimensions {shape} overflow a 64-bit element count (corrupt header)");
        }
        if (n > Array.MaxLength)
            throw new DataException(Op, name, $"the header's dimensions {shape} = {n} elements exceed the {Array.MaxLength} a dataset can hold (corrupt header?)");
        return n;
    }

    private static byte[] ReadFile(string path)
    {
        Stream file;
        try { file = File.OpenRead(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(Op, path, $"cannot open: {e.Message}");
        }
        using (file) return ReadStream(file, path);
    }

    /// <summary>
    /// The decompressed content of <paramref name="gz"/>, read no further than the header allows: once the header is in,
    /// at most its data length (plus one byte, to report trailing data) is inflated, so a small gzip file that would
    /// inflate to gigabytes (a zip bomb, or a damaged stream) is refused after a few bytes more than it may hold.
    /// </summary>
    private static byte[] Inflate(Stream gz, string name)
    {
        using var plain = new MemoryStream();
        var chunk = new byte[1 << 16];
        long limit = long.MaxValue;
        while (true)
        {
            int want = limit == long.MaxValue ? chunk.Length : (int)Math.Min(chunk.Length, limit - plain.Length + 1);
            int n = gz.Read(chunk, 0, want);
            if (n == 0) break;
            plain.Write(chunk, 0, n);
            if (limit == long.MaxValue) limit = AllowedLength(plain.GetBuffer().AsSpan(0, (int)plain.Length));
            if (plain.Length > limit)
            {
                var head = plain.ToArray();
                if (head.Length < 4 || head[0] != 0 || head[1] != 0 || limit == 4 + 4 * head[3])
                    return head; // an unusable header: Header and DataLength report it
                throw new DataException(Op, name, $"the gzip data inflates to more than the {limit} bytes its IDX header promises (trailing data, or a zip bomb)");
            }
        }
        return plain.ToArray();
    }

    /// <summary>
    /// How many decompressed bytes a file starting with <paramref name="head"/> may hold: its header plus the data the
    /// header promises (checked arithmetic); just the header when the header is unusable (the caller then reports
    /// it); unknown (<see cref="long.MaxValue"/>) while the header is incomplete.
    /// </summary>
    private static long AllowedLength(ReadOnlySpan<byte> head)
    {
        if (head.Length < 4) return long.MaxValue;
        if (head[0] != 0 || head[1] != 0) return 4; // not IDX: the magic number is all the error needs
        int start = 4 + 4 * head[3];
        if (head.Length < start) return long.MaxValue;
        long n = 1;
        for (int i = 0; i < head[3]; i++)
        {
            int d = BinaryPrimitives.ReadInt32BigEndian(head[(4 + 4 * i)..]);
            if (d < 0) return start;
            try { n = checked(n * d); }
            catch (OverflowException) { return start; }
        }
        return n > Array.MaxLength ? start : start + n;
    }

    /// <summary>The whole content, decompressed when it starts with the gzip signature 1F 8B.</summary>
    private static byte[] ReadStream(Stream stream, string name)
    {
        try
        {
            using var raw = new MemoryStream();
            stream.CopyTo(raw);
            var bytes = raw.GetBuffer();
            if (raw.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B)
            {
                raw.Position = 0;
                using var gz = new GZipStream(raw, CompressionMode.Decompress);
                return Inflate(gz, name);
            }
            return raw.ToArray();
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw new DataException(Op, name, $"cannot read (corrupt or truncated gzip data?): {e.Message}");
        }
    }
}
