namespace Engine.Nn.Data;

/// <summary>
/// The result of a mixing batch transform: the mixed images [N, C, H, W], soft labels [N, classes] (float32,
/// each row sums to 1), the mixing weight λ of each image's own label, and the partner permutation.
/// </summary>
/// <param name="Images">The mixed images (new tensor).</param>
/// <param name="SoftLabels">λ·onehot(y) + (1 − λ)·onehot(y[partner]) (new tensor).</param>
/// <param name="Lambda">The weight of each image's own label.</param>
/// <param name="Partner">Image i is mixed with image Partner[i].</param>
public sealed record MixResult(Tensor Images, Tensor SoftLabels, double Lambda, long[] Partner) : IDisposable
{
    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        SoftLabels.Dispose();
    }
}

/// <summary>
/// A transform of a whole batch (images [N, C, H, W] float32, labels [N] int64) into mixed images and soft labels,
/// run after collation. It works with tensor ops, so it runs on whatever device the batch is on (CutMix through
/// the GPU kernel once there is one). The <see cref="DataLoader"/> seeds its generator from (seed, epoch, batch).
/// </summary>
public abstract class BatchTransform
{
    /// <summary>Number of classes of the soft labels.</summary>
    public int NumClasses { get; }

    /// <summary>Sets the number of classes.</summary>
    protected BatchTransform(int numClasses)
    {
        if (numClasses < 1) throw new ArgumentValueException("batch_transform", $"number of classes must be positive, got {numClasses}");
        NumClasses = numClasses;
    }

    /// <summary>Mixes the batch; the inputs are untouched and stay the caller's.</summary>
    public abstract MixResult Apply(Tensor images, Tensor labels, Generator generator);

    /// <summary>λ·onehot(labels) + (1 − λ)·onehot(labels[partner]) as float32 [N, classes].</summary>
    protected Tensor SoftLabels(Tensor labels, long[] partner, double lambda)
    {
        using var _ = Tensor.NoGrad();
        using var host = Tensor.FromArray(partner);
        using var idx = host.To(labels.Device);
        using var own = labels.OneHot(NumClasses);
        using var other = labels.IndexSelect(0, idx);
        using var otherHot = other.OneHot(NumClasses);
        using var a = own.To(DType.Float32);
        using var b = otherHot.To(DType.Float32);
        using var sa = a.Mul(lambda);
        using var sb = b.Mul(1 - lambda);
        return sa.Add(sb);
    }

    /// <summary>Checks the shapes and dtypes of a batch.</summary>
    protected void CheckBatch(string op, Tensor images, Tensor labels)
    {
        if (images.Rank != 4) throw new ShapeException(op, $"expected images of shape (N, C, H, W), got {images.Describe()}");
        if (labels.DType != DType.Int64 || labels.Rank != 1 || labels.Size(0) != images.Size(0))
            throw new ShapeException(op, $"expected int64 labels of shape [{images.Size(0)}], got {labels.Describe()}");
        foreach (var v in labels.ToArray<long>())
            if (v < 0 || v >= NumClasses) throw new IndexException(op, $"label {v} is out of range for {NumClasses} classes");
    }
}

/// <summary>
/// MixUp (Zhang et al., 2018): λ ~ Beta(α, α), a random partner permutation, x ← λ·x + (1 − λ)·x[partner], and
/// soft labels λ·onehot(y) + (1 − λ)·onehot(y[partner]).
/// </summary>
public sealed class MixUp : BatchTransform
{
    /// <summary>The Beta distribution's parameter α.</summary>
    public double Alpha { get; }

    /// <summary>MixUp with parameter <paramref name="alpha"/> (0.2 is common for ImageNet-style training).</summary>
    public MixUp(int numClasses, double alpha = 0.2) : base(numClasses)
    {
        if (!(alpha > 0)) throw new ArgumentValueException("mixup", $"alpha must be positive, got {alpha}");
        Alpha = alpha;
    }

    /// <inheritdoc/>
    public override MixResult Apply(Tensor images, Tensor labels, Generator generator)
    {
        CheckBatch("mixup", images, labels);
        double lam = generator.NextBeta(Alpha, Alpha);
        var partner = generator.Permutation(images.Size(0));
        using var _ = Tensor.NoGrad();
        using var host = Tensor.FromArray(partner);
        using var idx = host.To(images.Device);
        using var shuffled = images.IndexSelect(0, idx);
        using var a = images.Mul(lam);
        using var b = shuffled.Mul(1 - lam);
        var mixed = a.Add(b);
        return new MixResult(mixed, SoftLabels(labels, partner, lam), lam, partner);
    }

    /// <inheritdoc/>
    public override string ToString() => $"MixUp(alpha={Alpha})";
}

/// <summary>
/// CutMix (Yun et al., 2019) through <see cref="Functional.CutMix"/>: a box from a partner image is pasted in,
/// and λ is the share of the image left its own.
/// </summary>
public sealed class CutMix : BatchTransform
{
    /// <summary>The Beta distribution's parameter α.</summary>
    public double Alpha { get; }

    /// <summary>CutMix with parameter <paramref name="alpha"/>.</summary>
    public CutMix(int numClasses, double alpha = 1.0) : base(numClasses)
    {
        if (!(alpha > 0)) throw new ArgumentValueException("cutmix", $"alpha must be positive, got {alpha}");
        Alpha = alpha;
    }

    /// <inheritdoc/>
    public override MixResult Apply(Tensor images, Tensor labels, Generator generator)
    {
        var (mixed, soft, box) = Functional.CutMix(images, labels, NumClasses, Alpha, generator);
        return new MixResult(mixed, soft, box.Lambda, box.Partner);
    }

    /// <inheritdoc/>
    public override string ToString() => $"CutMix(alpha={Alpha})";
}
