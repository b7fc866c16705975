namespace Engine.Tests.Cnn;

/// <summary>CutMix: the pasted area agrees with the mixed labels, labels are a distribution, seeds, inputs untouched, λ's distribution.</summary>
public class CutMixTests
{
    private const int N = 6, C = 2, H = 16, W = 20, Classes = 5;
    private static readonly long[] Y = [0, 1, 2, 3, 4, 1];

    // Image i holds i·1000 + position, so every pixel names the image and the position it came from.
    private static Tensor DistinctImages(int n = N, int c = C, int h = H, int w = W)
    {
        int chw = c * h * w;
        Assert.That(chw, Is.LessThan(1000));
        var data = new float[n * chw];
        for (int i = 0; i < n; i++)
            for (int pos = 0; pos < chw; pos++) data[i * chw + pos] = i * 1000 + pos;
        return Tensor.FromArray(data, n, c, h, w);
    }

    [Test]
    public void PastedAreaIsExactlyTheLabelFraction()
    {
        using var scope = Tensor.NewDisposeScope();
        var images = DistinctImages();
        var labels = Tensor.FromArray(Y);
        const int chw = C * H * W;
        int checkedImages = 0, nonEmptyBoxes = 0;
        for (int draw = 0; draw < 40; draw++)
        {
            var (mixed, soft, box) = Functional.CutMix(images, labels, Classes, 1.0, TestUtil.Gen());
            Assert.That(mixed.Shape, Is.EqualTo(new long[] { N, C, H, W }));
            Assert.That(soft.Shape, Is.EqualTo(new long[] { N, Classes }));
            Assert.That(box.Partner.OrderBy(v => v), Is.EqualTo(Enumerable.Range(0, N).Select(v => (long)v)), "partners are a permutation");
            Assert.That(box.Lambda, Is.InRange(0.0, 1.0));
            double boxShare = (double)(box.Y2 - box.Y1) * (box.X2 - box.X1) / (H * W);
            Assert.That(box.Lambda, Is.EqualTo(1 - boxShare).Within(1e-12), "λ is recomputed from the clipped box");
            if (boxShare > 0) nonEmptyBoxes++;
            var m = mixed.ToArray<float>();
            var s = LossRef.Rows(soft.ToArray<float>().Select(v => (double)v).ToArray(), Classes);
            for (int i = 0; i < N; i++)
            {
                long partner = box.Partner[i];
                int fromPartner = 0;
                for (int pos = 0; pos < chw; pos++)
                {
                    int v = (int)m[i * chw + pos], src = v / 1000;
                    Assert.That(v - src * 1000, Is.EqualTo(pos), "pixels are pasted in place");
                    int hh = pos / W % H, ww = pos % W;
                    bool inBox = hh >= box.Y1 && hh < box.Y2 && ww >= box.X1 && ww < box.X2;
                    Assert.That(src, Is.EqualTo(inBox ? partner : i), $"image {i} pixel ({pos / (H * W)}, {hh}, {ww})");
                    if (src == partner && partner != i) fromPartner++;
                }
                // the mixed label: λ·onehot(y) + (1 − λ)·onehot(y_partner)
                var expected = new double[Classes];
                expected[Y[i]] += box.Lambda;
                expected[Y[partner]] += 1 - box.Lambda;
                for (int k = 0; k < Classes; k++) Assert.That(s[i][k], Is.EqualTo(expected[k]).Within(1e-6), $"label [{i}, {k}]");
                Assert.That(s[i].Sum(), Is.EqualTo(1.0).Within(1e-6), "soft labels sum to 1");
                if (partner != i && Y[partner] != Y[i])
                {
                    checkedImages++;
                    // the share of pixels taken from the partner is exactly the partner's label weight
                    Assert.That((double)fromPartner / chw, Is.EqualTo(s[i][Y[partner]]).Within(1e-6));
                    Assert.That(1 - (double)fromPartner / chw, Is.EqualTo(s[i][Y[i]]).Within(1e-6));
                }
            }
        }
        Assert.That(checkedImages, Is.GreaterThan(50), "enough (image, partner) pairs checked");
        Assert.That(nonEmptyBoxes, Is.GreaterThan(20), "enough non-empty boxes");
    }

    [Test]
    public void SameSeedSameOutputDifferentSeedsDiffer()
    {
        using var scope = Tensor.NewDisposeScope();
        var images = DistinctImages();
        var labels = Tensor.FromArray(Y);
        ulong seed = TestContext.CurrentContext.Random.NextULong();
        var (i1, l1, b1) = Functional.CutMix(images, labels, Classes, 1.0, new Generator(seed));
        var (i2, l2, b2) = Functional.CutMix(images, labels, Classes, 1.0, new Generator(seed));
        Assert.That(i2.ToArray<float>(), Is.EqualTo(i1.ToArray<float>()));
        Assert.That(l2.ToArray<float>(), Is.EqualTo(l1.ToArray<float>()));
        Assert.That(b2.Partner, Is.EqualTo(b1.Partner));
        Assert.That((b2.Y1, b2.Y2, b2.X1, b2.X2, b2.Lambda), Is.EqualTo((b1.Y1, b1.Y2, b1.X1, b1.X2, b1.Lambda)));
        int differing = 0;
        for (ulong s = 1; s <= 8; s++)
        {
            var (i3, l3, b3) = Functional.CutMix(images, labels, Classes, 1.0, new Generator(seed + s));
            if (b3.Lambda != b1.Lambda && !i3.ToArray<float>().SequenceEqual(i1.ToArray<float>()) && !l3.ToArray<float>().SequenceEqual(l1.ToArray<float>()))
                differing++;
        }
        Assert.That(differing, Is.GreaterThanOrEqualTo(6), "other seeds give other boxes, images and labels");
    }

    [Test]
    public void InputsAreUntouched()
    {
        using var scope = Tensor.NewDisposeScope();
        var images = DistinctImages();
        var labels = Tensor.FromArray(Y);
        var before = images.ToArray<float>();
        for (int draw = 0; draw < 5; draw++)
        {
            var (mixed, _, box) = Functional.CutMix(images, labels, Classes, 1.0, TestUtil.Gen());
            mixed.FillInPlace(-1);
            Assert.That(images.ToArray<float>(), Is.EqualTo(before));
            Assert.That(labels.ToArray<long>(), Is.EqualTo(Y));
            Assert.That(Functional.CutMixImages(images, box).Shape, Is.EqualTo(images.Shape));
            Assert.That(images.ToArray<float>(), Is.EqualTo(before));
        }
        // a non-contiguous batch is read correctly and left alone too
        var strided = DistinctImages(n: 4, c: 2, h: 8, w: 8).Transpose(2, 3);
        var sb = strided.Contiguous().ToArray<float>();
        var (sm, _, sbox) = Functional.CutMix(strided, Tensor.FromArray(new long[] { 0, 1, 2, 3 }), 4, 1.0, TestUtil.Gen());
        Assert.That(strided.Contiguous().ToArray<float>(), Is.EqualTo(sb));
        var ma = sm.ToArray<float>();
        for (int i = 0; i < 4; i++)
            for (int pos = 0; pos < 128; pos++)
            {
                int hh = pos / 8 % 8, ww = pos % 8;
                bool inBox = hh >= sbox.Y1 && hh < sbox.Y2 && ww >= sbox.X1 && ww < sbox.X2;
                Assert.That(ma[i * 128 + pos], Is.EqualTo(sb[(inBox ? sbox.Partner[i] : i) * 128 + pos]));
            }
    }

    [Test]
    public void LambdaIsBetaDistributedBeforeClipping()
    {
        // Beta(1, 1) is uniform on [0, 1]: mean 1/2, variance 1/12
        var g = TestUtil.Gen();
        const int draws = 40000;
        var raw = Enumerable.Range(0, draws).Select(_ => g.NextBeta(1, 1)).ToArray();
        Assert.That(raw, Is.All.InRange(0.0, 1.0));
        double mean = raw.Average();
        Assert.That(mean, Is.EqualTo(0.5).Within(0.01));
        Assert.That(raw.Average(v => (v - mean) * (v - mean)), Is.EqualTo(1.0 / 12).Within(0.005));

        // After clipping the box to the image, λ is the share left uncovered. With u = 1 − λ_raw ~ U(0, 1), the box side is
        // s = √u of the image side and a uniform centre loses s²/8 on each side on average, so E[side] = s − s²/4 and
        // E[λ] = 1 − E[(s − s²/4)²] = 1 − (E[u] − E[u^1.5]/2 + E[u²]/16) = 1 − (1/2 − 1/5 + 1/48) = 0.679166…
        // (0.5 without clipping: clipping only shrinks the box).
        var lams = Enumerable.Range(0, draws).Select(_ => CutMixBox.Sample(2, 1000, 1000, 1.0, g).Lambda).ToArray();
        Assert.That(lams, Is.All.InRange(0.0, 1.0));
        Assert.That(lams.Average(), Is.EqualTo(1 - (0.5 - 0.2 + 1.0 / 48)).Within(0.01));
    }

    [Test]
    public void BadInput()
    {
        using var scope = Tensor.NewDisposeScope();
        var images = DistinctImages();
        var labels = Tensor.FromArray(Y);
        foreach (var alpha in new[] { 0.0, -1.0, double.NaN })
            LossTests.Throws<ArgumentValueException>("cutmix", () => Functional.CutMix(images, labels, Classes, alpha, TestUtil.Gen()));
        LossTests.Throws<ShapeException>("cutmix", () => Functional.CutMix(images.Reshape(N * C, H, W), labels, Classes));
        LossTests.Throws<DTypeException>("cutmix", () => Functional.CutMix(images, Tensor.FromArray(new[] { 0, 1, 2, 3, 4, 1 }), Classes));
        LossTests.Throws<ShapeException>("cutmix", () => Functional.CutMix(images, Tensor.FromArray(new long[] { 0, 1 }), Classes));
        LossTests.Throws<ArgumentValueException>("cutmix", () => Functional.CutMix(images, labels, 0));
        LossTests.Throws<IndexException>("cutmix", () => Functional.CutMix(images, labels, 4));
        LossTests.Throws<IndexException>("cutmix", () => Functional.CutMix(images, Tensor.FromArray(new long[] { 0, 1, 2, 3, -1, 1 }), Classes));
    }
}
