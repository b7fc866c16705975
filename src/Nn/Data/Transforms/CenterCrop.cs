namespace Engine.Nn.Data;

/// <summary>Crops the central <see cref="Height"/> × <see cref="Width"/> window (padding with zeros if the image is smaller).</summary>
public sealed class CenterCrop : Transform
{
    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <summary>A centre crop of <paramref name="height"/> × <paramref name="width"/> (width = height when omitted).</summary>
    public CenterCrop(int height, int? width = null)
    {
        if (height <= 0 || width <= 0) throw new ArgumentValueException("center_crop", $"size must be positive, got {height}x{width}");
        (Height, Width) = (height, width ?? height);
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        if (image.Height == Height && image.Width == Width) return;
        // torchvision: top = round((H - h) / 2).
        int top = (int)Math.Round((image.Height - Height) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((image.Width - Width) / 2.0, MidpointRounding.ToEven);
        var dst = image.Target(image.Channels, Height, Width);
        bool bytes = image.TryGetBytes(out var src8);
        ImageOps.CropPadded(bytes ? default : image.Pixels, src8, image.Channels, image.Height, image.Width, top, left, Height, Width, 0, dst);
        image.Commit();
    }

    /// <inheritdoc/>
    public override string ToString() => $"CenterCrop({Height}x{Width})";
}
