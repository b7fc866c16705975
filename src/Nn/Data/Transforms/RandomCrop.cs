namespace Engine.Nn.Data;

/// <summary>
/// Pads the image by <see cref="Padding"/> pixels on every side with <see cref="Fill"/>, then crops a random
/// <see cref="Height"/> × <see cref="Width"/> window (torchvision's <c>RandomCrop</c> with constant padding).
/// With the output the size of the input, this shifts the content by up to ±padding pixels.
/// </summary>
public sealed class RandomCrop : Transform
{
    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <summary>Padding on each side.</summary>
    public int Padding { get; }

    /// <summary>Value of padded pixels.</summary>
    public float Fill { get; }

    /// <summary>A crop of <paramref name="height"/> × <paramref name="width"/> (width = height when omitted).</summary>
    public RandomCrop(int height, int? width = null, int padding = 0, float fill = 0)
    {
        if (height <= 0 || width <= 0) throw new ArgumentValueException("random_crop", $"size must be positive, got {height}x{width}");
        if (padding < 0) throw new ArgumentValueException("random_crop", $"padding must be non-negative, got {padding}");
        (Height, Width, Padding, Fill) = (height, width ?? height, padding, fill);
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        int ph = image.Height + 2 * Padding, pw = image.Width + 2 * Padding;
        if (ph < Height || pw < Width)
            throw new ShapeException("random_crop", $"crop {Height}x{Width} is larger than the padded image {ph}x{pw}");
        int top = generator.Int(0, ph - Height + 1) - Padding;
        int left = generator.Int(0, pw - Width + 1) - Padding;
        var dst = image.Target(image.Channels, Height, Width);
        bool bytes = image.TryGetBytes(out var src8);
        ImageOps.CropPadded(bytes ? default : image.Pixels, src8, image.Channels, image.Height, image.Width, top, left, Height, Width, Fill, dst);
        image.Commit();
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomCrop({Height}x{Width}, padding={Padding})";
}
