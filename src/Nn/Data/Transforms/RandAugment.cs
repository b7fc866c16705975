namespace Engine.Nn.Data;

/// <summary>The 14 operations of RandAugment, in torchvision's order.</summary>
public enum RandAugmentOp
{
    /// <summary>No change.</summary>
    Identity,
    /// <summary>Shear along x by atan(m) (m up to 0.3), about the top-left corner.</summary>
    ShearX,
    /// <summary>Shear along y by atan(m) (m up to 0.3), about the top-left corner.</summary>
    ShearY,
    /// <summary>Translate along x by up to 150/331 of the width.</summary>
    TranslateX,
    /// <summary>Translate along y by up to 150/331 of the height.</summary>
    TranslateY,
    /// <summary>Rotate by up to 30 degrees.</summary>
    Rotate,
    /// <summary>Brightness factor 1 + m, m up to 0.9.</summary>
    Brightness,
    /// <summary>Saturation factor 1 + m, m up to 0.9 (none on grey images).</summary>
    Color,
    /// <summary>Contrast factor 1 + m, m up to 0.9.</summary>
    Contrast,
    /// <summary>Sharpness factor 1 + m, m up to 0.9.</summary>
    Sharpness,
    /// <summary>Keep 8 down to 4 bits per value.</summary>
    Posterize,
    /// <summary>Invert values above a threshold from 1 down to 0.</summary>
    Solarize,
    /// <summary>Stretch each channel to [0, 1].</summary>
    AutoContrast,
    /// <summary>Histogram equalisation.</summary>
    Equalize,
}

/// <summary>
/// RandAugment (Cubuk et al., 2020), as torchvision's <c>RandAugment</c>: <see cref="NumOps"/> operations drawn
/// uniformly (with replacement) from the 14 of <see cref="RandAugmentOp"/>, each at magnitude bin
/// <see cref="Magnitude"/> of <see cref="NumMagnitudeBins"/> (defaults 2 ops, magnitude 9 of 31 bins, i.e.
/// M ∈ 0 … 30), signed operations negated with probability ½. For float images in [0, 1].
/// </summary>
public sealed class RandAugment : Transform
{
    /// <summary>Operations per image.</summary>
    public int NumOps { get; }

    /// <summary>The magnitude bin, 0 … <see cref="NumMagnitudeBins"/> − 1.</summary>
    public int Magnitude { get; }

    /// <summary>Number of magnitude bins.</summary>
    public int NumMagnitudeBins { get; }

    /// <summary>Sampling for the geometric operations.</summary>
    public Interpolation Interpolation { get; }

    /// <summary>Value of pixels uncovered by geometric operations.</summary>
    public float Fill { get; }

    /// <summary>Creates the transform.</summary>
    public RandAugment(int numOps = 2, int magnitude = 9, int numMagnitudeBins = 31, Interpolation interpolation = Interpolation.Nearest, float fill = 0)
    {
        const string op = "rand_augment";
        if (numOps < 0) throw new ArgumentValueException(op, $"number of operations must be non-negative, got {numOps}");
        if (numMagnitudeBins < 2) throw new ArgumentValueException(op, $"need at least 2 magnitude bins, got {numMagnitudeBins}");
        if (magnitude < 0 || magnitude >= numMagnitudeBins)
            throw new ArgumentValueException(op, $"magnitude must lie in [0, {numMagnitudeBins - 1}], got {magnitude}");
        (NumOps, Magnitude, NumMagnitudeBins, Interpolation, Fill) = (numOps, magnitude, numMagnitudeBins, interpolation, fill);
    }

    /// <summary>
    /// The unsigned magnitude of <paramref name="op"/> at bin <paramref name="bin"/> for an image of
    /// <paramref name="height"/> × <paramref name="width"/>, and whether the operation is signed
    /// (torchvision's <c>_augmentation_space</c>).
    /// </summary>
    public double MagnitudeOf(RandAugmentOp op, int bin, int height, int width, out bool signed)
    {
        double t = (double)bin / (NumMagnitudeBins - 1); // linspace(lo, hi, bins)[bin] = lo + (hi − lo)·t
        signed = op is RandAugmentOp.ShearX or RandAugmentOp.ShearY or RandAugmentOp.TranslateX or RandAugmentOp.TranslateY
            or RandAugmentOp.Rotate or RandAugmentOp.Brightness or RandAugmentOp.Color or RandAugmentOp.Contrast or RandAugmentOp.Sharpness;
        return op switch
        {
            RandAugmentOp.ShearX or RandAugmentOp.ShearY => 0.3 * t,
            RandAugmentOp.TranslateX => 150.0 / 331.0 * width * t,
            RandAugmentOp.TranslateY => 150.0 / 331.0 * height * t,
            RandAugmentOp.Rotate => 30.0 * t,
            RandAugmentOp.Brightness or RandAugmentOp.Color or RandAugmentOp.Contrast or RandAugmentOp.Sharpness => 0.9 * t,
            RandAugmentOp.Posterize => 8 - (int)Math.Round(bin / ((NumMagnitudeBins - 1) / 4.0), MidpointRounding.ToEven),
            RandAugmentOp.Solarize => 1.0 - t,
            _ => 0,
        };
    }

    /// <summary>The operations and signed magnitudes drawn for one image (what <see cref="Apply(ImageBuffer, Generator)"/> applies).</summary>
    public (RandAugmentOp Op, double Magnitude)[] SampleOps(int height, int width, Generator generator)
    {
        var ops = new (RandAugmentOp, double)[NumOps];
        for (int i = 0; i < NumOps; i++)
        {
            var op = (RandAugmentOp)generator.NextLong(14);
            double m = MagnitudeOf(op, Magnitude, height, width, out bool signed);
            if (signed && generator.NextLong(2) == 1) m = -m;
            ops[i] = (op, m);
        }
        return ops;
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        foreach (var (op, m) in SampleOps(image.Height, image.Width, generator)) ApplyOp(image, op, m, Interpolation, Fill);
    }

    /// <summary>Applies one operation at a (signed) magnitude, as torchvision's <c>_apply_op</c>.</summary>
    public static void ApplyOp(ImageBuffer image, RandAugmentOp op, double magnitude, Interpolation interpolation = Interpolation.Nearest, float fill = 0)
    {
        // Colour operations work frame by frame on a clip (each frame's own grey level), with the same magnitude.
        var px = image.Pixels;
        int c = image.FrameChannels, plane = image.PlaneSize, frames = image.Frames;
        double shear = Math.Atan(magnitude) * 180 / Math.PI;
        switch (op)
        {
            case RandAugmentOp.Identity: break;
            case RandAugmentOp.ShearX: Geometry.Affine(image, 0, 0, 0, 1, shear, 0, interpolation, fill, center: (0, 0)); break;
            case RandAugmentOp.ShearY: Geometry.Affine(image, 0, 0, 0, 1, 0, shear, interpolation, fill, center: (0, 0)); break;
            case RandAugmentOp.TranslateX: Geometry.Affine(image, 0, (int)magnitude, 0, 1, 0, 0, interpolation, fill); break;
            case RandAugmentOp.TranslateY: Geometry.Affine(image, 0, 0, (int)magnitude, 1, 0, 0, interpolation, fill); break;
            case RandAugmentOp.Rotate: Geometry.Rotate(image, magnitude, interpolation, fill); break;
            case RandAugmentOp.Brightness: ImageOps.AdjustBrightness(px, (float)(1 + magnitude)); break;
            case RandAugmentOp.Color:
                for (int t = 0; t < frames; t++) ImageOps.AdjustSaturation(image.Frame(t), c, plane, (float)(1 + magnitude));
                break;
            case RandAugmentOp.Contrast:
                for (int t = 0; t < frames; t++) ImageOps.AdjustContrast(image.Frame(t), c, plane, (float)(1 + magnitude));
                break;
            case RandAugmentOp.Sharpness: ImageOps.AdjustSharpness(px, image.Channels, image.Height, image.Width, (float)(1 + magnitude)); break;
            case RandAugmentOp.Posterize: ImageOps.Posterize(px, (int)magnitude); break;
            case RandAugmentOp.Solarize: ImageOps.Solarize(px, (float)magnitude); break;
            case RandAugmentOp.AutoContrast: ImageOps.AutoContrast(px, image.Channels, plane); break;
            case RandAugmentOp.Equalize: ImageOps.Equalize(px, image.Channels, plane); break;
            default: throw new ArgumentValueException("rand_augment", $"unknown operation {op}");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandAugment(n={NumOps}, m={Magnitude}/{NumMagnitudeBins - 1})";
}
