namespace Engine.Nn.Data;

/// <summary>
/// torchvision's <c>RandomResizedCrop</c>: a random crop covering a fraction in <see cref="Scale"/> of the image
/// area with aspect ratio (log-uniform) in <see cref="Ratio"/> (10 tries, then a central crop), resized to
/// <see cref="Height"/> × <see cref="Width"/> with bilinear interpolation.
/// </summary>
public sealed class RandomResizedCrop : Transform
{
    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <summary>Range of the crop's share of the image area.</summary>
    public (double Min, double Max) Scale { get; }

    /// <summary>Range of the crop's aspect ratio (width / height).</summary>
    public (double Min, double Max) Ratio { get; }

    /// <summary>A crop resized to <paramref name="height"/> × <paramref name="width"/> (square when width is omitted); scale defaults to (0.08, 1), ratio to (3/4, 4/3).</summary>
    public RandomResizedCrop(int height, int? width = null, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null)
    {
        const string op = "random_resized_crop";
        if (height <= 0 || width <= 0) throw new ArgumentValueException(op, $"size must be positive, got {height}x{width}");
        (Height, Width) = (height, width ?? height);
        Scale = scale ?? (0.08, 1.0);
        Ratio = ratio ?? (3.0 / 4, 4.0 / 3);
        Draw.CheckRange(op, "scale", Scale.Min, Scale.Max);
        Draw.CheckRange(op, "ratio", Ratio.Min, Ratio.Max);
        if (!(Scale.Min > 0) || !(Ratio.Min > 0)) throw new ArgumentValueException(op, "scale and ratio must be positive");
    }

    /// <summary>The crop (top, left, height, width) for an image of <paramref name="h"/> × <paramref name="w"/>, as torchvision's <c>get_params</c>.</summary>
    public (int Top, int Left, int Height, int Width) SampleBox(int h, int w, Generator generator)
    {
        double area = (double)h * w;
        double logLo = Math.Log(Ratio.Min), logHi = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * generator.Uniform(Scale.Min, Scale.Max);
            double aspect = Math.Exp(generator.Uniform(logLo, logHi));
            int cw = (int)Math.Round(Math.Sqrt(target * aspect));
            int ch = (int)Math.Round(Math.Sqrt(target / aspect));
            if (cw > 0 && cw <= w && ch > 0 && ch <= h)
                return (generator.Int(0, h - ch + 1), generator.Int(0, w - cw + 1), ch, cw);
        }
        double inRatio = (double)w / h;
        int fh = h, fw = w;
        if (inRatio < Ratio.Min) fh = (int)Math.Round(w / Ratio.Min);
        else if (inRatio > Ratio.Max) fw = (int)Math.Round(h * Ratio.Max);
        return ((h - fh) / 2, (w - fw) / 2, fh, fw);
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        var (top, left, ch, cw) = SampleBox(image.Height, image.Width, generator);
        var dst = image.Target(image.Channels, Height, Width);
        bool bytes = image.TryGetBytes(out var src8);
        ImageOps.ResizeBilinear(bytes ? default : image.Pixels, src8, image.Channels, image.Height, image.Width, top, left, ch, cw, dst, Height, Width);
        image.Commit();
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomResizedCrop({Height}x{Width}, scale={Scale}, ratio={Ratio})";
}
