using System.Buffers.Binary;
using System.Diagnostics;
using Engine.Nn.Data;

namespace Engine.Tests.Data;

/// <summary>IDX headers whose sizes overflow or do not match the file are rejected at load, naming the file.</summary>
public class IdxHeaderTests
{
    private static void WriteLabels(string path, int n) => DataTestUtil.WriteIdx(path, 0x801, [n], new byte[n]);

    // 2^22 x 2^21 x 2^21 = 2^64 wraps to 0 in unchecked 64-bit arithmetic, which "matches" an empty payload.
    [TestCase(1 << 22, 1 << 21, 1 << 21, "overflow")]
    [TestCase(int.MaxValue, int.MaxValue, int.MaxValue, "overflow")]
    [TestCase(1, 65536, 65536, "exceed")]
    [TestCase(0, 65536, 65536, "too large for one image")]
    [TestCase(3, 0, 5, "no pixels")]
    public void OverflowingOrAbsurdDimensionsAreRejectedAtLoad(int n, int rows, int cols, string reason)
    {
        using var dir = DataTestUtil.TempDir();
        string ip = dir.File("images"), lp = dir.File("labels");
        DataTestUtil.WriteIdx(ip, 0x803, [n, rows, cols], []);
        WriteLabels(lp, 0);
        var e = Assert.Throws<DataException>(() => IdxDataset.Load(ip, lp))!;
        Assert.That(e.FileName, Is.EqualTo(ip));
        Assert.That(e.Message, Does.Contain(ip).And.Contain(reason));
    }

    [Test]
    public void AGzipFileInflatingPastItsHeaderIsRefusedWithoutInflatingItAll()
    {
        // 1 image of 2x2 promised, 256 MiB of zeros inflated: refused after the header's 4 bytes (plus one chunk).
        using var dir = DataTestUtil.TempDir();
        string ip = dir.File("images.gz"), lp = dir.File("labels");
        using (var f = File.Create(ip))
        using (var gz = new System.IO.Compression.GZipStream(f, System.IO.Compression.CompressionLevel.Fastest))
        {
            gz.Write([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2]);
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 256; i++) gz.Write(zeros);
        }
        WriteLabels(lp, 1);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<DataException>(() => IdxDataset.Load(ip, lp))!;
        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - before, Is.LessThan(16 << 20), "not inflated in full");
        Assert.That(e.Message, Does.Contain(ip).And.Contain("more than the 20 bytes its IDX header promises"));
    }

    [Test]
    public void FuzzedHeadersLoadConsistentlyOrRaiseDataException()
    {
        // Seeded: mutate the header (magic, sizes) and the length of a small valid images file; every case either
        // loads a dataset whose every sample reads back, or raises DataException naming the file.
        using var dir = DataTestUtil.TempDir();
        string ip = dir.File("images"), lp = dir.File("labels");
        var (px, labels) = DataTestUtil.Pattern(3, 2, 4, 3);
        DataTestUtil.WriteIdx(ip, 0x803, [3, 2, 4], px);
        var good = File.ReadAllBytes(ip);
        DataTestUtil.WriteIdx(lp, 0x801, [3], labels);
        var rng = new Random(1717);
        var clock = Stopwatch.StartNew();
        int loaded = 0, rejected = 0;
        for (int i = 0; i < 2000; i++)
        {
            var bytes = (byte[])good.Clone();
            switch (rng.Next(4))
            {
                case 0: bytes[rng.Next(16)] = (byte)rng.Next(256); break;
                case 1: BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * rng.Next(3)), rng.Next(4) == 0 ? -rng.Next() : rng.Next()); break;
                case 2: BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * rng.Next(3)), 1 << rng.Next(31)); break;
                default: bytes = bytes[..rng.Next(bytes.Length)]; break;
            }
            File.WriteAllBytes(ip, bytes);
            try
            {
                var ds = IdxDataset.Load(ip, lp);
                for (int k = 0; k < ds.Count; k++) ds.Get(k).Dispose();
                loaded++;
            }
            catch (DataException e)
            {
                Assert.That(e.FileName, Is.EqualTo(ip).Or.EqualTo(lp), e.Message);
                rejected++;
            }
        }
        Assert.That(loaded, Is.GreaterThan(0), "some mutations (e.g. of pixel-free bytes) keep a valid file");
        Assert.That(rejected, Is.GreaterThan(1000));
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(20));
    }
}
