using System.Buffers.Binary;
using System.IO.Compression;

namespace Engine.Nn.Data;

/// <summary>
/// Structural checks of PNG, JPEG and BMP files, run before any decoder sees the bytes, so that damage is reported
/// with its reason and offset instead of hanging, exhausting memory or decoding silently into garbage: PNG chunk
/// lengths, CRCs, IHDR fields, chunk order and the size of the inflated image data; the JPEG marker sequence (SOI,
/// segment lengths, one supported SOF, scans, EOI); the BMP headers and the length of the pixel array. A file that
/// ends early is reported as truncated.
/// </summary>
internal static class ImageStructure
{
    /// <summary>Why the prefix read so far did not reach the size fields (header-only checks read more and retry).</summary>
    public sealed class NeedMoreException : Exception;

    private static readonly uint[] s_crcTable = BuildCrcTable();

    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// Checks <paramref name="d"/>, the whole file when <paramref name="complete"/>, else a prefix of it. With
    /// <paramref name="headerOnly"/> the check stops once the size is known (PNG IHDR, JPEG SOF, BMP headers).
    /// Raises <see cref="DataException"/> naming <paramref name="file"/> and the reason, or
    /// <see cref="NeedMoreException"/> when an incomplete prefix ends before the header does.
    /// </summary>
    public static ImageHeader Check(ReadOnlySpan<byte> d, bool complete, bool headerOnly, string op, string file)
    {
        if (d.Length >= 8 && d[..8].SequenceEqual(PngSignature)) return Png(d, complete, headerOnly, new(op, file));
        if (d.Length >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return Jpeg(d, complete, headerOnly, new(op, file));
        if (d.Length >= 2 && d[0] == (byte)'B' && d[1] == (byte)'M') return Bmp(d, complete, new(op, file));
        if (!complete && d.Length < 8) throw new NeedMoreException();
        throw new DataException(op, file, d.Length < 8
            ? $"not a PNG, JPEG or BMP image: the file has only {d.Length} bytes"
            : $"not a PNG, JPEG or BMP image: it starts with {Convert.ToHexString(d[..Math.Min(8, d.Length)])}, no known signature");
    }

    private readonly record struct Where(string Op, string File)
    {
        public DataException Bad(string reason) => new(Op, File, reason);
    }

    // ---- PNG ----------------------------------------------------------------------------------------------

    private static ImageHeader Png(ReadOnlySpan<byte> d, bool complete, bool headerOnly, Where at)
    {
        int pos = 8, width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0;
        bool seenPalette = false, seenData = false, dataEnded = false;
        var idat = new List<(int Start, int Length)>();
        while (true)
        {
            if (pos + 8 > d.Length)
            {
                if (!complete) throw new NeedMoreException();
                throw at.Bad(pos == d.Length
                    ? $"truncated: the file ends after {d.Length} bytes without an IEND chunk"
                    : $"truncated: the file ends inside the chunk header at offset {pos}");
            }
            uint length = BinaryPrimitives.ReadUInt32BigEndian(d[pos..]);
            var typeBytes = d.Slice(pos + 4, 4);
            foreach (var c in typeBytes)
                if (!char.IsAsciiLetter((char)c)) throw at.Bad($"chunk at offset {pos} has an invalid type {Convert.ToHexString(typeBytes)} (damaged file)");
            string type = System.Text.Encoding.ASCII.GetString(typeBytes);
            if (length > int.MaxValue) throw at.Bad($"chunk {type} at offset {pos} declares {length} bytes, more than PNG allows");
            if (pos + 12L + length > d.Length)
            {
                if (!complete) throw new NeedMoreException();
                throw at.Bad($"truncated: chunk {type} at offset {pos} needs {12L + length} bytes, the file has {d.Length - pos} left");
            }
            var body = d.Slice(pos + 8, (int)length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(d[(pos + 8 + (int)length)..]);
            if (crc != Crc(d.Slice(pos + 4, 4 + (int)length)))
                throw at.Bad($"CRC mismatch in chunk {type} at offset {pos} (damaged file)");
            if (pos == 8 && type != "IHDR") throw at.Bad($"the first chunk is {type}, not IHDR");
            switch (type)
            {
                case "IHDR":
                    if (pos != 8) throw at.Bad($"a second IHDR chunk at offset {pos}");
                    if (length != 13) throw at.Bad($"the IHDR chunk has {length} bytes, not 13");
                    uint w = BinaryPrimitives.ReadUInt32BigEndian(body), h = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
                    if (w is 0 or > int.MaxValue || h is 0 or > int.MaxValue) throw at.Bad($"invalid image size {w} x {h} in IHDR");
                    (width, height, bitDepth, colorType, interlace) = ((int)w, (int)h, body[8], body[9], body[12]);
                    bool validDepth = colorType switch
                    {
                        0 => bitDepth is 1 or 2 or 4 or 8 or 16,
                        3 => bitDepth is 1 or 2 or 4 or 8,
                        2 or 4 or 6 => bitDepth is 8 or 16,
                        _ => false,
                    };
                    if (!validDepth) throw at.Bad($"invalid colour type {colorType} with bit depth {bitDepth} in IHDR");
                    if (body[10] != 0 || body[11] != 0 || interlace > 1)
                        throw at.Bad($"unknown compression {body[10]}, filter {body[11]} or interlace {interlace} method in IHDR");
                    if (headerOnly) return new(ImageFormat.Png, width, height, 1);
                    break;
                case "PLTE":
                    if (seenData) throw at.Bad($"PLTE chunk at offset {pos} comes after the image data");
                    if (length % 3 != 0 || length == 0 || length > 768) throw at.Bad($"the PLTE chunk has {length} bytes, not 3 to 768 in steps of 3");
                    seenPalette = true;
                    break;
                case "IDAT":
                    if (dataEnded) throw at.Bad($"IDAT chunk at offset {pos} after other chunks followed the image data");
                    if (colorType == 3 && !seenPalette) throw at.Bad("a palette image without a PLTE chunk before its data");
                    seenData = true;
                    idat.Add((pos + 8, (int)length));
                    break;
                case "IEND":
                    if (!seenData) throw at.Bad("no image data (IDAT chunk) before IEND");
                    CheckInflatedSize(d, idat, width, height, bitDepth, colorType, interlace, at);
                    return new(ImageFormat.Png, width, height, 1);
                default:
                    if ((typeBytes[0] & 0x20) == 0) throw at.Bad($"unknown critical chunk {type} at offset {pos}");
                    if (seenData) dataEnded = true;
                    break;
            }
            pos += 12 + (int)length;
        }
    }

    /// <summary>
    /// Inflates the IDAT data into a small counting buffer (no image-sized allocation) and checks it holds exactly
    /// the filtered scanlines IHDR implies: a corrupt stream, too little data (truncated) or a zlib bomb is refused.
    /// </summary>
    private static void CheckInflatedSize(ReadOnlySpan<byte> d, List<(int Start, int Length)> idat, int width, int height,
        int bitDepth, int colorType, int interlace, Where at)
    {
        int channels = colorType switch { 0 or 3 => 1, 2 => 3, 4 => 2, _ => 4 };
        long bitsPerPixel = (long)channels * bitDepth;
        long Rows(long w, long h) => w == 0 || h == 0 ? 0 : h * (1 + (w * bitsPerPixel + 7) / 8);
        long expected = 0;
        if (interlace == 0) expected = Rows(width, height);
        else
        {
            // Adam7: (x0, y0, dx, dy) of the seven passes.
            ReadOnlySpan<int> p = [0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2];
            for (int i = 0; i < 28; i += 4)
                expected += Rows((width - p[i] + p[i + 2] - 1) / p[i + 2], (height - p[i + 1] + p[i + 3] - 1) / p[i + 3]);
        }
        long total = 0;
        foreach (var (_, len) in idat) total += len;
        var compressed = new byte[total];
        int off = 0;
        foreach (var (start, len) in idat) { d.Slice(start, len).CopyTo(compressed.AsSpan(off)); off += len; }
        long got = 0;
        var sink = new byte[1 << 16];
        try
        {
            using var z = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress);
            int n;
            while ((n = z.Read(sink)) > 0)
            {
                got += n;
                if (got > expected) throw at.Bad($"the compressed image data inflates to more than the {expected} bytes a {width} x {height} image needs (a zlib bomb or a damaged header?)");
            }
        }
        catch (InvalidDataException e)
        {
            throw at.Bad($"the compressed image data is corrupt ({e.Message})");
        }
        if (got < expected) throw at.Bad($"truncated image data: it inflates to {got} of the {expected} bytes a {width} x {height} image needs");
    }

    // CRC-32 (ISO 3309, as PNG uses), sliced by 8: eight table lookups per 8 bytes instead of one per byte.
    private static uint Crc(ReadOnlySpan<byte> data)
    {
        var t = s_crcTable;
        uint c = 0xFFFFFFFF;
        while (data.Length >= 8)
        {
            uint lo = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ c, hi = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            c = t[7 * 256 + (lo & 0xFF)] ^ t[6 * 256 + ((lo >> 8) & 0xFF)] ^ t[5 * 256 + ((lo >> 16) & 0xFF)] ^ t[4 * 256 + (lo >> 24)]
              ^ t[3 * 256 + (hi & 0xFF)] ^ t[2 * 256 + ((hi >> 8) & 0xFF)] ^ t[256 + ((hi >> 16) & 0xFF)] ^ t[hi >> 24];
            data = data[8..];
        }
        foreach (var b in data) c = t[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFF;
    }

    private static uint[] BuildCrcTable()
    {
        var t = new uint[8 * 256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        // Table k advances a byte followed by k zero bytes.
        for (int k = 1; k < 8; k++)
            for (int n = 0; n < 256; n++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >> 8) ^ t[t[(k - 1) * 256 + n] & 0xFF];
        return t;
    }

    // ---- JPEG ---------------------------------------------------------------------------------------------

    private static ImageHeader Jpeg(ReadOnlySpan<byte> d, bool complete, bool headerOnly, Where at)
    {
        int pos = 2, width = 0, height = 0, scans = 0;
        bool seenFrame = false;
        while (true)
        {
            // A marker: 0xFF, any number of 0xFF fill bytes, a code.
            if (pos >= d.Length) break;
            if (d[pos] != 0xFF) throw at.Bad($"expected a marker at offset {pos}, found byte 0x{d[pos]:X2} (damaged file)");
            while (pos < d.Length && d[pos] == 0xFF) pos++;
            if (pos >= d.Length) break;
            byte m = d[pos++];
            int markerAt = pos - 2;
            if (m == 0xD9)
            {
                if (!seenFrame || scans == 0) throw at.Bad($"end of image (EOI) at offset {markerAt} before any {(seenFrame ? "scan" : "frame header (SOF)")}");
                return new(ImageFormat.Jpeg, width, height, scans);
            }
            if (m is 0x00 or 0x01 or 0xD8 or (>= 0xD0 and <= 0xD7))
                throw at.Bad($"unexpected marker FF{m:X2} at offset {markerAt} (damaged file)");
            if (pos + 2 > d.Length) break;
            int length = BinaryPrimitives.ReadUInt16BigEndian(d[pos..]);
            if (length < 2) throw at.Bad($"segment FF{m:X2} at offset {markerAt} has an invalid length {length}");
            if (pos + length > d.Length)
            {
                if (!complete) throw new NeedMoreException();
                throw at.Bad($"truncated: segment FF{m:X2} at offset {markerAt} declares {length} bytes, the file has {d.Length - pos} left");
            }
            var body = d.Slice(pos + 2, length - 2);
            if (m is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                if (m is not (0xC0 or 0xC1 or 0xC2))
                    throw at.Bad($"unsupported JPEG coding (SOF{m - 0xC0}: lossless, hierarchical or arithmetic); baseline and progressive are read");
                if (seenFrame) throw at.Bad($"a second frame header (SOF) at offset {markerAt}");
                if (body.Length < 6) throw at.Bad($"the frame header at offset {markerAt} is too short");
                int precision = body[0], components = body[5];
                height = BinaryPrimitives.ReadUInt16BigEndian(body[1..]);
                width = BinaryPrimitives.ReadUInt16BigEndian(body[3..]);
                if (precision != 8) throw at.Bad($"unsupported sample precision {precision} bits (8 is read)");
                if (width == 0 || height == 0) throw at.Bad($"invalid image size {width} x {height} in the frame header (a DNL height is not supported)");
                if (components is not (1 or 3 or 4)) throw at.Bad($"{components} colour components in the frame header (1, 3 or 4 are read)");
                if (body.Length != 6 + 3 * components) throw at.Bad($"the frame header's length {length} does not match its {components} components");
                for (int c = 0; c < components; c++)
                {
                    int hv = body[7 + 3 * c], tq = body[8 + 3 * c];
                    if (hv >> 4 is < 1 or > 4 || (hv & 15) is < 1 or > 4 || tq > 3)
                        throw at.Bad($"component {c} of the frame header has invalid sampling 0x{hv:X2} or table {tq}");
                }
                seenFrame = true;
                if (headerOnly) return new(ImageFormat.Jpeg, width, height, 1);
            }
            else if (m == 0xDA)
            {
                if (!seenFrame) throw at.Bad($"a scan (SOS) at offset {markerAt} before the frame header (SOF)");
                int ns = body.Length > 0 ? body[0] : 0;
                if (ns is < 1 or > 4 || body.Length != 4 + 2 * ns) throw at.Bad($"the scan header at offset {markerAt} is malformed");
                scans++;
                // The entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
                int i = pos + length;
                while (true)
                {
                    int ff = d[i..].IndexOf((byte)0xFF);
                    if (ff < 0 || i + ff + 1 >= d.Length) { i = d.Length; break; }
                    i += ff;
                    byte next = d[i + 1];
                    if (next == 0x00 || next is >= 0xD0 and <= 0xD7) { i += 2; continue; }
                    if (next == 0xFF) { i++; continue; }
                    break;
                }
                if (i >= d.Length)
                {
                    if (!complete) throw new NeedMoreException();
                    throw at.Bad($"truncated: the file ends inside the data of scan {scans} (from offset {pos + length}), without an EOI marker");
                }
                pos = i;
                continue;
            }
            pos += length;
        }
        if (!complete) throw new NeedMoreException();
        throw at.Bad(seenFrame
            ? $"truncated: the file ends after {d.Length} bytes without an EOI marker"
            : $"truncated: the file ends after {d.Length} bytes before the frame header (SOF)");
    }

    // ---- BMP ----------------------------------------------------------------------------------------------

    private static ImageHeader Bmp(ReadOnlySpan<byte> d, bool complete, Where at)
    {
        if (d.Length < 26)
        {
            if (!complete) throw new NeedMoreException();
            throw at.Bad($"truncated: {d.Length} bytes, too short for the BMP headers");
        }
        uint dataOffset = BinaryPrimitives.ReadUInt32LittleEndian(d[10..]);
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(d[14..]);
        if (headerSize is not (12 or 40 or 56 or 108 or 124)) throw at.Bad($"unsupported BMP header size {headerSize} (12, 40, 56, 108 or 124 are read)");
        if (d.Length < 14 + Math.Max(headerSize, 16))
        {
            if (!complete) throw new NeedMoreException();
            throw at.Bad($"truncated: {d.Length} bytes, too short for the {headerSize}-byte BMP header");
        }
        long width, height;
        int planes, bpp, compression = 0;
        if (headerSize == 12)
        {
            (width, height) = (BinaryPrimitives.ReadUInt16LittleEndian(d[18..]), BinaryPrimitives.ReadUInt16LittleEndian(d[20..]));
            (planes, bpp) = (BinaryPrimitives.ReadUInt16LittleEndian(d[22..]), BinaryPrimitives.ReadUInt16LittleEndian(d[24..]));
        }
        else
        {
            (width, height) = (BinaryPrimitives.ReadInt32LittleEndian(d[18..]), Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(d[22..])));
            (planes, bpp) = (BinaryPrimitives.ReadUInt16LittleEndian(d[26..]), BinaryPrimitives.ReadUInt16LittleEndian(d[28..]));
            compression = (int)BinaryPrimitives.ReadUInt32LittleEndian(d[30..]);
        }
        if (width <= 0 || height <= 0 || height > int.MaxValue) throw at.Bad($"invalid image size {width} x {height} in the BMP header");
        if (planes != 1) throw at.Bad($"{planes} colour planes in the BMP header (1 is valid)");
        if (bpp is not (1 or 4 or 8 or 16 or 24 or 32)) throw at.Bad($"unsupported {bpp} bits per pixel (1, 4, 8, 16, 24 or 32 are read)");
        if (compression is not (0 or 3) || (compression == 3 && bpp is not (16 or 32)))
            throw at.Bad($"unsupported BMP compression {compression} with {bpp} bits per pixel (uncompressed and bit fields are read)");
        long stride = (width * bpp + 31) / 32 * 4, needed = stride * height;
        if (dataOffset < 14 + headerSize) throw at.Bad($"the pixel data offset {dataOffset} points inside the headers");
        if (!complete) return new(ImageFormat.Bmp, (int)Math.Min(width, int.MaxValue), (int)height, 1);
        if (dataOffset + needed > d.Length)
            throw at.Bad($"truncated: the {width} x {height} pixels need {needed} bytes from offset {dataOffset}, the file has {d.Length}");
        return new(ImageFormat.Bmp, (int)width, (int)height, 1);
    }
}
