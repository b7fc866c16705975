using Engine.Kernels.Fused;
using Engine.Kernels;

namespace Engine;

/// <summary>
/// One CutMix draw (Yun et al., 2019): the partner of each image, and the box [Y1, Y2) × [X1, X2) pasted
/// from it. <see cref="Lambda"/> is the share of each image that stays its own after clipping the box.
/// </summary>
public sealed record CutMixBox(long[] Partner, int Y1, int Y2, int X1, int X2, double Lambda)
{
    /// <summary>
    /// Draws λ ~ Beta(α, α), a partner permutation and a box centre uniformly over the image; the box has sides
    /// H·√(1−λ) and W·√(1−λ) (integer half-sides, as torchvision) and is clipped to the image. λ is then
    /// recomputed from the clipped area: 1 − box area / (H·W). Host-side, so every device draws the same box.
    /// </summary>
    public static CutMixBox Sample(int batch, int height, int width, double alpha, Generator generator)
    {
        if (!(alpha > 0)) throw new ArgumentValueException("cutmix", $"alpha must be positive, got {alpha}");
        double lam = generator.NextBeta(alpha, alpha);
        var partner = generator.Permutation(batch);
        long cx = generator.NextLong(width), cy = generator.NextLong(height);
        double r = 0.5 * Math.Sqrt(1 - lam);
        int halfW = (int)(r * width), halfH = (int)(r * height);
        int x1 = (int)Math.Max(cx - halfW, 0), x2 = (int)Math.Min(cx + halfW, width);
        int y1 = (int)Math.Max(cy - halfH, 0), y2 = (int)Math.Min(cy + halfH, height);
        double adjusted = 1.0 - (double)(x2 - x1) * (y2 - y1) / ((double)width * height);
        return new CutMixBox(partner, y1, y2, x1, x2, adjusted);
    }
}

public static partial class Functional
{
    /// <summary>
    /// CutMix on a batch of images [N, C, H, W] with int64 labels [N]: each image gets a box pasted from a
    /// shuffled partner, and its label becomes the soft label λ·onehot(y) + (1 − λ)·onehot(y_partner), λ the
    /// share of the image not covered by the (clipped) box. Returns new tensors and leaves the inputs untouched, or, with
    /// <paramref name="inPlace"/>, writes the boxes into <paramref name="images"/> itself and returns it as Images.
    /// The box is drawn on the host, so the same generator state gives the same result on every device.
    /// </summary>
    public static (Tensor Images, Tensor Labels, CutMixBox Box) CutMix(Tensor images, Tensor labels, int numClasses, double alpha = 1.0,
        Generator? generator = null, bool inPlace = false)
    {
        const string op = "cutmix";
        images.StorageOf(op); labels.StorageOf(op);
        Checks.SameDevice(op, images, labels);
        if (images.Rank != 4) throw new ShapeException(op, $"expected images of shape (N, C, H, W), got {ShapeUtil.Format(images.ShapeSpan)}");
        CheckLabels(op, labels, images.Size(0), numClasses);
        if (inPlace) images.CheckInPlace(op + "_");
        var box = CutMixBox.Sample((int)images.Size(0), (int)images.Size(2), (int)images.Size(3), alpha, generator ?? Generator.Default);
        return (MixImages(op, images, box, inPlace), MixLabels(op, labels, numClasses, box), box);
    }

    /// <summary>The images with <paramref name="box"/> pasted from each partner, as a new tensor (the input is untouched).</summary>
    public static Tensor CutMixImages(Tensor images, CutMixBox box)
    {
        CheckBox("cutmix", images, box);
        return MixImages("cutmix", images, box, inPlace: false);
    }

    /// <summary>
    /// Pastes <paramref name="box"/> from each partner into <paramref name="images"/> itself (only the boxes are written;
    /// a partner's box is read as it was before the call) and returns <paramref name="images"/>.
    /// </summary>
    public static Tensor CutMixImagesInPlace(Tensor images, CutMixBox box)
    {
        const string op = "cutmix_";
        CheckBox(op, images, box);
        images.CheckInPlace(op);
        return MixImages(op, images, box, inPlace: true);
    }

    /// <summary>The soft labels λ·onehot(y) + (1 − λ)·onehot(y_partner), float32 [N, classes].</summary>
    public static Tensor CutMixLabels(Tensor labels, int numClasses, CutMixBox box)
    {
        const string op = "cutmix_labels";
        labels.StorageOf(op);
        CheckLabels(op, labels, box.Partner.LongLength, numClasses);
        CheckPartner(op, box, labels.Size(0));
        if (!(box.Lambda >= 0 && box.Lambda <= 1)) throw new ArgumentValueException(op, $"lambda must be in [0, 1], got {box.Lambda}");
        return MixLabels(op, labels, numClasses, box);
    }

    private static void CheckLabels(string op, Tensor labels, long n, int numClasses)
    {
        Checks.IsDType(op, labels, DType.Int64, "labels");
        if (labels.Rank != 1 || labels.Size(0) != n)
            throw new ShapeException(op, $"labels must have shape [{n}], got {ShapeUtil.Format(labels.ShapeSpan)}");
        if (numClasses < 1) throw new ArgumentValueException(op, $"number of classes must be positive, got {numClasses}");
        foreach (var v in labels.ToArray<long>())
            if (v < 0 || v >= numClasses) throw new IndexException(op, $"label {v} is out of range for {numClasses} classes");
    }

    private static void CheckPartner(string op, CutMixBox box, long n)
    {
        if (box.Partner.LongLength != n) throw new ShapeException(op, $"the box has {box.Partner.LongLength} partners for a batch of {n}");
        foreach (var p in box.Partner)
            if (p < 0 || p >= n) throw new IndexException(op, $"partner {p} is out of range for a batch of {n}");
    }

    private static void CheckBox(string op, Tensor images, CutMixBox box)
    {
        images.StorageOf(op);
        if (images.Rank != 4) throw new ShapeException(op, $"expected images of shape (N, C, H, W), got {ShapeUtil.Format(images.ShapeSpan)}");
        CheckPartner(op, box, images.Size(0));
        long h = images.Size(2), w = images.Size(3);
        if (box.Y1 < 0 || box.Y1 > box.Y2 || box.Y2 > h || box.X1 < 0 || box.X1 > box.X2 || box.X2 > w)
            throw new ArgumentValueException(op, $"box [{box.Y1}, {box.Y2}) x [{box.X1}, {box.X2}) does not fit images of {h}x{w}");
    }

    /// <summary>The partner permutation as an int64 tensor on <paramref name="device"/>.</summary>
    private static Tensor PartnerOn(Device device, CutMixBox box)
    {
        var cpu = Tensor.FromArray(box.Partner);
        if (device == Device.Cpu) return cpu;
        var t = cpu.To(device);
        cpu.Dispose();
        return t;
    }

    // One backend kernel for 4- and 8-byte dtypes (contiguous, or any layout out of place through a contiguous copy);
    // uint8/bool images, and non-contiguous ones in place, go through narrow + index_select + copy.
    private static Tensor MixImages(string op, Tensor images, CutMixBox box, bool inPlace)
    {
        using var _ = Tensor.NoGrad();
        using var partner = PartnerOn(images.Device, box);
        if (images.DType.ElementSize() is not (4 or 8) || (inPlace && !images.IsContiguous))
            return MixImagesByViews(images, box, partner, inPlace);
        if (inPlace)
        {
            FusedOps.CutMixImages.Run(images.Backend, new(images.WriteView(op), images.View(op), partner.View(op), box.Y1, box.Y2, box.X1, box.X2));
            return images;
        }
        using var src = images.ContiguousNoGrad();
        var mixed = Tensor.Empty(images.ShapeSpan, images.DType, images.Device, op: op);
        FusedOps.CutMixImages.Run(images.Backend, new(mixed.View(op), src.View(op), partner.View(op), box.Y1, box.Y2, box.X1, box.X2));
        return mixed;
    }

    private static Tensor MixImagesByViews(Tensor images, CutMixBox box, Tensor partner, bool inPlace)
    {
        var mixed = inPlace ? images : images.CloneNoGrad();
        if (box.Y2 > box.Y1 && box.X2 > box.X1)
        {
            // Each Narrow is a view holding a reference to the storage: dispose the intermediate ones too. index_select
            // makes a copy, so in place the partners' boxes are read before any is overwritten.
            using var rows = images.Narrow(2, box.Y1, box.Y2 - box.Y1);
            using var region = rows.Narrow(3, box.X1, box.X2 - box.X1);
            using var pasted = region.IndexSelect(0, partner);
            using var targetRows = mixed.Narrow(2, box.Y1, box.Y2 - box.Y1);
            using var target = targetRows.Narrow(3, box.X1, box.X2 - box.X1);
            target.CopyFromUnchecked(pasted);
        }
        return mixed;
    }

    private static Tensor MixLabels(string op, Tensor labels, int numClasses, CutMixBox box)
    {
        using var _ = Tensor.NoGrad();
        using var y = labels.ContiguousNoGrad();
        using var partner = PartnerOn(labels.Device, box);
        var soft = Tensor.Empty([labels.Size(0), numClasses], DType.Float32, labels.Device, op: op);
        FusedOps.CutMixLabels.Run(labels.Backend, new(soft.View(op), y.View(op), partner.View(op), box.Lambda));
        return soft;
    }
}
