using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using Engine.Nn.Data;
using StbImageWriteSharp;

namespace Engine.Tests.Data;

/// <summary>
/// Damaged, truncated, absurd and oversized image files give <see cref="DataException"/> naming the file and the
/// reason, quickly and without large allocations; nothing hangs.
/// </summary>
[NonParallelizable] // some tests change the process-wide ImageDecoding limits
public class ImageDecodingTests
{
    private static byte[] Pixels(int w, int h, int channels, int seed)
    {
        var rng = new Random(seed);
        var px = new byte[w * h * channels];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)((i * 37 + seed + rng.Next(16)) % 256);
        return px;
    }

    private static StbImageWriteSharp.ColorComponents Components(int c) =>
        c == 1 ? StbImageWriteSharp.ColorComponents.Grey : StbImageWriteSharp.ColorComponents.RedGreenBlue;

    internal static byte[] Png(int w, int h, int channels = 3, int seed = 1)
    {
        using var ms = new MemoryStream();
        new ImageWriter().WritePng(Pixels(w, h, channels, seed), w, h, Components(channels), ms);
        return ms.ToArray();
    }

    internal static byte[] Jpeg(int w, int h, int channels = 3, int seed = 1)
    {
        using var ms = new MemoryStream();
        new ImageWriter().WriteJpg(Pixels(w, h, channels, seed), w, h, Components(channels), ms, 90);
        return ms.ToArray();
    }

    internal static byte[] Bmp(int w, int h, int channels = 3, int seed = 1)
    {
        using var ms = new MemoryStream();
        new ImageWriter().WriteBmp(Pixels(w, h, channels, seed), w, h, Components(channels), ms);
        return ms.ToArray();
    }

    /// <summary>Runs <paramref name="action"/> on another thread and fails (instead of hanging the run) past <paramref name="seconds"/>.</summary>
    private static void Within(double seconds, Action action)
    {
        var task = Task.Run(action);
        Assert.That(task.Wait(TimeSpan.FromSeconds(seconds)), Is.True, $"did not finish within {seconds} s");
    }

    private static DataException FolderFails(TempDir dir, string file, byte[] bytes, bool preload = false)
    {
        var path = dir.File(file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        DataException? e = null;
        Within(10, () => e = Assert.Throws(Is.InstanceOf<DataException>(), () => new ImageFolder(dir.Path, preload: preload)) as DataException);
        Assert.That(e!.FileName, Is.EqualTo(path));
        Assert.That(e.Message, Does.Contain(path));
        return e;
    }

    [Test]
    public void ASixByteJpegIsRejectedAtOnceAsTruncated()
    {
        using var dir = DataTestUtil.TempDir();
        var e = FolderFails(dir, "a/tiny.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF]);
        Assert.That(e.Message, Does.Contain("truncated").And.Contain("FFE0"));
    }

    [Test]
    public void AJpegCutInHalfIsReportedAsTruncated()
    {
        using var dir = DataTestUtil.TempDir();
        var jpeg = Jpeg(64, 48);
        var path = dir.File("a/half.jpg");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, jpeg[..(jpeg.Length / 2)]);
        var ds = new ImageFolder(dir.Path); // the header is intact
        var e = Assert.Throws<DataException>(() => ds.Get(0))!;
        Assert.That(e.Message, Does.Contain(path).And.Contain("truncated").And.Contain("without an EOI marker"));
        e = FolderFails(dir, "a/half.jpg", jpeg[..(jpeg.Length / 2)], preload: true);
        Assert.That(e.Message, Does.Contain("truncated"));
    }

    [Test]
    public void APngCutShortIsReportedAsTruncated()
    {
        var png = Png(20, 10);
        var e = Assert.Throws<DataException>(() => ImageDecoding.Decode(png[..(png.Length - 20)], 3, "cut.png"))!;
        Assert.That(e.Message, Does.Contain("cut.png").And.Contain("truncated"));
    }

    /// <summary>A PNG of the given size whose (tiny) image data is valid zlib but far too short.</summary>
    private static byte[] PngDeclaring(uint width, uint height)
    {
        var png = Png(1, 1);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    [Test]
    public void AnImageOverThePixelLimitIsRejectedFromItsHeaderWithoutAllocatingIt()
    {
        using var dir = DataTestUtil.TempDir();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = FolderFails(dir, "a/bomb.png", PngDeclaring(15000, 15000));
        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - before, Is.LessThan(50_000_000), "no image-sized allocation");
        Assert.That(e, Is.TypeOf<ImageTooLargeException>());
        var big = (ImageTooLargeException)e;
        Assert.That((big.Width, big.Height, big.Limit), Is.EqualTo((15000L, 15000L, ImageDecoding.DefaultMaxImagePixels)));
        Assert.That(e.Message, Does.Contain("225000000 pixels").And.Contain("MaxImagePixels"));
    }

    [Test]
    public void ThePixelLimitIsConfigurable()
    {
        var png = Png(10, 10);
        try
        {
            ImageDecoding.MaxImagePixels = 99;
            Assert.That(() => ImageDecoding.Decode(png, 3, "ten.png"), Throws.TypeOf<ImageTooLargeException>().With.Message.Contains("ten.png"));
            ImageDecoding.MaxImagePixels = 100;
            Assert.That(ImageDecoding.Decode(png, 3, "ten.png").Width, Is.EqualTo(10));
            Assert.That(() => ImageDecoding.MaxImagePixels = 0, Throws.InstanceOf<ArgumentValueException>());
        }
        finally { ImageDecoding.MaxImagePixels = ImageDecoding.DefaultMaxImagePixels; }
    }

    [Test]
    public void ADecodeOverTheTimeLimitRaisesInsteadOfWaiting()
    {
        var png = Png(2100, 2100, channels: 1);
        try
        {
            ImageDecoding.DecodeTimeout = TimeSpan.FromMilliseconds(1);
            var clock = Stopwatch.StartNew();
            Assert.That(() => ImageDecoding.Decode(png, 1, "slow.png"), Throws.InstanceOf<DataException>().With.Message.Contains("slow.png").And.Message.Contains("DecodeTimeout"));
            Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(2));
        }
        finally { ImageDecoding.DecodeTimeout = TimeSpan.FromSeconds(30); }
    }

    public static IEnumerable<TestCaseData> AbsurdHeaders()
    {
        TestCaseData C(string why, byte[] bytes, string phrase) => new TestCaseData(bytes, phrase).SetArgDisplayNames(why);
        yield return C("PNG of width 0", PngDeclaring(0, 5), "invalid image size 0 x 5");
        yield return C("PNG of width 2^32-1", PngDeclaring(uint.MaxValue, 5), "invalid image size");
        var png = Png(3, 3);
        png[24] = 7; // bit depth 7
        yield return C("PNG bit depth 7 (bad CRC too)", png, "CRC mismatch in chunk IHDR");
        var bmp = Bmp(4, 4);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), -4);
        yield return C("BMP of negative width", bmp, "invalid image size -4 x 4");
        bmp = Bmp(4, 4);
        BinaryPrimitives.WriteUInt16LittleEndian(bmp.AsSpan(28), 7);
        yield return C("BMP of 7 bits per pixel", bmp, "unsupported 7 bits per pixel");
        var jpeg = Jpeg(8, 8);
        int sof = jpeg.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        jpeg[sof + 5] = 0; jpeg[sof + 6] = 0; // height 0
        yield return C("JPEG of height 0", jpeg, "invalid image size 8 x 0");
        yield return C("no known signature", "GIF89a....."u8.ToArray(), "not a PNG, JPEG or BMP image: it starts with");
    }

    [TestCaseSource(nameof(AbsurdHeaders))]
    public void AnAbsurdHeaderIsReportedForWhatItIs(byte[] bytes, string phrase)
    {
        using var dir = DataTestUtil.TempDir();
        var e = FolderFails(dir, "a/x.img.png", bytes);
        Assert.That(e.Message, Does.Contain(phrase));
    }

    [Test]
    public void AJpegWhoseHeaderLiesBeyondTheFirstReadIsStillFound()
    {
        // 100 KB of comment segments before the frame header: the header reader reads on.
        var jpeg = Jpeg(9, 7);
        var com = new List<byte>();
        for (int i = 0; i < 2; i++) { com.AddRange([0xFF, 0xFE, 0xFF, 0xFF]); com.AddRange(new byte[65533]); }
        var bytes = jpeg[..2].Concat(com).Concat(jpeg[2..]).ToArray();
        using var dir = DataTestUtil.TempDir();
        File.WriteAllBytes(Path.Combine(Directory.CreateDirectory(dir.File("a")).FullName, "big.jpg"), bytes);
        var ds = new ImageFolder(dir.Path);
        using var s = ds.Get(0);
        Assert.That(s.Image.Shape, Is.EqualTo(new long[] { 3, 7, 9 }));
    }

    // ---- fuzz ---------------------------------------------------------------------------------------------

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    /// <summary>Recomputes every chunk's CRC, so a mutation reaches the decoder instead of the CRC check.</summary>
    private static void FixPngCrcs(byte[] png)
    {
        int pos = 8;
        while (pos + 12 <= png.Length)
        {
            long len = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            if (pos + 12 + len > png.Length) return;
            BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(pos + 8 + (int)len), Crc32(png.AsSpan(pos + 4, 4 + (int)len)));
            pos += 12 + (int)len;
        }
    }

    /// <summary>A PNG whose image data is re-compressed after mutating the raw scanlines (filter bytes included).</summary>
    private static byte[] PngWithMutatedScanlines(byte[] png, Random rng)
    {
        int idat = png.AsSpan().IndexOf("IDAT"u8) - 4;
        int len = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(idat));
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(new MemoryStream(png, idat + 8, len), CompressionMode.Decompress)) z.CopyTo(raw);
        var scan = raw.ToArray();
        for (int k = rng.Next(1, 4); k > 0; k--) scan[rng.Next(scan.Length)] = (byte)rng.Next(256);
        using var packed = new MemoryStream();
        using (var z = new ZLibStream(packed, CompressionLevel.Fastest, leaveOpen: true)) z.Write(scan);
        var data = packed.ToArray();
        var result = new List<byte>(png[..idat]);
        var lenBytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(lenBytes, (uint)data.Length);
        result.AddRange(lenBytes);
        result.AddRange("IDAT"u8.ToArray());
        result.AddRange(data);
        result.AddRange(new byte[4]);
        result.AddRange(png[(idat + 12 + len)..]);
        var bytes = result.ToArray();
        FixPngCrcs(bytes);
        return bytes;
    }

    private static byte[] Mutate(byte[] good, ImageFormat format, Random rng)
    {
        var b = (byte[])good.Clone();
        switch (rng.Next(7))
        {
            case 0: return b[..rng.Next(b.Length)]; // truncated
            case 1: // a few random bytes
                for (int k = rng.Next(1, 5); k > 0; k--) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                break;
            case 2: // a boundary integer somewhere in the first 64 bytes (sizes, lengths)
                {
                    int at = rng.Next(Math.Min(60, b.Length - 4));
                    uint[] edges = [0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 65535u << 16];
                    BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), edges[rng.Next(edges.Length)]);
                    break;
                }
            case 3: // bytes inserted or removed
                {
                    int at = rng.Next(b.Length), n = rng.Next(1, 9);
                    return rng.Next(2) == 0
                        ? [.. b[..at], .. Enumerable.Repeat((byte)rng.Next(256), n), .. b[at..]]
                        : [.. b[..at], .. b[Math.Min(b.Length, at + n)..]];
                }
            default: // structure kept, content damaged: the decoder itself sees it
                if (format == ImageFormat.Png) return PngWithMutatedScanlines(good, rng);
                if (format == ImageFormat.Jpeg)
                {
                    int sos = b.AsSpan().LastIndexOf([(byte)0xFF, (byte)0xDA]);
                    int start = sos + 2 + BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(sos + 2)), end = b.Length - 2;
                    for (int k = rng.Next(1, 6); k > 0 && end > start; k--) b[rng.Next(start, end)] = (byte)rng.Next(255);
                    // Keep 0xFF stuffing valid: a 0xFF must be followed by 0x00.
                    for (int i = start; i < end - 1; i++) if (b[i] == 0xFF) b[i + 1] = 0;
                    if (b[end - 1] == 0xFF) b[end - 1] = 0xFE;
                }
                else for (int k = rng.Next(1, 6); k > 0; k--) b[rng.Next(54, b.Length)] = (byte)rng.Next(256);
                break;
        }
        return b;
    }

    [Test]
    public void FuzzedImagesDecodeOrRaiseDataExceptionNamingTheFileWithinATimeBound()
    {
        var seeds = new (ImageFormat Format, byte[] Bytes)[]
        {
            (ImageFormat.Png, Png(7, 5)), (ImageFormat.Png, Png(16, 9, channels: 1, seed: 2)),
            (ImageFormat.Jpeg, Jpeg(8, 8)), (ImageFormat.Jpeg, Jpeg(17, 9, channels: 1, seed: 3)),
            (ImageFormat.Bmp, Bmp(5, 3)), (ImageFormat.Bmp, Bmp(6, 4, channels: 1, seed: 4)),
        };
        var rng = new Random(31337);
        int decoded = 0, rejected = 0;
        double slowest = 0;
        var total = Stopwatch.StartNew();
        Within(60, () =>
        {
            for (int i = 0; i < 3000; i++)
            {
                var (format, good) = seeds[i % seeds.Length];
                var bytes = Mutate(good, format, rng);
                string name = $"case{i}.{format}";
                var clock = Stopwatch.StartNew();
                try
                {
                    var (px, w, h) = ImageDecoding.Decode(bytes, 1 + 2 * (i & 1), name);
                    Assert.That(px.Length, Is.GreaterThanOrEqualTo(w * h * (1 + 2 * (i & 1))));
                    decoded++;
                }
                catch (DataException e)
                {
                    Assert.That(e.FileName, Is.EqualTo(name));
                    Assert.That(e.Message, Does.Contain(name));
                    rejected++;
                }
                slowest = Math.Max(slowest, clock.Elapsed.TotalSeconds);
            }
        });
        TestContext.Out.WriteLine($"{decoded} decoded, {rejected} rejected, slowest {slowest * 1000:F1} ms, total {total.Elapsed.TotalSeconds:F2} s");
        Assert.That(decoded, Is.GreaterThan(300), "structure-keeping mutations still decode");
        Assert.That(rejected, Is.GreaterThan(1000));
        Assert.That(slowest, Is.LessThan(2), "no single case near a hang");
    }
}
