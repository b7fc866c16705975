namespace Engine.Nn.Data;

/// <summary>Applies transforms in order.</summary>
public sealed class Compose(params Transform[] transforms) : Transform
{
    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<Transform> Transforms { get; } = [.. transforms];

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        foreach (var t in Transforms) t.Apply(image, generator);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Compose({string.Join(", ", Transforms)})";
}
