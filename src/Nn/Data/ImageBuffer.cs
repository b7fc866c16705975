namespace Engine.Nn.Data;

/// <summary>
/// A reusable float image, channels × height × width, row-major planes: what the per-sample transforms work on.
/// Each <see cref="DataLoader"/> worker keeps one and reuses it for every sample, so augmentation allocates
/// nothing per image. Transforms that change the geometry write into a second, internal buffer
/// (<see cref="Target"/>) and swap it in (<see cref="Commit"/>).
/// <para>
/// An 8-bit image can be referenced without conversion (<see cref="SetBytes"/>): the crop and resize transforms
/// then read the bytes directly, which saves converting (and moving) a whole large image to float when only a
/// crop of it is kept; anything else converts it on first access to <see cref="Pixels"/>. Both ways give the
/// same values, bit for bit (value / 255 as float).
/// </para>
/// <para>
/// A video clip of T frames of C channels is held frame after frame, [T, C, H, W] (<see cref="ResizeClip"/>):
/// <see cref="Channels"/> then counts all T·C planes, <see cref="Frames"/> is T and <see cref="FrameChannels"/> C.
/// Every per-plane transform (crop, flip, resize, rotation, erasing) therefore applies its one draw to every frame
/// alike; the colour transforms work frame by frame with the same factors. <see cref="ToTensor"/> and the
/// <see cref="DataLoader"/> deliver clips as [C, T, H, W] (and batches [N, C, T, H, W]), the layout of 3-D convolutions.
/// </para>
/// </summary>
public sealed class ImageBuffer
{
    private float[] _data;
    private float[] _scratch = [];
    private int _pc, _ph, _pw;
    private ReadOnlyMemory<byte> _bytes;
    private bool _hasBytes;

    /// <summary>Number of planes: the channels of an image, or frames × channels of a clip.</summary>
    public int Channels { get; private set; }

    /// <summary>Frames of a clip (1 for an image); the planes are [T, C] ordered.</summary>
    public int Frames { get; private set; } = 1;

    /// <summary>Channels of each frame, <see cref="Channels"/> / <see cref="Frames"/> (the channels of an image).</summary>
    public int FrameChannels => Channels / Frames;

    /// <summary>Values in one frame, <see cref="FrameChannels"/> × <see cref="Height"/> × <see cref="Width"/>.</summary>
    public int FrameLength => FrameChannels * PlaneSize;

    /// <summary>Height in pixels.</summary>
    public int Height { get; private set; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; private set; }

    /// <summary>Number of values, <see cref="Channels"/> × <see cref="Height"/> × <see cref="Width"/>.</summary>
    public int Length => Channels * Height * Width;

    /// <summary>Pixels in a plane, <see cref="Height"/> × <see cref="Width"/>.</summary>
    public int PlaneSize => Height * Width;

    /// <summary>An image of the given size (contents zero).</summary>
    public ImageBuffer(int channels, int height, int width)
    {
        CheckSize(channels, height, width);
        _data = new float[channels * height * width];
        (Channels, Height, Width) = (channels, height, width);
    }

    /// <summary>An empty image, sized by the first write.</summary>
    public ImageBuffer() => _data = [];

    /// <summary>The values, [C, H, W] row-major (converting referenced bytes first, see <see cref="SetBytes"/>).</summary>
    public Span<float> Pixels
    {
        get
        {
            if (_hasBytes) Materialize();
            return _data.AsSpan(0, Length);
        }
    }

    /// <summary>Plane <paramref name="channel"/>, [H, W] row-major.</summary>
    public Span<float> Plane(int channel) => Pixels.Slice(channel * PlaneSize, PlaneSize);

    /// <summary>Frame <paramref name="frame"/> of a clip, [C, H, W] row-major (the whole image when <see cref="Frames"/> is 1).</summary>
    public Span<float> Frame(int frame) => Pixels.Slice(frame * FrameLength, FrameLength);

    /// <summary>
    /// The 8-bit values the image still refers to (set by <see cref="SetBytes"/> and not yet converted), for
    /// transforms that can read them directly; false once the image is floats.
    /// </summary>
    public bool TryGetBytes(out ReadOnlySpan<byte> bytes)
    {
        bytes = _hasBytes ? _bytes.Span : default;
        return _hasBytes;
    }

    /// <summary>
    /// Makes the image <paramref name="values"/> / 255 ([C, H, W] row-major) without copying them: they are
    /// read (and converted to float only if needed) by the transforms that follow, so they must not change
    /// until the image is next set.
    /// </summary>
    public void SetBytes(ReadOnlyMemory<byte> values, int channels, int height, int width)
    {
        CheckSize(channels, height, width);
        if (values.Length != channels * height * width)
            throw new ShapeException("image", $"{values.Length} values do not fill an image of {channels}x{height}x{width}");
        (Channels, Height, Width, Frames) = (channels, height, width, 1);
        _bytes = values;
        _hasBytes = true;
    }

    private void Materialize()
    {
        int n = Length;
        if (_data.Length < n) _data = new float[n];
        ImageOps.BytesToUnit(_bytes.Span, _data.AsSpan(0, n));
        _hasBytes = false;
        _bytes = default;
    }

    /// <summary>Resizes to the given geometry (an image); the values are unspecified afterwards (reuses memory when it fits).</summary>
    public void Resize(int channels, int height, int width)
    {
        CheckSize(channels, height, width);
        int n = channels * height * width;
        if (_data.Length < n) _data = new float[n];
        (Channels, Height, Width, Frames) = (channels, height, width, 1);
        _hasBytes = false;
        _bytes = default;
    }

    /// <summary>
    /// Makes the buffer a clip of <paramref name="frames"/> frames of <paramref name="channels"/> × <paramref name="height"/>
    /// × <paramref name="width"/>, held [T, C, H, W]; the values are unspecified afterwards.
    /// </summary>
    public void ResizeClip(int frames, int channels, int height, int width)
    {
        if (frames <= 0 || channels <= 0 || (long)frames * channels > int.MaxValue)
            throw new ShapeException("image", $"invalid clip size {frames} frames of {channels} channels");
        Resize(frames * channels, height, width);
        Frames = frames;
    }

    /// <summary>
    /// A second buffer of the given geometry to write a transformed image into while <see cref="Pixels"/> is still
    /// readable; <see cref="Commit"/> makes it the image.
    /// </summary>
    public Span<float> Target(int channels, int height, int width)
    {
        CheckSize(channels, height, width);
        int n = channels * height * width;
        if (_scratch.Length < n) _scratch = new float[n];
        (_pc, _ph, _pw) = (channels, height, width);
        return _scratch.AsSpan(0, n);
    }

    /// <summary>Makes the buffer last returned by <see cref="Target"/> the image.</summary>
    public void Commit()
    {
        (_data, _scratch) = (_scratch, _data);
        (Channels, Height, Width) = (_pc, _ph, _pw);
        _hasBytes = false;
        _bytes = default;
    }

    /// <summary>Copies <paramref name="values"/> ([C, H, W] row-major) in, resizing the image.</summary>
    public void CopyFrom(ReadOnlySpan<float> values, int channels, int height, int width)
    {
        Resize(channels, height, width);
        if (values.Length != Length)
            throw new ShapeException("image", $"{values.Length} values do not fill an image of {channels}x{height}x{width}");
        values.CopyTo(Pixels);
    }

    /// <summary>Copies 8-bit pixels in, scaled to [0, 1] (value / 255), resizing the image.</summary>
    public void CopyFromBytes(ReadOnlySpan<byte> values, int channels, int height, int width)
    {
        Resize(channels, height, width);
        if (values.Length != Length)
            throw new ShapeException("image", $"{values.Length} values do not fill an image of {channels}x{height}x{width}");
        ImageOps.BytesToUnit(values, Pixels);
    }

    /// <summary>
    /// Copies a float [C, H, W] image or [C, T, H, W] clip tensor in (float32, float64, or uint8 read as value / 255;
    /// any layout), resizing the buffer.
    /// </summary>
    public void CopyFrom(Tensor image)
    {
        if (image.Rank == 4)
        {
            // A clip [C, T, H, W]: the buffer holds it frame after frame.
            using var frames = image.Permute([1, 0, 2, 3]).Contiguous();
            var tc = frames.Shape;
            using var planes = frames.Reshape([tc[0] * tc[1], tc[2], tc[3]]);
            CopyFrom(planes);
            Frames = (int)tc[0];
            return;
        }
        if (image.Rank != 3) throw new ShapeException("image", $"expected an image of shape (C, H, W) or a clip of shape (C, T, H, W), got {image.Describe()}");
        if (image.DType is not (DType.Float32 or DType.Float64 or DType.UInt8))
            throw new DTypeException("image", $"expected a float32, float64 or uint8 image, got {image.Describe()}");
        var s = image.Shape;
        if (image.DType == DType.UInt8)
        {
            CopyFromBytes(image.ToArray<byte>(), (int)s[0], (int)s[1], (int)s[2]);
            return;
        }
        if (image.DType == DType.Float32)
        {
            CopyFrom(image.ToArray<float>(), (int)s[0], (int)s[1], (int)s[2]);
            return;
        }
        using var f = image.To(DType.Float32);
        CopyFrom(f.ToArray<float>(), (int)s[0], (int)s[1], (int)s[2]);
    }

    /// <summary>A new float32 tensor holding a copy of the image, [C, H, W], or of the clip, [C, T, H, W].</summary>
    public Tensor ToTensor()
    {
        if (Frames == 1) return Tensor.FromSpan<float>(Pixels, [Channels, Height, Width]);
        var chw = new float[Length];
        CopyClipTo(chw);
        return Tensor.FromArray(chw, [FrameChannels, Frames, Height, Width]);
    }

    /// <summary>Writes the clip as [C, T, H, W] (the image as [C, H, W]) to <paramref name="destination"/>, which holds <see cref="Length"/> values.</summary>
    public void CopyClipTo(Span<float> destination)
    {
        var px = Pixels;
        if (Frames == 1)
        {
            px.CopyTo(destination);
            return;
        }
        int plane = PlaneSize, c = FrameChannels;
        for (int t = 0; t < Frames; t++)
            for (int k = 0; k < c; k++)
                px.Slice((t * c + k) * plane, plane).CopyTo(destination.Slice((k * Frames + t) * plane, plane));
    }

    private static void CheckSize(int c, int h, int w)
    {
        if (c <= 0 || h <= 0 || w <= 0 || (long)c * h * w > Array.MaxLength)
            throw new ShapeException("image", $"invalid image size {c}x{h}x{w}");
    }
}
