namespace Engine.Nn.Data;

/// <summary>Deterministic geometric operations on an <see cref="ImageBuffer"/>, shared by the random transforms.</summary>
public static class Geometry
{
    /// <summary>
    /// torchvision's <c>F.affine</c>: rotates by <paramref name="angle"/> degrees (clockwise on screen), shears by
    /// <paramref name="shearX"/>, <paramref name="shearY"/> degrees, scales and translates by (<paramref name="tx"/>,
    /// <paramref name="ty"/>) pixels, about <paramref name="center"/> in pixel coordinates (default: the image centre).
    /// The output keeps the size; uncovered pixels get <paramref name="fill"/>.
    /// </summary>
    public static void Affine(ImageBuffer image, double angle, double tx, double ty, double scale, double shearX, double shearY,
        Interpolation interpolation = Interpolation.Nearest, float fill = 0, (double X, double Y)? center = null)
    {
        if (!(scale > 0)) throw new ArgumentValueException("affine", $"scale must be positive, got {scale}");
        double cx = 0, cy = 0;
        if (center is { } c) (cx, cy) = (c.X - image.Width * 0.5, c.Y - image.Height * 0.5);
        var m = ImageOps.InverseAffine(cx, cy, angle, tx, ty, scale, shearX, shearY);
        if (ImageOps.IsIdentity(m)) return;
        var dst = image.Target(image.Channels, image.Height, image.Width);
        ImageOps.WarpAffine(image.Pixels, image.Channels, image.Height, image.Width, m, interpolation, fill, dst);
        image.Commit();
    }

    /// <summary>torchvision's <c>F.rotate</c> (same size): rotates by <paramref name="angle"/> degrees counter-clockwise about the centre.</summary>
    public static void Rotate(ImageBuffer image, double angle, Interpolation interpolation = Interpolation.Nearest, float fill = 0) =>
        Affine(image, -angle, 0, 0, 1, 0, 0, interpolation, fill);

    /// <summary>
    /// torchvision's <c>F.perspective</c>: maps the four corners <paramref name="start"/> (top-left, top-right,
    /// bottom-right, bottom-left, in pixels) to <paramref name="end"/>.
    /// </summary>
    public static void Perspective(ImageBuffer image, ReadOnlySpan<(double X, double Y)> start, ReadOnlySpan<(double X, double Y)> end,
        Interpolation interpolation = Interpolation.Bilinear, float fill = 0)
    {
        if (start.Length != 4 || end.Length != 4) throw new ArgumentValueException("perspective", "expected 4 start and 4 end points");
        var k = ImageOps.PerspectiveCoefficients(start, end);
        var dst = image.Target(image.Channels, image.Height, image.Width);
        ImageOps.WarpPerspective(image.Pixels, image.Channels, image.Height, image.Width, k, interpolation, fill, dst);
        image.Commit();
    }
}
