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
    /// share of the image not covered by the (clipped) box. Returns new tensors; the inputs are untouched.
    /// </summary>
    public static (Tensor Images, Tensor Labels, CutMixBox Box) CutMix(Tensor images, Tensor labels, int numClasses, double alpha = 1.0, Generator? generator = null)
    {
        const string op = "cutmix";
        images.StorageOf(op); labels.StorageOf(op);
        Checks.SameDevice(op, images, labels);
        if (images.Rank != 4) throw new ShapeException(op, $"expected images of shape (N, C, H, W), got {ShapeUtil.Format(images.ShapeSpan)}");
        Checks.IsDType(op, labels, DType.Int64, "labels");
        if (labels.Rank != 1 || labels.Size(0) != images.Size(0))
            throw new ShapeException(op, $"labels must have shape [{images.Size(0)}], got {ShapeUtil.Format(labels.ShapeSpan)}");
        if (numClasses < 1) throw new ArgumentValueException(op, $"number of classes must be positive, got {numClasses}");
        foreach (var v in labels.ToArray<long>())
            if (v < 0 || v >= numClasses) throw new IndexException(op, $"label {v} is out of range for {numClasses} classes");
        var box = CutMixBox.Sample((int)images.Size(0), (int)images.Size(2), (int)images.Size(3), alpha, generator ?? Generator.Default);
        return (CutMixImages(images, box), CutMixLabels(labels, numClasses, box), box);
    }

    /// <summary>The images with <paramref name="box"/> pasted from each partner (out of place).</summary>
    public static Tensor CutMixImages(Tensor images, CutMixBox box)
    {
        using var _ = Tensor.NoGrad();
        var mixed = images.CloneNoGrad();
        if (box.Y2 > box.Y1 && box.X2 > box.X1)
        {
            using var idx = Tensor.FromArray(box.Partner).To(images.Device);
            // Each Narrow is a view holding a reference to the storage: dispose the intermediate ones too.
            using var rows = images.Narrow(2, box.Y1, box.Y2 - box.Y1);
            using var region = rows.Narrow(3, box.X1, box.X2 - box.X1);
            using var pasted = region.IndexSelect(0, idx);
            using var targetRows = mixed.Narrow(2, box.Y1, box.Y2 - box.Y1);
            using var target = targetRows.Narrow(3, box.X1, box.X2 - box.X1);
            target.CopyFromUnchecked(pasted);
        }
        return mixed;
    }

    /// <summary>The soft labels λ·onehot(y) + (1 − λ)·onehot(y_partner), float32 [N, classes].</summary>
    public static Tensor CutMixLabels(Tensor labels, int numClasses, CutMixBox box)
    {
        using var _ = Tensor.NoGrad();
        using var idx = Tensor.FromArray(box.Partner).To(labels.Device);
        using var own = labels.OneHot(numClasses);
        using var partnerLabels = labels.IndexSelect(0, idx);
        using var other = partnerLabels.OneHot(numClasses);
        using var a = own.To(DType.Float32);
        using var b = other.To(DType.Float32);
        using var sa = a.Mul(box.Lambda);
        using var sb = b.Mul(1 - box.Lambda);
        return sa.Add(sb);
    }
}
