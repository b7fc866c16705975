using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Gpu;

/// <summary>
/// The CutMix kernels (cutmix.ptx) on each GPU device against the CPU backend and a naive oracle: out of place
/// (16-byte-quad and one-word paths) and in place (boxes only), ragged H and W (W % 4 ≠ 0), N = 1, C = 1 and 3, empty,
/// full, edge and quad-straddling boxes, every 4- and 8-byte dtype, the soft labels, the same seed giving the same
/// result on both devices, and bad input rejected before any launch.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class CutMixKernelTests(TestDevice dev) : DeviceTests(dev)
{
    private static readonly (int N, int C, int H, int W)[] Shapes =
        [(1, 1, 5, 7), (3, 3, 9, 13), (4, 2, 6, 8), (5, 3, 7, 12), (2, 1, 11, 1), (6, 3, 10, 17), (3, 1, 1, 9)];

    /// <summary>Boxes for a shape: a random draw, empty, full, edge rows/columns, and boxes starting and ending mid-quad.</summary>
    private static IEnumerable<CutMixBox> Boxes(int n, int h, int w, Random r, Generator g)
    {
        long[] Perm() => [.. Enumerable.Range(0, n).Select(i => (long)i).OrderBy(_ => r.Next())];
        CutMixBox B(int y1, int y2, int x1, int x2) => new(Perm(), y1, y2, x1, x2, 1 - (double)(y2 - y1) * (x2 - x1) / (h * w));
        yield return CutMixBox.Sample(n, h, w, 1.0, g);
        yield return B(h / 2, h / 2, 0, w);                 // empty (no rows)
        yield return B(0, h, w / 2, w / 2);                 // empty (no columns)
        yield return B(0, h, 0, w);                         // full
        yield return B(h - 1, h, w - 1, w);                 // the last pixel
        yield return B(0, 1, 0, w);                         // the first row
        int x1 = Math.Min(1, w - 1), x2 = Math.Max(x1, Math.Min(w, 6)), y1 = r.Next(h), y2 = r.Next(y1, h + 1);
        yield return B(y1, y2, x1, x2);                     // starts and ends inside a quad
        // a non-permutation partner map (any partner in range is allowed): several images share one partner
        var shared = Enumerable.Range(0, n).Select(_ => (long)r.Next(n)).ToArray();
        yield return new CutMixBox(shared, 0, Math.Max(1, h / 2), 0, Math.Max(1, w / 3), 0.5);
    }

    /// <summary>The naive definition: image i outside the box, image partner[i] inside.</summary>
    private static double[] Oracle(double[] x, int n, int c, int h, int w, CutMixBox box)
    {
        var o = new double[x.Length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    for (int xx = 0; xx < w; xx++)
                    {
                        bool inBox = y >= box.Y1 && y < box.Y2 && xx >= box.X1 && xx < box.X2;
                        long from = inBox ? box.Partner[i] : i;
                        o[((i * c + ch) * h + y) * w + xx] = x[((from * c + ch) * h + y) * w + xx];
                    }
        return o;
    }

    [Test]
    public void ImagesMatchTheCpuAndTheOracleInBothForms()
    {
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        long fallbacks = Gpu.CpuFallbacks, launches = Gpu.PtxLaunches;
        int expectedLaunches = 0;
        // int32/int64 move as the same 32-bit words as float32/float64: two shapes each (one per kernel path) suffice
        foreach (var dt in new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64 })
            foreach (var (n, c, h, w) in dt.IsFloatingPoint() ? Shapes : Shapes[1..3])
                foreach (var box in Boxes(n, h, w, r, g))
                {
                    using var scope = Tensor.NewDisposeScope();
                    var x = (Tensor.Randn([n, c, h, w], DType.Float64, g) * 1000).To(dt);
                    var xs = x.ToDoubleArray();
                    var expected = Oracle(xs, n, c, h, w, box);
                    string what = $"{dt.Name()} [{n}, {c}, {h}, {w}] box [{box.Y1}, {box.Y2}) x [{box.X1}, {box.X2}) partners {string.Join(",", box.Partner)}";

                    var cpuOut = Functional.CutMixImages(x, box);
                    var dev = x.To(Device);
                    var devOut = Functional.CutMixImages(dev, box);
                    Assert.That(devOut.Device, Is.EqualTo(Device));
                    Assert.That(devOut.ToDoubleArray(), Is.EqualTo(expected), $"out of place, {what}");
                    Assert.That(cpuOut.ToDoubleArray(), Is.EqualTo(expected), $"CPU out of place, {what}");
                    Assert.That(dev.ToDoubleArray(), Is.EqualTo(xs), $"the input is untouched, {what}");
                    bool nonEmpty = box.Y2 > box.Y1 && box.X2 > box.X1;
                    expectedLaunches += n * c * h * w > 0 ? 1 : 0;

                    var cpuIn = x.Clone();
                    Assert.That(Functional.CutMixImagesInPlace(cpuIn, box), Is.SameAs(cpuIn));
                    Functional.CutMixImagesInPlace(dev, box);
                    Assert.That(dev.ToDoubleArray(), Is.EqualTo(expected), $"in place, {what}");
                    Assert.That(cpuIn.ToDoubleArray(), Is.EqualTo(expected), $"CPU in place, {what}");
                    expectedLaunches += nonEmpty ? 2 : 0;
                }
        // a non-contiguous batch out of place (copied to contiguous first) and uint8 images (narrow + index_select path)
        {
            using var scope = Tensor.NewDisposeScope();
            var box = CutMixBox.Sample(3, 6, 5, 1.0, g);
            var baseT = Tensor.Randn([3, 2, 5, 6], DType.Float32, g);
            var t = baseT.Transpose(2, 3);
            var expected = Oracle(t.Contiguous().ToDoubleArray(), 3, 2, 6, 5, box);
            Assert.That(Functional.CutMixImages(baseT.To(Device).Transpose(2, 3), box).ToDoubleArray(), Is.EqualTo(expected), "strided input");
        }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "nothing fell back to the CPU");
        Assert.That(Gpu.PtxLaunches - launches, Is.GreaterThanOrEqualTo(expectedLaunches), "the CutMix kernels ran");
        if (Gpu.Runtime is IHostMappedRuntime)
        {
            // uint8 images take the narrow + index_select + copy path (index_select runs on the CPU kernel on the emulator)
            using var scope = Tensor.NewDisposeScope();
            var box = CutMixBox.Sample(3, 6, 5, 1.0, g);
            var u8 = (Tensor.Rand([3, 2, 6, 5], DType.Float32, g) * 255).To(DType.UInt8);
            var u8Expected = Oracle(u8.ToDoubleArray(), 3, 2, 6, 5, box);
            Assert.That(Functional.CutMixImages(u8.To(Device), box).ToDoubleArray(), Is.EqualTo(u8Expected), "uint8 images");
            var inPlace = u8.To(Device);
            Functional.CutMixImagesInPlace(inPlace, box);
            Assert.That(inPlace.ToDoubleArray(), Is.EqualTo(u8Expected), "uint8 images in place");
        }
    }

    [Test]
    public void SoftLabelsMatchTheCpuBitForBit()
    {
        var r = TestUtil.Rng();
        long fallbacks = Gpu.CpuFallbacks;
        foreach (var (n, classes) in new[] { (1, 1), (1, 5), (6, 10), (37, 3), (9, 300) })
        {
            using var scope = Tensor.NewDisposeScope();
            var y = Enumerable.Range(0, n).Select(_ => (long)r.Next(classes)).ToArray();
            var partner = Enumerable.Range(0, n).Select(_ => (long)r.Next(n)).ToArray();
            foreach (double lam in new[] { 0.0, 1.0, r.NextDouble(), 0.1 })
            {
                var box = new CutMixBox(partner, 0, 0, 0, 0, lam);
                var labels = Tensor.FromArray(y);
                var cpu = Functional.CutMixLabels(labels, classes, box);
                long launches = Gpu.PtxLaunches;
                var dev = Functional.CutMixLabels(labels.To(Device), classes, box);
                Assert.That(Gpu.PtxLaunches - launches, Is.GreaterThanOrEqualTo(1));
                Assert.That(dev.Shape, Is.EqualTo(new long[] { n, classes }));
                var d = dev.ToArray<float>();
                Assert.That(d, Is.EqualTo(cpu.ToArray<float>()), $"n={n} classes={classes} λ={lam}");
                for (int i = 0; i < n; i++)
                    for (int k = 0; k < classes; k++)
                    {
                        float expected = (k == y[i] ? (float)lam : 0f) + (k == y[partner[i]] ? (float)(1 - lam) : 0f);
                        Assert.That(d[i * classes + k], Is.EqualTo(expected), $"[{i}, {k}]");
                    }
            }
        }
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks));
    }

    [Test]
    public void SameSeedSameResultOnBothDevices()
    {
        using var scope = Tensor.NewDisposeScope();
        ulong seed = TestContext.CurrentContext.Random.NextULong();
        var g = TestUtil.Gen();
        var images = Tensor.Randn([8, 3, 13, 11], DType.Float32, g);
        var labels = Tensor.FromArray(new long[] { 0, 3, 1, 4, 4, 2, 0, 1 });
        foreach (bool inPlace in new[] { false, true })
        {
            var (ci, cl, cb) = Functional.CutMix(images.Clone(), labels, 5, 1.0, new Generator(seed), inPlace);
            var (di, dl, db) = Functional.CutMix(images.To(Device), labels.To(Device), 5, 1.0, new Generator(seed), inPlace);
            Assert.That((db.Y1, db.Y2, db.X1, db.X2, db.Lambda), Is.EqualTo((cb.Y1, cb.Y2, cb.X1, cb.X2, cb.Lambda)));
            Assert.That(db.Partner, Is.EqualTo(cb.Partner));
            Assert.That(di.Device, Is.EqualTo(Device));
            Assert.That(di.ToArray<float>(), Is.EqualTo(ci.ToArray<float>()), $"images, in place: {inPlace}");
            Assert.That(dl.ToArray<float>(), Is.EqualTo(cl.ToArray<float>()), $"labels, in place: {inPlace}");
        }
    }

    [Test]
    public void BadInputIsRejectedBeforeAnyLaunch()
    {
        using var scope = Tensor.NewDisposeScope();
        var images = Tensor.Randn([4, 2, 6, 7], DType.Float32, TestUtil.Gen()).To(Device);
        var labels = Tensor.FromArray(new long[] { 0, 1, 2, 1 }).To(Device);
        var negative = Tensor.FromArray(new long[] { 0, -1, 2, 1 }).To(Device);
        var int32Labels = labels.To(DType.Int32);
        var floatLabels = labels.To(DType.Float32);
        long launches = Gpu.PtxLaunches;
        var ok = new CutMixBox([1, 0, 3, 2], 1, 3, 2, 5, 0.8);
        Throws<IndexException>("cutmix", () => Functional.CutMix(images, labels, 2));                              // label 2 of 2 classes
        Throws<IndexException>("cutmix_labels", () => Functional.CutMixLabels(negative, 3, ok));
        Throws<DTypeException>("cutmix", () => Functional.CutMix(images, int32Labels, 3));
        Throws<DTypeException>("cutmix_labels", () => Functional.CutMixLabels(floatLabels, 3, ok));
        Throws<ShapeException>("cutmix", () => Functional.CutMix(images.Reshape(8, 6, 7), labels, 3));
        Throws<ShapeException>("cutmix", () => Functional.CutMixImages(images.Reshape(4, 2, 42), ok));
        Throws<ShapeException>("cutmix_", () => Functional.CutMixImagesInPlace(images.Reshape(4, 2, 6, 7, 1), ok));
        Throws<ShapeException>("cutmix", () => Functional.CutMixImages(images, ok with { Partner = [0, 1, 2] }));
        Throws<IndexException>("cutmix", () => Functional.CutMixImages(images, ok with { Partner = [0, 1, 2, 4] }));
        Throws<IndexException>("cutmix_", () => Functional.CutMixImagesInPlace(images, ok with { Partner = [-1, 1, 2, 3] }));
        Throws<ArgumentValueException>("cutmix", () => Functional.CutMixImages(images, ok with { Y2 = 7 }));
        Throws<ArgumentValueException>("cutmix", () => Functional.CutMixImages(images, ok with { X1 = 6, X2 = 5 }));
        Throws<ArgumentValueException>("cutmix_labels", () => Functional.CutMixLabels(labels, 3, ok with { Lambda = 1.5 }));
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches), "nothing was launched");
    }

    private static void Throws<T>(string op, TestDelegate f) where T : EngineException
    {
        var e = Assert.Throws<T>(f);
        Assert.That(e!.Message, Does.Contain(op));
    }
}
