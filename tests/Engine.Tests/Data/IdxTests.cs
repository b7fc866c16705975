using Engine.Nn.Data;

namespace Engine.Tests.Data;

public class IdxTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void HandWrittenIdxFilesRoundTrip(bool gzip)
    {
        using var dir = DataTestUtil.TempDir();
        var (px, labels) = DataTestUtil.Pattern(5, 3, 4, 3);
        string ip = dir.File(gzip ? "img.gz" : "img"), lp = dir.File(gzip ? "lab.gz" : "lab");
        DataTestUtil.WriteIdx(ip, 0x803, [5, 3, 4], px, gzip);
        DataTestUtil.WriteIdx(lp, 0x801, [5], labels, gzip);

        var ds = IdxDataset.Load(ip, lp);
        Assert.That(ds.Count, Is.EqualTo(5));
        Assert.That((ds.Height, ds.Width), Is.EqualTo((3, 4)));
        Assert.That(ds.NumClasses, Is.EqualTo(3));
        for (int i = 0; i < 5; i++)
        {
            using var s = ds.Get(i);
            Assert.That(s.Image.Shape, Is.EqualTo(new long[] { 1, 3, 4 }));
            Assert.That(s.Image.DType, Is.EqualTo(DType.Float32));
            Assert.That(s.Label, Is.EqualTo(i % 3));
            var expected = px.AsSpan(i * 12, 12).ToArray().Select(b => (double)(b / 255f)).ToArray();
            TestUtil.AssertClose(s.Image, expected, 0, 0);
            Assert.That(ds.RawImage(i).ToArray(), Is.EqualTo(px.AsSpan(i * 12, 12).ToArray()));
        }
    }

    [Test]
    public void IdxWriteThenReadGivesTheSameBytes()
    {
        using var dir = DataTestUtil.TempDir();
        var (px, labels) = DataTestUtil.Pattern(4, 2, 2, 2);
        Idx.Write(dir.File("i.gz"), [4, 2, 2], px);
        Idx.Write(dir.File("l"), [4], labels);
        var (read, n, r, c) = Idx.ReadImages(dir.File("i.gz"));
        Assert.That((n, r, c), Is.EqualTo((4, 2, 2)));
        Assert.That(read, Is.EqualTo(px));
        Assert.That(Idx.ReadLabels(dir.File("l")), Is.EqualTo(labels));
    }

    private static DataException LoadFails(string images, string labels, string expectedFile, string expectedText)
    {
        var e = Assert.Throws<DataException>(() => IdxDataset.Load(images, labels, ["a", "b", "c"]))!;
        Assert.That(e.Message, Does.Contain(expectedFile), "the message names the file");
        Assert.That(e.FileName, Is.EqualTo(expectedFile));
        Assert.That(e.Message, Does.Contain(expectedText));
        Assert.That(e, Is.InstanceOf<EngineException>());
        return e;
    }

    private static (string Images, string Labels) Good(TempDir dir, bool gzip = false)
    {
        var (px, labels) = DataTestUtil.Pattern(6, 2, 3, 3);
        string ip = dir.File("images"), lp = dir.File("labels");
        DataTestUtil.WriteIdx(ip, 0x803, [6, 2, 3], px, gzip);
        DataTestUtil.WriteIdx(lp, 0x801, [6], labels, gzip);
        return (ip, lp);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TruncatedImagesFileIsRejected(bool gzip)
    {
        using var dir = DataTestUtil.TempDir();
        var (ip, lp) = Good(dir);
        var (px, _) = DataTestUtil.Pattern(6, 2, 3, 3);
        DataTestUtil.WriteIdx(ip, 0x803, [6, 2, 3], px, gzip, dropBytes: 5);
        LoadFails(ip, lp, ip, "truncated");
    }

    [Test]
    public void TruncatedGzipStreamIsRejected()
    {
        using var dir = DataTestUtil.TempDir();
        var (ip, lp) = Good(dir, gzip: true);
        var bytes = File.ReadAllBytes(ip);
        File.WriteAllBytes(ip, bytes[..(bytes.Length / 2)]);
        LoadFails(ip, lp, ip, "");
    }

    [Test]
    public void TruncatedHeaderIsRejected()
    {
        using var dir = DataTestUtil.TempDir();
        var (ip, lp) = Good(dir);
        File.WriteAllBytes(ip, File.ReadAllBytes(ip)[..9]);
        LoadFails(ip, lp, ip, "truncated header");
    }

    [Test]
    public void TrailingBytesAreRejected()
    {
        using var dir = DataTestUtil.TempDir();
        var (ip, lp) = Good(dir);
        File.AppendAllText(ip, "junk");
        LoadFails(ip, lp, ip, "4 unexpected bytes");
    }

    [Test]
    public void WrongMagicNumberIsRejected()
    {
        using var dir = DataTestUtil.TempDir();
        var (ip, lp) = Good(dir);
        var (px, _) = DataTestUtil.Pattern(6, 2, 3, 3);
        DataTestUtil.WriteIdx(ip, 0x0D03, [6, 2, 3], px);
        LoadFails(ip, lp, ip, "wrong magic number 0x00000D03");
        File.WriteAllText(ip, "P5 28 28 255 this is not idx");
        LoadFails(ip, lp, ip, "not an IDX file");
    }

    [Test]
    public void LabelsFileInPlaceOfImagesIsRejected()
    {
        using var dir = DataTestUtil.TempDir();
        var (ip, lp) = Good(dir);
        LoadFails(lp, ip, lp, "expected 0x00000803 for images");
        LoadFails(ip, ip, ip, "an IDX image file");
    }

    [Test]
    public void LabelOutOfRangeIsRejected()
    {
        using var dir = DataTestUtil.TempDir();
        var (ip, lp) = Good(dir);
        DataTestUtil.WriteIdx(lp, 0x801, [6], [0, 1, 2, 7, 0, 1]);
        LoadFails(ip, lp, lp, "label 7 at index 3 is out of range for 3 classes");
    }

    [Test]
    public void LabelCountNotMatchingImagesIsRejected()
    {
        using var dir = DataTestUtil.TempDir();
        var (ip, lp) = Good(dir);
        DataTestUtil.WriteIdx(lp, 0x801, [5], [0, 1, 2, 0, 1]);
        var e = LoadFails(ip, lp, lp, "holds 5 labels");
        Assert.That(e.Message, Does.Contain("6 images"));
    }

    [Test]
    public void MissingOrEmptyFileIsRejected()
    {
        using var dir = DataTestUtil.TempDir();
        var (ip, lp) = Good(dir);
        LoadFails(dir.File("nope"), lp, dir.File("nope"), "cannot open");
        File.WriteAllBytes(ip, []);
        LoadFails(ip, lp, ip, "too short");
    }

    [Test]
    public void FashionMnistFolderWithACorruptFileIsRejected()
    {
        using var dir = DataTestUtil.TempDir();
        var (px, labels) = DataTestUtil.Pattern(4, 28, 28, 10);
        DataTestUtil.WriteIdx(dir.File("t10k-images-idx3-ubyte.gz"), 0x803, [4, 28, 28], px, gzip: true);
        DataTestUtil.WriteIdx(dir.File("t10k-labels-idx1-ubyte"), 0x801, [4], labels);
        var ds = FashionMnist.Load(dir.Path, train: false);
        Assert.That(ds.Count, Is.EqualTo(4));
        Assert.That(ds.Source, Is.EqualTo(FashionMnistSource.Path));
        Assert.That(ds.ImagesFile, Does.EndWith("t10k-images-idx3-ubyte.gz"));

        var e = Assert.Throws<DataException>(() => FashionMnist.Load(dir.Path, train: true))!;
        Assert.That(e.Message, Does.Contain("train-images-idx3-ubyte"));
        Assert.That(e.Message, Does.Contain("not found"));

        DataTestUtil.WriteIdx(dir.File("t10k-labels-idx1-ubyte"), 0x801, [4], [0, 1, 10, 2]);
        e = Assert.Throws<DataException>(() => FashionMnist.Load(dir.Path, train: false))!;
        Assert.That(e.Message, Does.Contain("t10k-labels-idx1-ubyte"));
        Assert.That(e.Message, Does.Contain("label 10 at index 2"));
    }
}
