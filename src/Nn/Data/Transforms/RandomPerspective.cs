namespace Engine.Nn.Data;

/// <summary>
/// torchvision's <c>RandomPerspective</c>: with probability <see cref="P"/>, moves each corner inwards by up to
/// <see cref="DistortionScale"/> × half the image size and warps the image accordingly.
/// </summary>
public sealed class RandomPerspective : Transform
{
    /// <summary>How far corners may move, as a fraction of half the width/height (0 … 1).</summary>
    public double DistortionScale { get; }

    /// <summary>Probability of applying.</summary>
    public double P { get; }

    /// <summary>Sampling of the source.</summary>
    public Interpolation Interpolation { get; }

    /// <summary>Value of uncovered pixels.</summary>
    public float Fill { get; }

    /// <summary>Creates the transform.</summary>
    public RandomPerspective(double distortionScale = 0.5, double p = 0.5, Interpolation interpolation = Interpolation.Bilinear, float fill = 0)
    {
        if (!(distortionScale is >= 0 and <= 1)) throw new ArgumentValueException("random_perspective", $"distortion scale must lie in [0, 1], got {distortionScale}");
        Draw.CheckProbability("random_perspective", p);
        (DistortionScale, P, Interpolation, Fill) = (distortionScale, p, interpolation, fill);
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        if (!generator.Chance(P)) return;
        int w = image.Width, h = image.Height;
        int dx = (int)(DistortionScale * (w / 2)), dy = (int)(DistortionScale * (h / 2));
        Span<(double X, double Y)> start = [(0, 0), (w - 1, 0), (w - 1, h - 1), (0, h - 1)];
        Span<(double X, double Y)> end =
        [
            (generator.Int(0, dx + 1), generator.Int(0, dy + 1)),
            (generator.Int(w - dx - 1, w), generator.Int(0, dy + 1)),
            (generator.Int(w - dx - 1, w), generator.Int(h - dy - 1, h)),
            (generator.Int(0, dx + 1), generator.Int(h - dy - 1, h)),
        ];
        Geometry.Perspective(image, start, end, Interpolation, Fill);
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomPerspective(distortion={DistortionScale}, p={P})";
}
