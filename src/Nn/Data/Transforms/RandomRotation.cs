namespace Engine.Nn.Data;

/// <summary>Rotates by an angle drawn uniformly from [<see cref="MinDegrees"/>, <see cref="MaxDegrees"/>] about the centre (same size, corners filled).</summary>
public sealed class RandomRotation : Transform
{
    /// <summary>Smallest angle, degrees (counter-clockwise positive).</summary>
    public double MinDegrees { get; }

    /// <summary>Largest angle, degrees.</summary>
    public double MaxDegrees { get; }

    /// <summary>Sampling of the source.</summary>
    public Interpolation Interpolation { get; }

    /// <summary>Value of uncovered pixels.</summary>
    public float Fill { get; }

    /// <summary>Angles in [−<paramref name="degrees"/>, <paramref name="degrees"/>].</summary>
    public RandomRotation(double degrees, Interpolation interpolation = Interpolation.Nearest, float fill = 0)
        : this(-Math.Abs(degrees), Math.Abs(degrees), interpolation, fill) { }

    /// <summary>Angles in [<paramref name="minDegrees"/>, <paramref name="maxDegrees"/>].</summary>
    public RandomRotation(double minDegrees, double maxDegrees, Interpolation interpolation = Interpolation.Nearest, float fill = 0)
    {
        Draw.CheckRange("random_rotation", "degrees", minDegrees, maxDegrees);
        (MinDegrees, MaxDegrees, Interpolation, Fill) = (minDegrees, maxDegrees, interpolation, fill);
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        double angle = generator.Uniform(MinDegrees, MaxDegrees);
        Geometry.Rotate(image, angle, Interpolation, Fill);
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomRotation({MinDegrees}, {MaxDegrees})";
}
