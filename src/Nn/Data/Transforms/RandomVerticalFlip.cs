namespace Engine.Nn.Data;

/// <summary>Mirrors the image top–bottom with probability <see cref="P"/>.</summary>
public sealed class RandomVerticalFlip : Transform
{
    /// <summary>Probability of flipping.</summary>
    public double P { get; }

    /// <summary>Flips with probability <paramref name="p"/>.</summary>
    public RandomVerticalFlip(double p = 0.5)
    {
        Draw.CheckProbability("random_vertical_flip", p);
        P = p;
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        if (generator.Chance(P)) ImageOps.FlipVertical(image.Pixels, image.Channels, image.Height, image.Width);
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomVerticalFlip(p={P})";
}
