namespace Engine.Nn.Data;

/// <summary>Per-channel (x − mean) / std. One mean and std apply to every channel; on a clip, to every frame's channels.</summary>
public sealed class Normalize : Transform
{
    private readonly float[] _mean, _std;

    /// <summary>Per-channel means.</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>Per-channel standard deviations.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <summary>Creates the transform; <paramref name="mean"/> and <paramref name="std"/> have one value per channel, or one for all.</summary>
    public Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentValueException("normalize", $"mean and std must have the same, non-zero length, got {mean.Count} and {std.Count}");
        foreach (var s in std)
            if (!(s != 0) || float.IsNaN(s)) throw new ArgumentValueException("normalize", $"std must be non-zero, got {s}");
        (_mean, _std) = ([.. mean], [.. std]);
    }

    /// <summary>The transform that undoes this one: mean′ = −mean / std, std′ = 1 / std.</summary>
    public Normalize Inverse()
    {
        var m = new float[_mean.Length];
        var s = new float[_std.Length];
        for (int i = 0; i < m.Length; i++) { m[i] = -_mean[i] / _std[i]; s[i] = 1 / _std[i]; }
        return new Normalize(m, s);
    }

    /// <inheritdoc/>
    public override void Apply(ImageBuffer image, Generator generator)
    {
        int channels = image.FrameChannels;
        if (_mean.Length != 1 && _mean.Length != channels)
            throw new ShapeException("normalize", $"{_mean.Length} means for an image of {channels} channels");
        for (int p = 0; p < image.Channels; p++)
        {
            int c = p % channels; // planes are [T, C] ordered in a clip
            float m = _mean[_mean.Length == 1 ? 0 : c], inv = 1 / _std[_std.Length == 1 ? 0 : c];
            var plane = image.Plane(p);
            System.Numerics.Tensors.TensorPrimitives.Subtract(plane, m, plane);
            System.Numerics.Tensors.TensorPrimitives.Multiply(plane, inv, plane);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"Normalize(mean=[{string.Join(", ", _mean)}], std=[{string.Join(", ", _std)}])";
}
