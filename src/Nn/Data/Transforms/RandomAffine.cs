namespace Engine.Nn.Data;

/// <summary>
/// torchvision's <c>RandomAffine</c>: a random rotation in ±<see cref="Degrees"/>, translation by up to
/// <see cref="Translate"/> × the image size (rounded to whole pixels), scale in <see cref="Scale"/>, and shear
/// in ±<see cref="ShearX"/> and ±<see cref="ShearY"/> degrees, about the image centre.
/// </summary>
public sealed class RandomAffine : Transform
{
    /// <summary>Rotation range ±degrees.</summary>
    public double Degrees { get; }

    /// <summary>Largest translation as fractions of width and height.</summary>
    public (double X, double Y) Translate { get; }

    /// <summary>Scale range.</summary>
    public (double Min, double Max) Scale { get; }

    /// <summary>Shear range along x, ±degrees.</summary>
    public double ShearX { get; }

    /// <summary>Shear range along y, ±degrees.</summary>
    public double ShearY { get; }

    /// <summary>Sampling of the source.</summary>
    public Interpolation Interpolation { get; }

    /// <summary>Value of uncovered pixels.</summary>
    public float Fill { get; }

    /// <summary>Creates the transform; every part defaults to "none".</summary>
    public RandomAffine(double degrees = 0, (double X, double Y)? translate = null, (double Min, double Max)? scale = null,
        double shearX = 0, double shearY = 0, Interpolation interpolation = Interpolation.Nearest, float fill = 0)
    {
        const string op = "random_affine";
        Degrees = Math.Abs(degrees);
        Translate = translate ?? (0, 0);
        if (!(Translate.X is >= 0 and <= 1) || !(Translate.Y is >= 0 and <= 1))
            throw new ArgumentValueException(op, $"translate fractions must lie in [0, 1], got {Translate}");
        Scale = scale ?? (1, 1);
        Draw.CheckRange(op, "scale", Scale.Min, Scale.Max);
        if (!(Scale.Min > 0)) throw new ArgumentValueException(op, $"scale must be positive, got {Scale}");
        (ShearX, ShearY, Interpolation, Fill) = (Math.Abs(shearX), Math.Abs(shearY), interpolation, fill);
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        double angle = generator.Uniform(-Degrees, Degrees);
        double maxDx = Translate.X * image.Width, maxDy = Translate.Y * image.Height;
        double tx = Math.Round(generator.Uniform(-maxDx, maxDx)), ty = Math.Round(generator.Uniform(-maxDy, maxDy));
        double scale = generator.Uniform(Scale.Min, Scale.Max);
        double sx = generator.Uniform(-ShearX, ShearX), sy = generator.Uniform(-ShearY, ShearY);
        Geometry.Affine(image, angle, tx, ty, scale, sx, sy, Interpolation, Fill);
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomAffine(degrees={Degrees}, translate={Translate}, scale={Scale}, shear=({ShearX}, {ShearY}))";
}
