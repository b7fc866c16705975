namespace Engine.Nn.Data;

/// <summary>
/// Resizes to <see cref="Height"/> × <see cref="Width"/> with bilinear interpolation (<c>align_corners=False</c>,
/// no antialiasing), or, given only a size, resizes the shorter side to it keeping the aspect ratio (torchvision's
/// <c>Resize(int)</c>).
/// </summary>
public sealed class Resize : Transform
{
    /// <summary>Output height, or 0 when only the shorter side is set.</summary>
    public int Height { get; }

    /// <summary>Output width, or 0 when only the shorter side is set.</summary>
    public int Width { get; }

    /// <summary>The shorter side's target, when <see cref="Height"/> and <see cref="Width"/> are 0.</summary>
    public int ShorterSide { get; }

    /// <summary>Resizes to exactly <paramref name="height"/> × <paramref name="width"/>.</summary>
    public Resize(int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentValueException("resize", $"size must be positive, got {height}x{width}");
        (Height, Width) = (height, width);
    }

    /// <summary>Resizes the shorter side to <paramref name="shorterSide"/>, keeping the aspect ratio.</summary>
    public Resize(int shorterSide)
    {
        if (shorterSide <= 0) throw new ArgumentValueException("resize", $"size must be positive, got {shorterSide}");
        ShorterSide = shorterSide;
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        int h = Height, w = Width;
        if (ShorterSide > 0)
        {
            if (image.Height <= image.Width) { h = ShorterSide; w = (int)((long)ShorterSide * image.Width / image.Height); }
            else { w = ShorterSide; h = (int)((long)ShorterSide * image.Height / image.Width); }
        }
        if (h == image.Height && w == image.Width) return;
        var dst = image.Target(image.Channels, h, w);
        bool bytes = image.TryGetBytes(out var src8);
        ImageOps.ResizeBilinear(bytes ? default : image.Pixels, src8, image.Channels, image.Height, image.Width, 0, 0, image.Height, image.Width, dst, h, w);
        image.Commit();
    }

    /// <inheritdoc/>
    public override string ToString() => ShorterSide > 0 ? $"Resize(shorter={ShorterSide})" : $"Resize({Height}x{Width})";
}
