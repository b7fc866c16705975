using Engine.Nn.Data;
using StbImageSharp;
using StbImageWriteSharp;

namespace Engine.Tests.Data;

public class ImageFolderTests
{
    /// <summary>RGB pixels [h, w, 3] with (y, x, c) = (40·y + 10·x + 80·c + seed) mod 256.</summary>
    private static byte[] Rgb(int h, int w, int seed)
    {
        var px = new byte[h * w * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = (byte)((40 * y + 10 * x + 80 * c + seed) % 256);
        return px;
    }

    private static void WritePng(string path, byte[] rgb, int w, int h)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var f = File.Create(path);
        new ImageWriter().WritePng(rgb, w, h, StbImageWriteSharp.ColorComponents.RedGreenBlue, f);
    }

    private static void WriteJpg(string path, byte[] rgb, int w, int h)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var f = File.Create(path);
        new ImageWriter().WriteJpg(rgb, w, h, StbImageWriteSharp.ColorComponents.RedGreenBlue, f, 95);
    }

    private static TempDir Folder()
    {
        var dir = DataTestUtil.TempDir();
        WritePng(dir.File("dog/b.png"), Rgb(4, 5, 1), 5, 4);
        WritePng(dir.File("dog/a.png"), Rgb(4, 5, 2), 5, 4);
        WriteJpg(dir.File("cat/x.jpg"), Rgb(8, 8, 3), 8, 8);
        WritePng(dir.File("cat/nested/y.PNG"), Rgb(4, 5, 4), 5, 4);
        File.WriteAllText(dir.File("cat/notes.txt"), "ignored");
        return dir;
    }

    [Test]
    public void ClassesAreSortedSubfoldersAndFilesAreDecoded()
    {
        using var dir = Folder();
        var ds = new ImageFolder(dir.Path);
        Assert.That(ds.Classes, Is.EqualTo(new[] { "cat", "dog" }));
        Assert.That(ds.Count, Is.EqualTo(4));
        Assert.That(Enumerable.Range(0, 4).Select(i => ds.LabelOf(i)), Is.EqualTo(new long[] { 0, 0, 1, 1 }));
        Assert.That(ds.Files.Select(Path.GetFileName), Is.EqualTo(new[] { "y.PNG", "x.jpg", "a.png", "b.png" }));

        // PNG is lossless: the values are exactly the bytes / 255, planar [C, H, W].
        using var s = ds.Get(2);
        Assert.That(s.Image.Shape, Is.EqualTo(new long[] { 3, 4, 5 }));
        var rgb = Rgb(4, 5, 2);
        var expected = new double[3 * 4 * 5];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 20; i++) expected[c * 20 + i] = rgb[i * 3 + c] / 255f;
        TestUtil.AssertClose(s.Image, expected, 0, 0);

        // JPEG is lossy: close to the original.
        using var j = ds.Get(1);
        Assert.That(j.Image.Shape, Is.EqualTo(new long[] { 3, 8, 8 }));
        var jr = Rgb(8, 8, 3);
        var jv = j.Image.ToArray<float>();
        double err = 0;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 64; i++) err = Math.Max(err, Math.Abs(jv[c * 64 + i] - jr[i * 3 + c] / 255.0));
        Assert.That(err, Is.LessThan(0.25));
    }

    [Test]
    public void GreyModeGivesOneChannelAndPreloadMatchesLazy()
    {
        using var dir = Folder();
        var lazy = new ImageFolder(dir.Path, channels: 1);
        var pre = new ImageFolder(dir.Path, channels: 1, preload: true);
        for (int i = 0; i < lazy.Count; i++)
        {
            using var a = lazy.Get(i);
            using var b = pre.Get(i);
            Assert.That(a.Image.Size(0), Is.EqualTo(1));
            Assert.That(b.Image.ToArray<float>(), Is.EqualTo(a.Image.ToArray<float>()));
        }
    }

    [Test]
    public void AFileThatIsNotAnImageRejectsTheFolder()
    {
        using var dir = Folder();
        string bad = dir.File("dog/c.png");
        File.WriteAllText(bad, "this is not a PNG file at all");
        var e = Assert.Throws<DataException>(() => new ImageFolder(dir.Path))!;
        Assert.That(e.FileName, Is.EqualTo(bad));
        Assert.That(e.Message, Does.Contain(bad));
    }

    [Test]
    public void AnImageDamagedPastItsHeaderFailsWhenReadOrAtPreload()
    {
        using var dir = Folder();
        string bad = dir.File("dog/c.png");
        WritePng(bad, Rgb(16, 16, 9), 16, 16);
        var bytes = File.ReadAllBytes(bad);
        File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]); // header intact, image data cut off
        var ds = new ImageFolder(dir.Path);
        int index = ds.Files.ToList().IndexOf(bad);
        var e = Assert.Throws<DataException>(() => ds.Get(index))!;
        Assert.That(e.Message, Does.Contain(bad).And.Contain("truncated"));
        e = Assert.Throws<DataException>(() => new ImageFolder(dir.Path, preload: true))!;
        Assert.That(e.FileName, Is.EqualTo(bad));
    }

    [Test]
    public void DecodeErrorInAWorkerReachesTheConsumer()
    {
        using var dir = Folder();
        string bad = dir.File("dog/c.png");
        WritePng(bad, Rgb(16, 16, 9), 16, 16);
        var bytes = File.ReadAllBytes(bad);
        File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]);
        var ds = new ImageFolder(dir.Path);
        using var loader = new DataLoader(ds, batchSize: 1, transform: new Resize(4, 4), numWorkers: 2, seed: 1);
        var e = Assert.Throws<DataException>(() =>
        {
            foreach (var b in loader) b.Dispose();
        })!;
        Assert.That(e.FileName, Is.EqualTo(bad));
        Assert.That(loader.ActiveWorkers, Is.Zero);
    }

    [Test]
    public void ParallelDecodingGivesTheSameBatchesAsSequential()
    {
        using var dir = DataTestUtil.TempDir();
        for (int i = 0; i < 12; i++)
        {
            string name = dir.File($"c{i % 3}/{i}.{(i % 2 == 0 ? "png" : "jpg")}");
            if (i % 2 == 0) WritePng(name, Rgb(10, 12, i), 12, 10);
            else WriteJpg(name, Rgb(10, 12, i), 12, 10);
        }
        var ds = new ImageFolder(dir.Path);
        var t = new Compose(new RandomResizedCrop(8), new RandomHorizontalFlip());
        float[][] Collect(int workers)
        {
            using var loader = new DataLoader(ds, batchSize: 3, shuffle: true, transform: t, numWorkers: workers, seed: 4);
            return [.. loader.Select(b => { using (b) return b.Images.ToArray<float>(); })];
        }
        var sequential = Collect(0);
        Assert.That(Collect(2), Is.EqualTo(sequential));
        var preloaded = new ImageFolder(dir.Path, preload: true);
        using var pl = new DataLoader(preloaded, batchSize: 3, shuffle: true, transform: t, seed: 4);
        Assert.That(pl.Select(b => { using (b) return b.Images.ToArray<float>(); }).ToArray(), Is.EqualTo(sequential), "preloaded 8-bit planes give the same values");
    }

    [Test]
    public void EmptyOrMissingRootIsRejected()
    {
        using var dir = DataTestUtil.TempDir();
        Assert.That(() => new ImageFolder(dir.Path), Throws.TypeOf<DataException>().With.Message.Contains("no class subfolders"));
        Directory.CreateDirectory(dir.File("a"));
        Assert.That(() => new ImageFolder(dir.Path), Throws.TypeOf<DataException>().With.Message.Contains("no .png"));
        Assert.That(() => new ImageFolder(dir.File("missing")), Throws.TypeOf<DataException>().With.Message.Contains("no such folder"));
    }

    [Test]
    public void ImagesOfDifferentSizesBatchAfterAResize()
    {
        using var dir = Folder();
        var ds = new ImageFolder(dir.Path);
        using (var raw = new DataLoader(ds, batchSize: 4, seed: 0))
            Assert.That(() => raw.LoadBatch(0, 0), Throws.TypeOf<DataException>().With.Message.Contains("Resize"));
        using var loader = new DataLoader(ds, batchSize: 4, transform: new Resize(6, 6), seed: 0);
        using var batch = loader.LoadBatch(0, 0);
        Assert.That(batch.Images.Shape, Is.EqualTo(new long[] { 4, 3, 6, 6 }));
    }

    [Test]
    public void ImageGridWritesAReadablePng()
    {
        using var dir = DataTestUtil.TempDir();
        var ds = FashionMnist.Embedded(train: false);
        string path = dir.File("grid.png");
        ImageGrid.WriteAugmentations(path, ds, Augmentations.Preset("strong", 28, 28), samples: 3, variants: 4, seed: 5, padding: 2);
        using var f = File.OpenRead(path);
        var img = ImageResult.FromStream(f, StbImageSharp.ColorComponents.Grey);
        Assert.That((img.Width, img.Height), Is.EqualTo((5 * 28 + 6 * 2, 3 * 28 + 4 * 2)));
        // The first cell is the original image, exactly.
        var raw = ds.RawImage(0);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                Assert.That(img.Data[(2 + y) * img.Width + 2 + x], Is.EqualTo(raw[y * 28 + x]));
    }
}
