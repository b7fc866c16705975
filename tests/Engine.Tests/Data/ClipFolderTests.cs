using Engine.Nn.Data;
using StbImageWriteSharp;

namespace Engine.Tests.Data;

/// <summary>
/// ClipFolder on temporary folders of small PNG and JPEG frames: class and frame order, which frames a clip takes
/// (centre, random, stride, loop and repeat-last for short videos), loader batches, and each bad folder's error naming
/// its path.
/// </summary>
public class ClipFolderTests
{
    private const int H = 3, W = 4;

    /// <summary>A grey frame whose every pixel is 10 · <paramref name="number"/> + (y·W + x): its value says which frame it is.</summary>
    private static byte[] Grey(int number, int h = H, int w = W)
    {
        var px = new byte[h * w];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(10 * number + i % 10);
        return px;
    }

    private static void WritePng(string path, byte[] grey, int w = W, int h = H)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var f = File.Create(path);
        new ImageWriter().WritePng(grey, w, h, ColorComponents.Grey, f);
    }

    /// <summary>
    /// jump/a: 12 frames named frame_1 … frame_12 (no zero padding, so only natural order is right), written out of
    /// order; run/b: 3 frames frame_0001 … frame_0003; run/c: 2 RGB JPEG frames.
    /// </summary>
    private static TempDir Folder()
    {
        var dir = DataTestUtil.TempDir();
        foreach (int k in new[] { 12, 3, 1, 10, 2, 11, 4, 9, 5, 8, 6, 7 }) WritePng(dir.File($"jump/a/frame_{k}.png"), Grey(k - 1));
        for (int k = 1; k <= 3; k++) WritePng(dir.File($"run/b/frame_{k:D4}.png"), Grey(k - 1));
        File.WriteAllText(dir.File("run/b/notes.txt"), "not a frame");
        for (int k = 1; k <= 2; k++)
        {
            Directory.CreateDirectory(dir.File("run/c"));
            using var f = File.Create(dir.File($"run/c/frame_{k:D4}.jpg"));
            var rgb = new byte[H * W * 3];
            Array.Fill(rgb, (byte)(100 * k));
            new ImageWriter().WriteJpg(rgb, W, H, ColorComponents.RedGreenBlue, f, 95);
        }
        return dir;
    }

    /// <summary>Which frame each clip frame is, read back from its first pixel (10 · frame number).</summary>
    private static int[] FrameNumbers(ImageBuffer clip)
    {
        var n = new int[clip.Frames];
        for (int t = 0; t < n.Length; t++) n[t] = (int)Math.Round(clip.Frame(t)[0] * 255 / 10);
        return n;
    }

    [Test]
    public void ClassesVideosAndFramesAreFoundInOrder()
    {
        using var dir = Folder();
        var ds = new ClipFolder(dir.Path, frames: 4, stride: 2, start: ClipStart.Centre, channels: 1);
        Assert.That(ds.Classes, Is.EqualTo(new[] { "jump", "run" }));
        Assert.That(ds.Count, Is.EqualTo(3));
        Assert.That(Enumerable.Range(0, 3).Select(i => ds.LabelOf(i)), Is.EqualTo(new long[] { 0, 1, 1 }));
        Assert.That(Enumerable.Range(0, 3).Select(ds.FrameCount), Is.EqualTo(new[] { 12, 3, 2 }));

        // 12 frames, a span of 7: the centre start is (12 − 7) / 2 = 2, then every second frame.
        using var s = ds.Get(0);
        Assert.That(s.Image.Shape, Is.EqualTo(new long[] { 1, 4, H, W }), "[C, T, H, W]");
        var buffer = new ImageBuffer();
        ds.ReadInto(0, buffer);
        Assert.That(FrameNumbers(buffer), Is.EqualTo(new[] { 2, 4, 6, 8 }), "natural frame order, centre start, stride 2");
        // PNG is lossless: values are the bytes / 255, and Get's [C, T, H, W] holds the same frames.
        var expected = Grey(6).Select(b => b / 255f).ToArray();
        Assert.That(buffer.Frame(2).ToArray(), Is.EqualTo(expected));
        Assert.That(s.Image.ToArray<float>().AsSpan(2 * H * W, H * W).ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void RandomStartsStayInsideTheVideoAndVary()
    {
        using var dir = Folder();
        var ds = new ClipFolder(dir.Path, frames: 3, stride: 3, start: ClipStart.Random, channels: 1);
        var buffer = new ImageBuffer();
        var starts = new HashSet<int>();
        var g = TestUtil.Gen();
        for (int k = 0; k < 40; k++)
        {
            ds.ReadInto(0, buffer, new Generator((ulong)g.NextLong(long.MaxValue)));
            var n = FrameNumbers(buffer);
            Assert.That(n[1] - n[0], Is.EqualTo(3));
            Assert.That(n[2] - n[1], Is.EqualTo(3));
            Assert.That(n[0], Is.InRange(0, 12 - 7), "the span (7 frames) fits");
            starts.Add(n[0]);
        }
        Assert.That(starts.Count, Is.GreaterThan(3), "starts are drawn");
        ds.ReadInto(0, buffer);
        Assert.That(FrameNumbers(buffer)[0], Is.EqualTo(2), "without a generator the clip is central");
    }

    [Test]
    public void ShortVideosLoopRepeatTheLastFrameOrAreRejected()
    {
        using var dir = Folder();
        var buffer = new ImageBuffer();
        var loop = new ClipFolder(dir.Path, frames: 4, stride: 2, shortVideos: ShortVideo.Loop, channels: 1);
        loop.ReadInto(1, buffer, TestUtil.Gen());
        Assert.That(FrameNumbers(buffer), Is.EqualTo(new[] { 0, 2, 1, 0 }), "3 frames looped: 0, 2, 4 mod 3, 6 mod 3");
        var hold = new ClipFolder(dir.Path, frames: 4, stride: 2, shortVideos: ShortVideo.RepeatLast, channels: 1);
        hold.ReadInto(1, buffer, TestUtil.Gen());
        Assert.That(FrameNumbers(buffer), Is.EqualTo(new[] { 0, 2, 2, 2 }));
        var e = Assert.Throws<DataException>(() => _ = new ClipFolder(dir.Path, frames: 4, stride: 2, shortVideos: ShortVideo.Error, channels: 1))!;
        Assert.That(e.FileName, Is.EqualTo(Path.Combine(dir.Path, "run", "b")));
        Assert.That(e.Message, Does.Contain("3 frames").And.Contain("7"));
    }

    [Test]
    public void RgbJpegClipsDecode()
    {
        using var dir = Folder();
        var ds = new ClipFolder(dir.Path, frames: 2, channels: 3);
        using var s = ds.Get(2);
        Assert.That(s.Image.Shape, Is.EqualTo(new long[] { 3, 2, H, W }));
        var v = s.Image.ToArray<float>();
        int plane = H * W;
        for (int c = 0; c < 3; c++)
            for (int t = 0; t < 2; t++)
                Assert.That(v[(c * 2 + t) * plane] * 255, Is.EqualTo(100 * (t + 1)).Within(3), $"channel {c}, frame {t} (JPEG is lossy)");
    }

    [Test]
    public void LoaderBatchesClipsTheSameForAnyWorkerCount()
    {
        using var dir = Folder();
        var ds = new ClipFolder(dir.Path, frames: 3, stride: 2, channels: 1);
        var transform = new Compose(new Resize(H, W), new RandomHorizontalFlip());
        float[] Run(int workers)
        {
            using var loader = new DataLoader(ds, 3, shuffle: true, transform: transform, numWorkers: workers, seed: 4);
            var all = new List<float>();
            for (int epoch = 0; epoch < 3; epoch++)
                foreach (var b in loader)
                    using (b)
                    {
                        Assert.That(b.Images.Shape, Is.EqualTo(new long[] { 3, 1, 3, H, W }));
                        all.AddRange(b.Images.ToArray<float>());
                    }
            return [.. all];
        }
        Assert.That(Run(2), Is.EqualTo(Run(0)));
    }

    [Test]
    public void BadFoldersNameThePath()
    {
        using var dir = DataTestUtil.TempDir();
        string root = dir.Path;
        DataException Fails() => Assert.Throws<DataException>(() => _ = new ClipFolder(root, frames: 2, channels: 1))!;

        var e = Fails();
        Assert.That(e.FileName, Is.EqualTo(root));
        Assert.That(e.Message, Does.Contain("no class subfolders").And.Contain(root));

        Directory.CreateDirectory(dir.File("walk"));
        e = Fails();
        Assert.That(e.FileName, Is.EqualTo(dir.File("walk")));
        Assert.That(e.Message, Does.Contain("no video subfolders").And.Contain(dir.File("walk")));

        Directory.CreateDirectory(dir.File("walk/v1"));
        File.WriteAllText(dir.File("walk/v1/readme.txt"), "x");
        e = Fails();
        Assert.That(e.FileName, Is.EqualTo(dir.File("walk/v1")));
        Assert.That(e.Message, Does.Contain("no frames"));

        WritePng(dir.File("walk/v1/frame_0001.png"), Grey(1));
        WritePng(dir.File("walk/v1/frame_0002.png"), Grey(2, h: 5, w: 5), w: 5, h: 5);
        e = Fails();
        Assert.That(e.FileName, Is.EqualTo(dir.File("walk/v1/frame_0002.png")));
        Assert.That(e.Message, Does.Contain("5x5").And.Contain("4x3"));

        WritePng(dir.File("walk/v1/frame_0002.png"), Grey(2));
        File.WriteAllBytes(dir.File("walk/v1/frame_0003.png"), [1, 2, 3, 4, 5, 6, 7, 8]);
        e = Fails();
        Assert.That(e.FileName, Is.EqualTo(dir.File("walk/v1/frame_0003.png")));
        Assert.That(e.Message, Does.Contain("frame_0003.png"));

        File.Delete(dir.File("walk/v1/frame_0003.png"));
        Assert.That(new ClipFolder(root, frames: 2, channels: 1).Count, Is.EqualTo(1), "the repaired folder loads");
        Assert.That(() => new ClipFolder(dir.File("missing")), Throws.TypeOf<DataException>().With.Message.Contains("missing"));
        Assert.That(() => new ClipFolder(root, frames: 0), Throws.TypeOf<ArgumentValueException>());
    }
}
