namespace Engine.Nn.Data;

/// <summary>
/// Random erasing (Zhong et al., 2017; torchvision's <c>RandomErasing</c>): with probability <see cref="P"/>,
/// a rectangle covering a share in <see cref="Scale"/> of the area, aspect ratio log-uniform in
/// <see cref="Ratio"/> (10 tries), is set to <see cref="Value"/>, or to standard normal noise when
/// <see cref="Value"/> is null.
/// </summary>
public sealed class RandomErasing : Transform
{
    /// <summary>Probability of erasing.</summary>
    public double P { get; }

    /// <summary>Range of the erased share of the area.</summary>
    public (double Min, double Max) Scale { get; }

    /// <summary>Range of the rectangle's aspect ratio (height / width).</summary>
    public (double Min, double Max) Ratio { get; }

    /// <summary>The fill value, or null for random normal values.</summary>
    public float? Value { get; }

    /// <summary>Creates the transform; scale defaults to (0.02, 0.33), ratio to (0.3, 3.3).</summary>
    public RandomErasing(double p = 0.5, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null, float? value = 0)
    {
        const string op = "random_erasing";
        Draw.CheckProbability(op, p);
        Scale = scale ?? (0.02, 0.33);
        Ratio = ratio ?? (0.3, 3.3);
        Draw.CheckRange(op, "scale", Scale.Min, Scale.Max);
        Draw.CheckRange(op, "ratio", Ratio.Min, Ratio.Max);
        if (!(Scale.Min >= 0 && Scale.Max <= 1)) throw new ArgumentValueException(op, $"scale must lie in [0, 1], got {Scale}");
        if (!(Ratio.Min > 0)) throw new ArgumentValueException(op, $"ratio must be positive, got {Ratio}");
        (P, Value) = (p, value);
    }

    /// <summary>
    /// The rectangle (top, left, height, width) to erase in an image of <paramref name="h"/> × <paramref name="w"/>,
    /// or null when the draw skips the image (probability 1 − <see cref="P"/>, or 10 failed tries).
    /// </summary>
    public (int Top, int Left, int Height, int Width)? SampleBox(int h, int w, Generator generator)
    {
        if (!generator.Chance(P)) return null;
        double area = (double)h * w, logLo = Math.Log(Ratio.Min), logHi = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double erase = area * generator.Uniform(Scale.Min, Scale.Max);
            double aspect = Math.Exp(generator.Uniform(logLo, logHi));
            int eh = (int)Math.Round(Math.Sqrt(erase * aspect));
            int ew = (int)Math.Round(Math.Sqrt(erase / aspect));
            if (!(eh < h && ew < w)) continue;
            return (generator.Int(0, h - eh + 1), generator.Int(0, w - ew + 1), eh, ew);
        }
        return null;
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        var box = SampleBox(image.Height, image.Width, generator);
        if (box is null) return;
        var (top, left, eh, ew) = box.Value;
        for (int c = 0; c < image.Channels; c++)
        {
            var plane = image.Plane(c);
            for (int y = top; y < top + eh; y++)
            {
                var row = plane.Slice(y * image.Width + left, ew);
                if (Value is { } v) row.Fill(v);
                else for (int x = 0; x < row.Length; x++) row[x] = (float)generator.NextNormal();
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomErasing(p={P}, scale={Scale}, ratio={Ratio}, value={(Value?.ToString() ?? "random")})";
}
