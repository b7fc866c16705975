namespace Engine.Nn.Data;

/// <summary>Mirrors the image left–right with probability <see cref="P"/>.</summary>
public sealed class RandomHorizontalFlip : Transform
{
    /// <summary>Probability of flipping.</summary>
    public double P { get; }

    /// <summary>Flips with probability <paramref name="p"/>.</summary>
    public RandomHorizontalFlip(double p = 0.5)
    {
        Draw.CheckProbability("random_horizontal_flip", p);
        P = p;
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        if (generator.Chance(P)) ImageOps.FlipHorizontal(image.Pixels, image.Channels, image.Height, image.Width);
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomHorizontalFlip(p={P})";
}
