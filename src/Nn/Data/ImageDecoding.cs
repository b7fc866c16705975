using StbImageSharp;

namespace Engine.Nn.Data;

/// <summary>
/// Safe decoding of PNG, JPEG and BMP files (what <see cref="ImageFolder"/> uses). Every file's structure is checked
/// first (<see cref="Validate"/>: PNG chunks, CRCs and inflated size; JPEG markers, frame, scans and EOI; BMP headers
/// and pixel-array length), so a damaged or truncated file raises <see cref="DataException"/> naming the file and the
/// reason, and the decoder (StbImageSharp, a managed port of stb_image) only ever sees well-formed input. Two limits
/// bound the cost of a hostile file, as PIL's <c>Image.MAX_IMAGE_PIXELS</c> does: <see cref="MaxImagePixels"/>
/// (checked from the header, before any pixel memory is allocated; <see cref="ImageTooLargeException"/>) and
/// <see cref="DecodeTimeout"/> (for images whose decoding may be long: many pixels or many progressive scans).
/// </summary>
public static class ImageDecoding
{
    private const string Op = "image";

    /// <summary>PIL's default limit, 1024 × 1024 × 1024 / 4 / 3 = 89,478,485 pixels.</summary>
    public const long DefaultMaxImagePixels = 1024L * 1024 * 1024 / 4 / 3;

    /// <summary>Images whose pixel-pass count (pixels × JPEG scans) is at most this are decoded inline, without the time bound.</summary>
    private const long InlineWork = 1L << 22;

    private static long s_maxImagePixels = DefaultMaxImagePixels;
    private static long s_decodeTimeoutTicks = TimeSpan.FromSeconds(30).Ticks;

    /// <summary>
    /// The most pixels (width × height) an image may declare; larger ones raise <see cref="ImageTooLargeException"/>
    /// from the header (default <see cref="DefaultMaxImagePixels"/>; <see cref="long.MaxValue"/> turns the check off).
    /// </summary>
    public static long MaxImagePixels
    {
        get => Interlocked.Read(ref s_maxImagePixels);
        set
        {
            if (value < 1) throw new ArgumentValueException(Op, $"MaxImagePixels must be at least 1, got {value}");
            Interlocked.Exchange(ref s_maxImagePixels, value);
        }
    }

    /// <summary>
    /// The longest a decode may take (default 30 s) before it raises <see cref="DataException"/>. Small images
    /// (up to about 4 million pixel-passes) are decoded on the calling thread, where a valid structure bounds the
    /// work; larger ones on a separate thread that the caller stops waiting for at the limit.
    /// </summary>
    public static TimeSpan DecodeTimeout
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref s_decodeTimeoutTicks));
        set
        {
            if (value <= TimeSpan.Zero) throw new ArgumentValueException(Op, $"DecodeTimeout must be positive, got {value}");
            Interlocked.Exchange(ref s_decodeTimeoutTicks, value.Ticks);
        }
    }

    /// <summary>
    /// Reads and checks the header of the image file <paramref name="path"/> (reading no more of the file than the
    /// header needs, usually a few bytes), including <see cref="MaxImagePixels"/>.
    /// </summary>
    /// <exception cref="DataException">The file cannot be read, is not a PNG, JPEG or BMP, or its header is damaged or truncated.</exception>
    public static ImageHeader ReadHeader(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            long length = s.Length;
            int want = (int)Math.Min(length, 1 << 16);
            while (true)
            {
                var prefix = new byte[want];
                s.Position = 0;
                s.ReadExactly(prefix);
                try
                {
                    return CheckLimit(ImageStructure.Check(prefix, complete: want == length, headerOnly: true, Op, path), path);
                }
                catch (ImageStructure.NeedMoreException)
                {
                    // The header lies beyond the prefix (e.g. a JPEG with large metadata segments): read more.
                    if (want == length || (long)want * 4 > Array.MaxLength) throw new DataException(Op, path, $"no image header in the first {want} bytes");
                    want = (int)Math.Min(length, (long)want * 4);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(Op, path, $"cannot read: {e.Message}");
        }
    }

    /// <summary>
    /// Checks the whole structure of an image file held in <paramref name="bytes"/> (named <paramref name="name"/> in
    /// errors) and its size against <see cref="MaxImagePixels"/>, without decoding pixels.
    /// </summary>
    /// <exception cref="DataException">Not a PNG, JPEG or BMP; damaged, truncated or too large (<see cref="ImageTooLargeException"/>).</exception>
    public static ImageHeader Validate(ReadOnlySpan<byte> bytes, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return CheckLimit(ImageStructure.Check(bytes, complete: true, headerOnly: false, Op, name), name);
    }

    /// <summary>
    /// Decodes an image file held in <paramref name="bytes"/> (named <paramref name="name"/> in errors) into 8-bit
    /// interleaved pixels with <paramref name="channels"/> channels (1 grey, 3 RGB), after <see cref="Validate"/>.
    /// </summary>
    /// <exception cref="DataException">The file is damaged, truncated, too large, or takes longer than <see cref="DecodeTimeout"/>.</exception>
    public static (byte[] Pixels, int Width, int Height) Decode(byte[] bytes, int channels, string name)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (channels is not (1 or 3)) throw new ArgumentValueException(Op, $"channels must be 1 or 3, got {channels}");
        var header = Validate(bytes, name);
        var components = channels == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue;
        ImageResult? image = null;
        Exception? failure = null;
        void Run()
        {
            try { image = ImageResult.FromMemory(bytes, components); }
            catch (Exception e) when (e is not OutOfMemoryException) { failure = e; }
        }
        if (header.Pixels * header.Passes <= InlineWork) Run();
        else
        {
            // A thread cannot be stopped in .NET: at the limit the caller stops waiting and the decode is abandoned
            // (a background thread, so it cannot keep the process alive; the checked structure bounds its work).
            var thread = new Thread(Run) { IsBackground = true, Name = "image decode" };
            thread.Start();
            var timeout = DecodeTimeout;
            if (!thread.Join(timeout))
                throw new DataException(Op, name, $"decoding the {header.Width} x {header.Height} {header.Format} image took longer than {timeout.TotalSeconds:0.###} s (ImageDecoding.DecodeTimeout)");
        }
        if (failure is not null) throw new DataException(Op, name, $"the {header.Format} image does not decode: {failure.Message}");
        if (image?.Data is null || image.Width != header.Width || image.Height != header.Height
            || image.Data.Length < (long)header.Pixels * channels)
            throw new DataException(Op, name, $"the {header.Format} image does not decode to its declared {header.Width} x {header.Height} pixels");
        return (image.Data, image.Width, image.Height);
    }

    private static ImageHeader CheckLimit(ImageHeader h, string name)
    {
        long limit = MaxImagePixels;
        if (h.Pixels > limit) throw new ImageTooLargeException(Op, name, h.Width, h.Height, limit);
        return h;
    }
}
