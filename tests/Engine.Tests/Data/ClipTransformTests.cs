using Engine.Nn.Data;

namespace Engine.Tests.Data;

/// <summary>
/// Transforms on clips make one draw per clip: every frame of the transformed clip equals that frame transformed
/// alone with the same generator seed (a per-frame draw would give the frames different crops, flips or factors).
/// </summary>
public class ClipTransformTests
{
    /// <summary>A clip [C, T, H, W] of distinct random frames in [0, 1].</summary>
    private static Tensor Clip(int c, int t, int h, int w, Generator g) => Tensor.Rand([c, t, h, w], DType.Float32, g);

    private static void AssertOneDrawPerClip(Transform transform, int channels, ulong seed, Generator g)
    {
        const int t = 5, h = 12, w = 10;
        using var clip = Clip(channels, t, h, w, g);
        using var outClip = transform.Apply(clip, new Generator(seed));
        Assert.That(outClip.Rank, Is.EqualTo(4), "a clip stays [C, T, H, W]");
        Assert.That(outClip.Size(1), Is.EqualTo(t));
        for (int f = 0; f < t; f++)
        {
            using var frame = clip.Select(1, f).Contiguous();
            using var alone = transform.Apply(frame, new Generator(seed));
            using var inClip = outClip.Select(1, f).Contiguous();
            Assert.That(inClip.Shape, Is.EqualTo(alone.Shape), $"{transform}: frame {f} shape");
            Assert.That(inClip.ToArray<float>(), Is.EqualTo(alone.ToArray<float>()).Within(1e-6f), $"{transform}: frame {f} (seed {seed})");
        }
    }

    [Test]
    public void CropFlipAndColourDrawOncePerClip()
    {
        var g = TestUtil.Gen();
        Transform[] transforms =
        [
            new RandomCrop(8, 7, padding: 2),
            new RandomResizedCrop(6, 6),
            new RandomHorizontalFlip(),
            new ColorJitter(brightness: 0.5, contrast: 0.5, saturation: 0.5),
            new Compose(new RandomCrop(10, 8, padding: 1), new RandomHorizontalFlip(), new ColorJitter(0.4, 0.4), new Normalize([0.5f, 0.4f, 0.3f], [0.2f, 0.25f, 0.3f])),
        ];
        foreach (var transform in transforms)
            foreach (int channels in new[] { 1, 3 })
            {
                if (transform is Compose && channels == 1) continue; // three means need three channels
                for (int k = 0; k < 6; k++) AssertOneDrawPerClip(transform, channels, (ulong)g.NextLong(long.MaxValue), g);
            }
    }

    [Test]
    public void DifferentSeedsGiveDifferentCrops()
    {
        // The property above must not hold trivially: crops of the same clip differ between seeds.
        var g = TestUtil.Gen();
        using var clip = Clip(1, 3, 12, 12, g);
        var crop = new RandomCrop(6, padding: 0);
        var results = new HashSet<string>();
        for (ulong s = 0; s < 12; s++)
        {
            using var o = crop.Apply(clip, new Generator(s));
            results.Add(string.Join(",", o.ToArray<float>().Take(4)));
        }
        Assert.That(results.Count, Is.GreaterThan(3));
    }

    [Test]
    public void ClipBufferKeepsTheLayoutThroughTensorRoundTrips()
    {
        var g = TestUtil.Gen();
        using var clip = Clip(2, 4, 3, 5, g);
        var buffer = new ImageBuffer();
        buffer.CopyFrom(clip);
        Assert.That((buffer.Channels, buffer.Frames, buffer.FrameChannels, buffer.Height, buffer.Width), Is.EqualTo((8, 4, 2, 3, 5)));
        // The buffer is frame after frame: frame t holds channel c of the clip at plane c.
        using (var f2 = clip.Select(1, 2).Contiguous())
            Assert.That(buffer.Frame(2).ToArray(), Is.EqualTo(f2.ToArray<float>()));
        using var back = buffer.ToTensor();
        Assert.That(back.Shape, Is.EqualTo(new long[] { 2, 4, 3, 5 }));
        Assert.That(back.ToArray<float>(), Is.EqualTo(clip.ToArray<float>()));
        buffer.Resize(1, 2, 2);
        Assert.That(buffer.Frames, Is.EqualTo(1), "an image write ends the clip");
    }
}
