using Engine.Nn.Data;

namespace Engine.Tests.Data;

/// <summary>
/// The synthetic video set: the same clip for a seed and index, another for another seed; labels recovered from the
/// pixels alone (the main garment's centre of mass gives the direction, its principal axis the spin sense); batches
/// independent of the number of loader workers.
/// </summary>
public class MovingFashionMnistTests
{
    private static readonly FashionMnist TrainGarments = FashionMnist.Embedded(train: true);

    private static MovingFashionMnist Set(ulong seed, MovingFashionMnistOptions options, bool train = true) =>
        new(train ? TrainGarments : FashionMnist.Embedded(train: false), train, seed, options);

    [Test]
    public void SameSeedAndIndexGiveTheSameClipAnotherSeedAnother()
    {
        var options = new MovingFashionMnistOptions { Frames = 6, Size = 32, Count = 40 };
        ulong seed = (ulong)TestUtil.Gen().NextLong(long.MaxValue);
        var a = Set(seed, options);
        var b = Set(seed, options);
        using var first = a.Get(17);
        using var again = a.Get(17);
        using var other = b.Get(17);
        using var reseeded = Set(seed + 1, options).Get(17);
        using var neighbour = a.Get(18);
        Assert.That(first.Image.Shape, Is.EqualTo(new long[] { 1, 6, 32, 32 }), "a sample is [C, T, H, W]");
        var x = first.Image.ToArray<float>();
        Assert.That(again.Image.ToArray<float>(), Is.EqualTo(x), "same instance, same index");
        Assert.That(other.Image.ToArray<float>(), Is.EqualTo(x), "another instance with the same seed");
        Assert.That(other.Label, Is.EqualTo(first.Label));
        Assert.That(reseeded.Image.ToArray<float>(), Is.Not.EqualTo(x), "another seed");
        Assert.That(neighbour.Image.ToArray<float>(), Is.Not.EqualTo(x), "another index");
        Assert.That(x.Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(x.Max(), Is.InRange(0.2f, 1f), "a garment is drawn");
        // Frames differ: the garment moves.
        Assert.That(x.AsSpan(0, 32 * 32).SequenceEqual(x.AsSpan(32 * 32, 32 * 32)), Is.False);
    }

    [Test]
    public void TrainAndTestClipsUseTheirOwnSplitsGarments()
    {
        var options = new MovingFashionMnistOptions { Frames = 4, Size = 32, Label = MovingFashionMnistLabel.Garment };
        var test = FashionMnist.Embedded(train: false);
        var train = Set(3, options);
        var testClips = Set(3, options, train: false);
        Assert.That(train.Count, Is.EqualTo(TrainGarments.Count));
        Assert.That(testClips.Count, Is.EqualTo(test.Count));
        foreach (int i in new[] { 0, 5, 999, 4321 })
        {
            Assert.That(train.Describe(i).Main.Image, Is.EqualTo(i % TrainGarments.Count));
            Assert.That(train.LabelOf(i), Is.EqualTo(TrainGarments.LabelOf(i)), "the garment label is the main garment's class");
        }
        foreach (int i in new[] { 0, 7, 999 }) Assert.That(testClips.LabelOf(i), Is.EqualTo(test.LabelOf(i)));
        Assert.That(testClips.Describe(0).Main.X, Is.Not.EqualTo(train.Describe(0).Main.X), "the splits draw their own motion");
    }

    /// <summary>Centre of mass (x, y) of a frame, pixel centres at i + 0.5, and its mass.</summary>
    private static (double X, double Y, double Mass) CentreOfMass(ReadOnlySpan<float> frame, int side)
    {
        double m = 0, mx = 0, my = 0;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                double v = frame[y * side + x];
                m += v;
                mx += v * (x + 0.5);
                my += v * (y + 0.5);
            }
        return (mx / m, my / m, m);
    }

    [Test]
    public void DirectionLabelIsTheMotionOfTheCentreOfMass()
    {
        // One garment, no spin, at its native 28 pixels: the frames are the garment translated (bilinear translation
        // moves the centre of mass exactly), so the pixels alone give its motion.
        var options = new MovingFashionMnistOptions { Frames = 8, Size = 64, Count = 160, SecondGarmentProbability = 0, MinSpin = 0, MaxSpin = 0 };
        var ds = Set(11, options);
        int side = options.Size, lf = ds.LabelFrame, checkedClips = 0;
        var buffer = new ImageBuffer();
        var seen = new HashSet<long>();
        for (int i = 0; i < ds.Count; i++)
        {
            long label = ds.ReadInto(i, buffer);
            var clip = ds.Describe(i);
            var com = new (double X, double Y, double Mass)[options.Frames];
            for (int f = 0; f < options.Frames; f++) com[f] = CentreOfMass(buffer.Frame(f), side);
            // The drawing follows the described path: centre of mass minus box centre is the same in every frame
            // (but for frames whose box is within a pixel of the border, where the bilinear footprint is cut off).
            double half = ds.GarmentSide / 2.0;
            bool Inside(int f) => Math.Min(Math.Min(clip.Main.X[f], clip.Main.Y[f]), Math.Min(side - clip.Main.X[f], side - clip.Main.Y[f])) > half + 1.5;
            int r = Array.FindIndex(Enumerable.Range(0, options.Frames).ToArray(), Inside);
            for (int f = 0; f < options.Frames && r >= 0; f++)
            {
                if (!Inside(f)) continue;
                Assert.That(com[f].X - clip.Main.X[f], Is.EqualTo(com[r].X - clip.Main.X[r]).Within(0.01), $"clip {i} frame {f}: x");
                Assert.That(com[f].Y - clip.Main.Y[f], Is.EqualTo(com[r].Y - clip.Main.Y[r]).Within(0.01), $"clip {i} frame {f}: y");
            }
            // Where the garment did not bounce around the label frame, the steps before and after it agree; their
            // direction, to the nearest 45°, is the label.
            double bx = com[lf].X - com[lf - 1].X, by = com[lf].Y - com[lf - 1].Y;
            double ax = com[lf + 1].X - com[lf].X, ay = com[lf + 1].Y - com[lf].Y;
            if (Math.Abs(ax - bx) > 0.1 || Math.Abs(ay - by) > 0.1) continue;
            double speed = Math.Sqrt(ax * ax + ay * ay);
            Assert.That(speed, Is.InRange(options.MinSpeed * side - 0.1, options.MaxSpeed * side + 0.1), $"clip {i}: speed");
            int k = ((int)Math.Round(Math.Atan2(ay, ax) / (Math.PI / 4)) + 8) % 8;
            Assert.That(k, Is.EqualTo(label), $"clip {i}: moved ({ax:F2}, {ay:F2}) per frame");
            seen.Add(label);
            checkedClips++;
        }
        Assert.That(checkedClips, Is.GreaterThan(ds.Count / 2), "most clips do not bounce at the label frame");
        Assert.That(seen, Has.Count.EqualTo(8), "every direction occurs");
    }

    [Test]
    public void RotationLabelIsTheTurnOfThePrincipalAxis()
    {
        var options = new MovingFashionMnistOptions
        {
            Frames = 6, Size = 64, Count = 80, SecondGarmentProbability = 0, Label = MovingFashionMnistLabel.Rotation, MinSpin = 6, MaxSpin = 10,
        };
        var ds = Set(5, options);
        var buffer = new ImageBuffer();
        int agree = 0, judged = 0;
        for (int i = 0; i < ds.Count; i++)
        {
            long label = ds.ReadInto(i, buffer);
            var turns = new List<double>();
            for (int f = 1; f < options.Frames; f++)
            {
                var (a0, e0) = Axis(buffer.Frame(f - 1), options.Size);
                var (a1, e1) = Axis(buffer.Frame(f), options.Size);
                if (e0 < 0.25 || e1 < 0.25) continue; // nearly round: no reliable axis
                double d = a1 - a0;
                while (d > Math.PI / 2) d -= Math.PI;
                while (d <= -Math.PI / 2) d += Math.PI;
                turns.Add(d);
            }
            if (turns.Count < 3) continue;
            turns.Sort();
            double median = turns[turns.Count / 2];
            judged++;
            if ((median > 0 ? 0 : 1) == label) agree++; // a growing angle (y down) turns clockwise: label 0
        }
        Assert.That(judged, Is.GreaterThan(ds.Count / 3));
        Assert.That(agree, Is.GreaterThanOrEqualTo(judged * 9 / 10), $"{agree} of {judged} clips turn the way their label says");
    }

    /// <summary>The principal axis angle (radians, y down) of a frame's mass and its anisotropy (0 round, 1 a line).</summary>
    private static (double Angle, double Anisotropy) Axis(ReadOnlySpan<float> frame, int side)
    {
        var (cx, cy, m) = CentreOfMass(frame, side);
        double mxx = 0, myy = 0, mxy = 0;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                double v = frame[y * side + x], dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                mxx += v * dx * dx;
                myy += v * dy * dy;
                mxy += v * dx * dy;
            }
        return (0.5 * Math.Atan2(2 * mxy, mxx - myy), Math.Sqrt((mxx - myy) * (mxx - myy) + 4 * mxy * mxy) / (mxx + myy));
    }

    [Test]
    public void BatchesDoNotDependOnTheNumberOfWorkers()
    {
        var ds = Set(2, new MovingFashionMnistOptions { Frames = 4, Size = 16, Count = 24 });
        var transform = new Compose(new RandomCrop(16, padding: 2), ds.Info.Normalize());
        float[][] Run(int workers)
        {
            using var loader = new DataLoader(ds, 8, shuffle: true, transform: transform, numWorkers: workers, seed: 9);
            var result = new List<float[]>();
            foreach (var batch in loader)
                using (batch)
                {
                    Assert.That(batch.Images.Shape, Is.EqualTo(new long[] { 8, 1, 4, 16, 16 }), "batches are [N, C, T, H, W]");
                    result.Add([.. batch.Images.ToArray<float>(), .. batch.Labels.ToArray<long>().Select(l => (float)l)]);
                }
            return [.. result];
        }
        var inline = Run(0);
        Assert.That(Run(3), Is.EqualTo(inline));
    }

    [Test]
    public void InfoDescribesTheClips()
    {
        var ds = Set(0, new MovingFashionMnistOptions { Frames = 5, Size = 24, Count = 30 });
        var info = ds.Info;
        Assert.That((info.Channels, info.Frames, info.Height, info.Width, info.NumClasses), Is.EqualTo((1, 5, 24, 24, 8)));
        Assert.That(info.IsVideo);
        Assert.That(info.Mean[0], Is.InRange(0.01f, 0.5f));
        Assert.That(info.Std[0], Is.InRange(0.05f, 0.6f));
        Assert.That(info.ClassNames[0], Is.EqualTo("right"));
        Assert.That(() => new MovingFashionMnistOptions { Frames = 1 }.Validate(), Throws.TypeOf<ArgumentValueException>().With.Message.Contains("2 frames"));
        Assert.That(() => ds.Describe(30), Throws.TypeOf<IndexException>());
    }
}
