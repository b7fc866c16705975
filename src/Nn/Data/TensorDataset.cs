namespace Engine.Nn.Data;

/// <summary>
/// A dataset held in memory: images [N, C, H, W] (float32 kept as is; uint8 read as value / 255, like
/// torchvision's <c>ToTensor</c>) and int64 labels [N]. The values are copied in at construction, so the
/// tensors passed in stay the caller's and reads are thread-safe.
/// </summary>
public sealed class TensorDataset : IDataset
{
    private readonly float[]? _floats;
    private readonly byte[]? _bytes;
    private readonly long[] _labels;

    /// <summary>Channels, height and width of every image.</summary>
    public (int Channels, int Height, int Width) ImageShape { get; }

    /// <inheritdoc/>
    public int Count { get; }

    /// <summary>Copies <paramref name="images"/> [N, C, H, W] and <paramref name="labels"/> [N] (int64).</summary>
    public TensorDataset(Tensor images, Tensor labels)
    {
        const string op = "tensor_dataset";
        if (images.Rank != 4) throw new ShapeException(op, $"expected images of shape (N, C, H, W), got {images.Describe()}");
        if (labels.DType != DType.Int64) throw new DTypeException(op, $"expected int64 labels, got {labels.Describe()}");
        if (labels.Rank != 1 || labels.Size(0) != images.Size(0))
            throw new ShapeException(op, $"labels must have shape [{images.Size(0)}], got {labels.Describe()}");
        var s = images.Shape;
        if (s[1] * s[2] * s[3] > int.MaxValue) throw new ShapeException(op, $"images too large: {images.Describe()}");
        ImageShape = ((int)s[1], (int)s[2], (int)s[3]);
        Count = checked((int)s[0]);
        _labels = labels.ToArray<long>();
        switch (images.DType)
        {
            case DType.UInt8: _bytes = images.ToArray<byte>(); break;
            case DType.Float32: _floats = images.ToArray<float>(); break;
            case DType.Float64:
                using (var f = images.To(DType.Float32)) _floats = f.ToArray<float>();
                break;
            default: throw new DTypeException(op, $"expected float32, float64 or uint8 images, got {images.Describe()}");
        }
    }

    private int ImageSize => ImageShape.Channels * ImageShape.Height * ImageShape.Width;

    private void Check(int index)
    {
        if ((uint)index >= (uint)Count) throw new IndexException("tensor_dataset", $"index {index} is out of range for {Count} samples");
    }

    /// <inheritdoc/>
    public Sample Get(int index)
    {
        var buffer = new ImageBuffer();
        long label = ReadInto(index, buffer);
        return new Sample(buffer.ToTensor(), label);
    }

    /// <inheritdoc/>
    public long LabelOf(int index)
    {
        Check(index);
        return _labels[index];
    }

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image)
    {
        Check(index);
        var (c, h, w) = ImageShape;
        int n = ImageSize;
        if (_bytes is not null) image.SetBytes(_bytes.AsMemory(index * n, n), c, h, w);
        else image.CopyFrom(_floats.AsSpan(index * n, n), c, h, w);
        return _labels[index];
    }
}
