namespace Engine.Nn.Data;

/// <summary>
/// torchvision's <c>ColorJitter</c> without hue, for images in [0, 1]: brightness, contrast and saturation
/// factors drawn uniformly from [max(0, 1 − v), 1 + v] and applied in a random order, each a blend clamped to
/// [0, 1] (brightness with black, contrast with the mean grey level, saturation with the grey image). Saturation
/// does nothing to a one-channel image. On a clip every frame gets the same order and factors (one draw per clip);
/// contrast blends each frame with its own mean grey level, as torchvision does for a video tensor.
/// </summary>
public sealed class ColorJitter : Transform
{
    /// <summary>Brightness strength.</summary>
    public double Brightness { get; }

    /// <summary>Contrast strength.</summary>
    public double Contrast { get; }

    /// <summary>Saturation strength.</summary>
    public double Saturation { get; }

    /// <summary>Creates the transform (0 turns a part off).</summary>
    public ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0)
    {
        if (!(brightness >= 0 && contrast >= 0 && saturation >= 0))
            throw new ArgumentValueException("color_jitter", $"strengths must be non-negative, got ({brightness}, {contrast}, {saturation})");
        (Brightness, Contrast, Saturation) = (brightness, contrast, saturation);
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        // The order first, then the factors, as torchvision's get_params.
        Span<int> order = [0, 1, 2];
        for (int i = 2; i > 0; i--)
        {
            int j = generator.Int(0, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        double b = Factor(Brightness, generator), c = Factor(Contrast, generator), s = Factor(Saturation, generator);
        for (int t = 0; t < image.Frames; t++)
        {
            var px = image.Frame(t);
            foreach (int op in order)
            {
                switch (op)
                {
                    case 0 when Brightness > 0: ImageOps.AdjustBrightness(px, (float)b); break;
                    case 1 when Contrast > 0: ImageOps.AdjustContrast(px, image.FrameChannels, image.PlaneSize, (float)c); break;
                    case 2 when Saturation > 0: ImageOps.AdjustSaturation(px, image.FrameChannels, image.PlaneSize, (float)s); break;
                }
            }
        }
    }

    private static double Factor(double v, Generator g) => v > 0 ? g.Uniform(Math.Max(0, 1 - v), 1 + v) : 1;

    /// <inheritdoc/>
    public override string ToString() => $"ColorJitter(brightness={Brightness}, contrast={Contrast}, saturation={Saturation})";
}
