using Engine.Nn.Data;

namespace Engine.Tests.Data;

public class TransformTests
{
    private static ImageBuffer RandomImage(Generator g, int c, int h, int w, float lo = 0, float hi = 1)
    {
        var b = new ImageBuffer(c, h, w);
        var px = b.Pixels;
        for (int i = 0; i < px.Length; i++) px[i] = (float)(lo + (hi - lo) * g.NextDouble());
        return b;
    }

    private static ImageBuffer Copy(ImageBuffer b)
    {
        var c = new ImageBuffer();
        c.CopyFrom(b.Pixels, b.Channels, b.Height, b.Width);
        return c;
    }

    private static float[] Run(Transform t, ImageBuffer img, ulong seed)
    {
        var b = Copy(img);
        t.Apply(b, new Generator(seed));
        return b.Pixels.ToArray();
    }

    private static float At(ImageBuffer b, int c, int y, int x) => b.Pixels[(c * b.Height + y) * b.Width + x];

    [Test]
    public void FlippingTwiceIsTheIdentityAndOnceMirrors()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 3, 5, 7);
        foreach (Transform flip in new Transform[] { new RandomHorizontalFlip(1), new RandomVerticalFlip(1) })
        {
            var b = Copy(img);
            flip.Apply(b, g);
            Assert.That(b.Pixels.ToArray(), Is.Not.EqualTo(img.Pixels.ToArray()));
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 5; y++)
                    for (int x = 0; x < 7; x++)
                    {
                        float expected = flip is RandomHorizontalFlip ? At(img, c, y, 6 - x) : At(img, c, 4 - y, x);
                        Assert.That(At(b, c, y, x), Is.EqualTo(expected));
                    }
            flip.Apply(b, g);
            Assert.That(b.Pixels.ToArray(), Is.EqualTo(img.Pixels.ToArray()));
        }
        Assert.That(Run(new RandomHorizontalFlip(0), img, 1), Is.EqualTo(img.Pixels.ToArray()));
    }

    [Test]
    public void FlipProbabilityIsRespected()
    {
        var img = RandomImage(new Generator(1), 1, 2, 3);
        int flipped = 0;
        for (ulong s = 0; s < 400; s++)
            if (!Run(new RandomHorizontalFlip(0.25), img, s).SequenceEqual(img.Pixels.ToArray())) flipped++;
        Assert.That(flipped, Is.InRange(70, 130));
    }

    /// <summary>The shift (dy, dx) such that out[y, x] = in[y + dy, x + dx] (0 outside), or null.</summary>
    private static (int, int)? FindShift(ImageBuffer input, float[] output, int maxShift)
    {
        for (int dy = -maxShift; dy <= maxShift; dy++)
            for (int dx = -maxShift; dx <= maxShift; dx++)
            {
                bool ok = true;
                for (int c = 0; c < input.Channels && ok; c++)
                    for (int y = 0; y < input.Height && ok; y++)
                        for (int x = 0; x < input.Width && ok; x++)
                        {
                            int sy = y + dy, sx = x + dx;
                            float e = sy >= 0 && sy < input.Height && sx >= 0 && sx < input.Width ? At(input, c, sy, sx) : 0;
                            ok = output[(c * input.Height + y) * input.Width + x] == e;
                        }
                if (ok) return (dy, dx);
            }
        return null;
    }

    [Test]
    public void RandomCropWithPaddingKeepsTheSizeAndShiftsTheContent()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 2, 10, 12, 0.1f, 1);
        var crop = new RandomCrop(10, 12, padding: 3);
        var shifts = new HashSet<(int, int)>();
        for (ulong s = 0; s < 60; s++)
        {
            var b = Copy(img);
            crop.Apply(b, new Generator(s));
            Assert.That((b.Channels, b.Height, b.Width), Is.EqualTo((2, 10, 12)));
            var shift = FindShift(img, b.Pixels.ToArray(), 3);
            Assert.That(shift, Is.Not.Null, $"seed {s}: the output is the input shifted by at most 3 pixels");
            shifts.Add(shift!.Value);
        }
        Assert.That(shifts, Has.Count.GreaterThan(10), "many different shifts");
        Assert.That(Run(new RandomCrop(10, 12), img, 3), Is.EqualTo(img.Pixels.ToArray()), "no padding, same size: identity");
        var small = Copy(img);
        new RandomCrop(4, 5).Apply(small, g);
        Assert.That((small.Height, small.Width), Is.EqualTo((4, 5)));
        Assert.That(() => new RandomCrop(11, 12).Apply(Copy(img), g), Throws.TypeOf<ShapeException>());
    }

    [Test]
    public void RotationByZeroIsTheIdentityAndByNinetyIsRot90()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 3, 8, 8);
        foreach (var mode in new[] { Interpolation.Nearest, Interpolation.Bilinear })
        {
            Assert.That(Run(new RandomRotation(0, mode), img, 7), Is.EqualTo(img.Pixels.ToArray()));
            Assert.That(Run(new RandomRotation(90, 90, mode), img, 7) is var r && Rot90Matches(img, r), $"{mode}: rotation by 90 degrees counter-clockwise");
        }
    }

    private static bool Rot90Matches(ImageBuffer img, float[] r)
    {
        int n = img.Width;
        for (int c = 0; c < img.Channels; c++)
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++)
                    if (Math.Abs(r[(c * n + y) * n + x] - At(img, c, x, n - 1 - y)) > 1e-5) return false;
        return true;
    }

    [Test]
    public void RandomAffineWithNothingIsTheIdentityAndTranslationShifts()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 1, 12, 12, 0.1f, 1);
        Assert.That(Run(new RandomAffine(), img, 3), Is.EqualTo(img.Pixels.ToArray()));
        var shifts = new HashSet<(int, int)>();
        for (ulong s = 0; s < 30; s++)
        {
            var shift = FindShift(img, Run(new RandomAffine(translate: (0.25, 0.25)), img, s), 3);
            Assert.That(shift, Is.Not.Null, "translation only: a whole-pixel shift of at most 3");
            shifts.Add(shift!.Value);
        }
        Assert.That(shifts, Has.Count.GreaterThan(5));
        var b = Copy(img);
        new RandomAffine(degrees: 30, translate: (0.1, 0.1), scale: (0.8, 1.2), shearX: 10, shearY: 10, Interpolation.Bilinear).Apply(b, g);
        Assert.That((b.Height, b.Width), Is.EqualTo((12, 12)));
        Assert.That(b.Pixels.ToArray(), Is.All.InRange(0f, 1f));
    }

    [Test]
    public void AffineScaleTwoAboutTheCentreMagnifies()
    {
        // A constant image scaled up stays constant; scaled down, the border is filled.
        var img = new ImageBuffer(1, 8, 8);
        img.Pixels.Fill(0.5f);
        var up = Copy(img);
        Geometry.Affine(up, 0, 0, 0, 2, 0, 0, Interpolation.Bilinear);
        Assert.That(up.Pixels.ToArray(), Is.All.EqualTo(0.5f));
        var down = Copy(img);
        Geometry.Affine(down, 0, 0, 0, 0.5, 0, 0, Interpolation.Nearest, fill: 1);
        Assert.That(At(down, 0, 0, 0), Is.EqualTo(1f));
        Assert.That(At(down, 0, 4, 4), Is.EqualTo(0.5f));
    }

    [Test]
    public void PerspectiveWithoutDistortionIsTheIdentity()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 3, 9, 11);
        Assert.That(Run(new RandomPerspective(0.5, p: 0), img, 1), Is.EqualTo(img.Pixels.ToArray()));
        var same = Run(new RandomPerspective(0, p: 1), img, 1);
        Assert.That(same, Is.EqualTo(img.Pixels.ToArray()).Within(1e-4));
        var b = Copy(img);
        new RandomPerspective(0.6, p: 1).Apply(b, new Generator(4));
        Assert.That(b.Pixels.ToArray(), Is.Not.EqualTo(img.Pixels.ToArray()));
        Assert.That(At(b, 0, 4, 5), Is.Not.EqualTo(0f), "the centre stays covered");
    }

    [Test]
    public void ResizeIsBilinearWithHalfPixelCentres()
    {
        var img = new ImageBuffer(1, 2, 8);
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 8; x++) img.Pixels[y * 8 + x] = x;
        var half = Copy(img);
        new Resize(2, 4).Apply(half, new Generator(0));
        Assert.That(half.Pixels.ToArray(), Is.EqualTo(new float[] { 0.5f, 2.5f, 4.5f, 6.5f, 0.5f, 2.5f, 4.5f, 6.5f }));
        var same = Copy(img);
        new Resize(2, 8).Apply(same, new Generator(0));
        Assert.That(same.Pixels.ToArray(), Is.EqualTo(img.Pixels.ToArray()));
        var up = new ImageBuffer(3, 5, 5);
        up.Pixels.Fill(0.25f);
        new Resize(13, 17).Apply(up, new Generator(0));
        Assert.That((up.Height, up.Width), Is.EqualTo((13, 17)));
        Assert.That(up.Pixels.ToArray(), Is.All.EqualTo(0.25f));
        var shorter = new ImageBuffer(1, 10, 20);
        new Resize(5).Apply(shorter, new Generator(0));
        Assert.That((shorter.Height, shorter.Width), Is.EqualTo((5, 10)));
    }

    [Test]
    public void RandomResizedCropHasTheRequestedSizeAndFullScaleIsTheIdentity()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 3, 16, 16);
        Assert.That(Run(new RandomResizedCrop(16, scale: (1, 1), ratio: (1, 1)), img, 2), Is.EqualTo(img.Pixels.ToArray()));
        var rrc = new RandomResizedCrop(7, 9);
        for (ulong s = 0; s < 20; s++)
        {
            var b = Copy(img);
            rrc.Apply(b, new Generator(s));
            Assert.That((b.Channels, b.Height, b.Width), Is.EqualTo((3, 7, 9)));
            Assert.That(b.Pixels.ToArray(), Is.All.InRange(0f, 1f));
            var (top, left, h, w) = rrc.SampleBox(16, 16, new Generator(s));
            Assert.That(top >= 0 && left >= 0 && top + h <= 16 && left + w <= 16 && h > 0 && w > 0, $"box {top},{left},{h},{w} inside the image");
            Assert.That(h * w, Is.InRange(0.08 * 256 * 0.5, 256), "area share near the scale range (after rounding)");
        }
    }

    [Test]
    public void CropsAndResizesReadEightBitImagesExactlyAsTheirFloatConversion()
    {
        var g = TestUtil.Gen();
        var bytes = new byte[3 * 37 * 45];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)g.NextLong(256);
        foreach (var t in new Transform[]
                 {
                     new RandomResizedCrop(16, 20), new RandomResizedCrop(64), new Resize(19, 23), new Resize(80, 90),
                     new RandomCrop(30, 40, padding: 4), new CenterCrop(50), new Compose(new RandomResizedCrop(24), new RandomHorizontalFlip()),
                 })
        {
            var direct = new ImageBuffer();
            direct.SetBytes(bytes, 3, 37, 45);
            Assert.That(direct.TryGetBytes(out _), Is.True);
            var converted = new ImageBuffer();
            converted.CopyFromBytes(bytes, 3, 37, 45);
            t.Apply(direct, new Generator(8));
            t.Apply(converted, new Generator(8));
            Assert.That(direct.TryGetBytes(out _), Is.False);
            Assert.That(direct.Pixels.ToArray(), Is.EqualTo(converted.Pixels.ToArray()), t.ToString());
        }
        var untouched = new ImageBuffer();
        untouched.SetBytes(bytes, 3, 37, 45);
        Assert.That(untouched.Pixels[5], Is.EqualTo(bytes[5] / 255f), "conversion on first access");
    }

    [Test]
    public void ColorJitterSaturationIsANoOpOnGreyImages()
    {
        var g = TestUtil.Gen();
        var grey = RandomImage(g, 1, 6, 6);
        Assert.That(Run(new ColorJitter(saturation: 0.9), grey, 3), Is.EqualTo(grey.Pixels.ToArray()));
        var rgb = RandomImage(g, 3, 6, 6);
        Assert.That(Run(new ColorJitter(saturation: 0.9), rgb, 3), Is.Not.EqualTo(rgb.Pixels.ToArray()));
        Assert.That(Run(new ColorJitter(), rgb, 3), Is.EqualTo(rgb.Pixels.ToArray()));
    }

    [Test]
    public void BrightnessScalesAndContrastKeepsTheMean()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 1, 8, 8, 0.3f, 0.6f);
        var bright = Run(new ColorJitter(brightness: 0.5), img, 5);
        double f = bright[0] / img.Pixels[0];
        Assert.That(f, Is.InRange(0.5, 1.5));
        for (int i = 0; i < bright.Length; i++) Assert.That(bright[i], Is.EqualTo(img.Pixels[i] * f).Within(1e-5));
        var contrast = Run(new ColorJitter(contrast: 0.5), img, 5);
        Assert.That(contrast.Average(), Is.EqualTo(img.Pixels.ToArray().Average()).Within(1e-5));
        Assert.That(contrast, Is.Not.EqualTo(img.Pixels.ToArray()));
    }

    [Test]
    public void NormalizeAndItsInverseRoundTrip()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 3, 4, 4);
        var n = new Normalize([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
        var b = Copy(img);
        n.Apply(b, g);
        Assert.That(At(b, 1, 2, 3), Is.EqualTo((At(img, 1, 2, 3) - 0.456f) / 0.224f).Within(1e-5));
        n.Inverse().Apply(b, g);
        Assert.That(b.Pixels.ToArray(), Is.EqualTo(img.Pixels.ToArray()).Within(1e-5));
        Assert.That(() => n.Apply(new ImageBuffer(2, 2, 2), g), Throws.TypeOf<ShapeException>());
        Assert.That(() => new Normalize([0.5f], [0f]), Throws.TypeOf<ArgumentValueException>());
    }

    [Test]
    public void RandomErasingErasesOneRectangleOfTheDrawnSize()
    {
        var img = new ImageBuffer(3, 20, 24);
        img.Pixels.Fill(1);
        var erase = new RandomErasing(p: 1, value: 0);
        int erasedImages = 0;
        for (ulong s = 0; s < 30; s++)
        {
            var out_ = Run(erase, img, s);
            var box = erase.SampleBox(20, 24, new Generator(s));
            int zeros = out_.Count(v => v == 0);
            if (box is null) { Assert.That(zeros, Is.Zero); continue; }
            erasedImages++;
            var (top, left, h, w) = box.Value;
            Assert.That(zeros, Is.EqualTo(3 * h * w), "erased pixel count = channels x box area");
            Assert.That((double)h * w / (20 * 24), Is.InRange(0.01, 0.4), "area share near the scale range");
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 20; y++)
                    for (int x = 0; x < 24; x++)
                    {
                        bool inside = y >= top && y < top + h && x >= left && x < left + w;
                        Assert.That(out_[(c * 20 + y) * 24 + x], Is.EqualTo(inside ? 0f : 1f));
                    }
        }
        Assert.That(erasedImages, Is.GreaterThan(20));
        Assert.That(Run(new RandomErasing(p: 0), img, 1), Is.All.EqualTo(1f));
        var noisy = Run(new RandomErasing(p: 1, value: null), img, 2);
        Assert.That(noisy.Count(v => v != 1), Is.GreaterThan(0), "random values");
    }

    [Test]
    public void RandAugmentIsDeterministicPerSeed()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 3, 16, 16);
        var ra = new RandAugment(numOps: 3, magnitude: 15);
        int differ = 0;
        for (ulong s = 0; s < 20; s++)
        {
            var a = Run(ra, img, s);
            Assert.That(Run(ra, img, s), Is.EqualTo(a), $"seed {s} repeats");
            Assert.That(a, Is.All.InRange(0f, 1f));
            if (!a.SequenceEqual(Run(ra, img, s + 1000))) differ++;
        }
        Assert.That(differ, Is.GreaterThan(15), "different seeds, different augmentations");
        var ops = new HashSet<RandAugmentOp>();
        for (ulong s = 0; s < 200; s++) foreach (var (op, _) in ra.SampleOps(16, 16, new Generator(s))) ops.Add(op);
        Assert.That(ops, Has.Count.EqualTo(14), "all 14 operations are drawn");
    }

    [Test]
    public void RandAugmentMagnitudesFollowTorchvision()
    {
        var ra = new RandAugment(magnitude: 9);
        Assert.That(ra.MagnitudeOf(RandAugmentOp.Rotate, 9, 32, 32, out bool signed), Is.EqualTo(9).Within(1e-12));
        Assert.That(signed, Is.True);
        Assert.That(ra.MagnitudeOf(RandAugmentOp.ShearX, 30, 32, 32, out _), Is.EqualTo(0.3).Within(1e-12));
        Assert.That(ra.MagnitudeOf(RandAugmentOp.TranslateX, 30, 100, 331, out _), Is.EqualTo(150).Within(1e-9));
        Assert.That(ra.MagnitudeOf(RandAugmentOp.TranslateY, 30, 331, 100, out _), Is.EqualTo(150).Within(1e-9));
        Assert.That(ra.MagnitudeOf(RandAugmentOp.Brightness, 9, 32, 32, out _), Is.EqualTo(0.27).Within(1e-12));
        Assert.That(ra.MagnitudeOf(RandAugmentOp.Posterize, 9, 32, 32, out signed), Is.EqualTo(7));
        Assert.That(signed, Is.False);
        Assert.That(ra.MagnitudeOf(RandAugmentOp.Posterize, 30, 32, 32, out _), Is.EqualTo(4));
        Assert.That(ra.MagnitudeOf(RandAugmentOp.Solarize, 9, 32, 32, out _), Is.EqualTo(0.7).Within(1e-12));
        Assert.That(ra.MagnitudeOf(RandAugmentOp.Equalize, 9, 32, 32, out _), Is.Zero);
        Assert.That(() => new RandAugment(magnitude: 31), Throws.TypeOf<ArgumentValueException>());
    }

    [Test]
    public void RandAugmentOperationsAtZeroStrengthChangeNothing()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 3, 10, 10);
        foreach (var op in new[] { RandAugmentOp.Identity, RandAugmentOp.ShearX, RandAugmentOp.ShearY, RandAugmentOp.TranslateX, RandAugmentOp.TranslateY,
                     RandAugmentOp.Rotate, RandAugmentOp.Brightness, RandAugmentOp.Color, RandAugmentOp.Contrast, RandAugmentOp.Sharpness })
        {
            var b = Copy(img);
            RandAugment.ApplyOp(b, op, 0);
            Assert.That(b.Pixels.ToArray(), Is.EqualTo(img.Pixels.ToArray()).Within(1e-6), op.ToString());
        }
    }

    [Test]
    public void RandAugmentPixelOperations()
    {
        var g = TestUtil.Gen();
        var img = RandomImage(g, 3, 40, 40, 0.2f, 0.7f); // equalize needs enough pixels per level to act
        var b = Copy(img);
        RandAugment.ApplyOp(b, RandAugmentOp.AutoContrast, 0);
        for (int c = 0; c < 3; c++)
        {
            var p = b.Plane(c).ToArray();
            Assert.That((p.Min(), p.Max()), Is.EqualTo((0f, 1f)), "autocontrast spans [0, 1]");
        }
        b = Copy(img);
        RandAugment.ApplyOp(b, RandAugmentOp.Posterize, 4);
        Assert.That(b.Pixels.ToArray().Select(v => v * 16), Is.All.EqualTo(0).Within(1e-4).Or.Matches<float>(v => Math.Abs(v - MathF.Round(v)) < 1e-4), "4 bits: multiples of 1/16");
        b = Copy(img);
        RandAugment.ApplyOp(b, RandAugmentOp.Solarize, 0.5);
        for (int i = 0; i < b.Length; i++) Assert.That(b.Pixels[i], Is.EqualTo(img.Pixels[i] >= 0.5f ? 1 - img.Pixels[i] : img.Pixels[i]));
        b = Copy(img);
        RandAugment.ApplyOp(b, RandAugmentOp.Equalize, 0);
        var levels = b.Plane(0).ToArray();
        Assert.That(levels.Max(), Is.GreaterThan(0.9f), "equalize spreads the levels");
        Assert.That(levels.Min(), Is.LessThan(0.1f));
        b = Copy(img);
        RandAugment.ApplyOp(b, RandAugmentOp.Sharpness, 0.9);
        Assert.That(b.Pixels.ToArray(), Is.Not.EqualTo(img.Pixels.ToArray()));
        Assert.That(At(b, 0, 0, 0), Is.EqualTo(At(img, 0, 0, 0)), "sharpness leaves the border");
    }

    [Test]
    public void MixUpLabelWeightsSumToOneAndMatchLambda()
    {
        var g = TestUtil.Gen();
        using var images = Tensor.Rand([6, 1, 3, 3], DType.Float32, g);
        using var labels = Tensor.FromArray(new long[] { 0, 1, 2, 3, 4, 0 });
        var mix = new MixUp(5, alpha: 0.4);
        ulong seed = 17;
        using var r = mix.Apply(images, labels, new Generator(seed));
        double lam = new Generator(seed).NextBeta(0.4, 0.4);
        Assert.That(r.Lambda, Is.EqualTo(lam));
        var soft = r.SoftLabels.ToArray<float>();
        var y = labels.ToArray<long>();
        var x = images.ToArray<float>();
        var m = r.Images.ToArray<float>();
        for (int i = 0; i < 6; i++)
        {
            var row = soft.AsSpan(i * 5, 5).ToArray();
            Assert.That(row.Sum(), Is.EqualTo(1).Within(1e-6), "row sums to 1");
            long p = r.Partner[i];
            double own = y[i] == y[p] ? 1 : lam;
            Assert.That(row[y[i]], Is.EqualTo(own).Within(1e-6), "own label weighs lambda");
            if (y[i] != y[p]) Assert.That(row[y[p]], Is.EqualTo(1 - lam).Within(1e-6), "partner label weighs 1 - lambda");
            for (int k = 0; k < 9; k++)
                Assert.That(m[i * 9 + k], Is.EqualTo(lam * x[i * 9 + k] + (1 - lam) * x[p * 9 + k]).Within(1e-6));
        }
        Assert.That(r.Partner.Order(), Is.EqualTo(Enumerable.Range(0, 6)));
    }

    [Test]
    public void CutMixBatchTransformGivesSoftLabelsOfTheBoxArea()
    {
        var g = TestUtil.Gen();
        using var images = Tensor.Rand([4, 2, 8, 8], DType.Float32, g);
        using var labels = Tensor.FromArray(new long[] { 0, 1, 2, 1 });
        using var r = new CutMix(3).Apply(images, labels, new Generator(3));
        var box = CutMixBox.Sample(4, 8, 8, 1.0, new Generator(3));
        Assert.That(r.Lambda, Is.EqualTo(box.Lambda));
        Assert.That(r.Lambda, Is.EqualTo(1 - (double)(box.Y2 - box.Y1) * (box.X2 - box.X1) / 64));
        var soft = r.SoftLabels.ToArray<float>();
        for (int i = 0; i < 4; i++) Assert.That(soft.AsSpan(i * 3, 3).ToArray().Sum(), Is.EqualTo(1).Within(1e-6));
    }

    [Test]
    public void PresetsByName()
    {
        Assert.That(Augmentations.PresetNames, Is.EqualTo(new[] { "none", "basic", "strong" }));
        var g = TestUtil.Gen();
        var img = RandomImage(g, 1, 28, 28);
        Assert.That(Run(Augmentations.Preset("none", 28, 28), img, 1), Is.EqualTo(img.Pixels.ToArray()));
        foreach (var name in new[] { "basic", "strong" })
        {
            var b = Copy(img);
            Augmentations.Preset(name, 28, 28).Apply(b, new Generator(2));
            Assert.That((b.Channels, b.Height, b.Width), Is.EqualTo((1, 28, 28)));
            var big = RandomImage(g, 3, 250, 300);
            Augmentations.Preset(name, 224, 224).Apply(big, new Generator(2));
            Assert.That((big.Channels, big.Height, big.Width), Is.EqualTo((3, 224, 224)));
        }
        Assert.That(Augmentations.Preset("basic", 28, 28).ToString(), Does.Contain("RandomCrop").And.Contain("RandomHorizontalFlip"));
        Assert.That(Augmentations.Preset("strong", 28, 28).ToString(), Does.Contain("RandAugment").And.Contain("RandomErasing"));
        Assert.That(() => Augmentations.Preset("wild", 28, 28), Throws.TypeOf<ArgumentValueException>().With.Message.Contains("basic"));
        Assert.That(Augmentations.BatchPreset("none", 10), Is.Null);
        Assert.That(Augmentations.BatchPreset("mixup", 10), Is.TypeOf<MixUp>());
        Assert.That(Augmentations.BatchPreset("cutmix", 10), Is.TypeOf<CutMix>());
    }

    [Test]
    public void TensorApplyLeavesTheInputAlone()
    {
        var g = TestUtil.Gen();
        using var t = Tensor.Rand([3, 5, 5], DType.Float32, g);
        var before = t.ToArray<float>();
        using var r = new RandomHorizontalFlip(1).Apply(t, g);
        Assert.That(t.ToArray<float>(), Is.EqualTo(before));
        Assert.That(r.Shape, Is.EqualTo(new long[] { 3, 5, 5 }));
        Assert.That(r.ToArray<float>()[0], Is.EqualTo(before[4]));
        Assert.That(() => new RandomHorizontalFlip().Apply(Tensor.Zeros(2, 2), g), Throws.TypeOf<ShapeException>());
    }
}

[NonParallelizable]
public class BatchTransformMemoryTests
{
    [Test]
    public void MixingOutsideAnyScopeLeavesNoTemporaries()
    {
        var g = TestUtil.Gen();
        using var images = Tensor.Rand([8, 1, 6, 6], DType.Float32, g);
        using var labels = Tensor.RandInt(0, 4, [8], generator: g);
        long before = Engine.Kernels.Cpu.CpuStorage.LiveBytes;
        foreach (BatchTransform t in new BatchTransform[] { new MixUp(4), new CutMix(4) })
            using (t.Apply(images, labels, g)) { }
        Assert.That(Engine.Kernels.Cpu.CpuStorage.LiveBytes, Is.EqualTo(before));
    }
}
