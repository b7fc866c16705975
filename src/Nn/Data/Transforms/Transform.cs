namespace Engine.Nn.Data;

/// <summary>
/// A per-sample image transform (augmentation or preprocessing) on float images [C, H, W]. Random transforms
/// draw every random number from the <see cref="Generator"/> they are given, so a sample's augmentation is a
/// function of that generator's seed: the <see cref="DataLoader"/> seeds one per sample from (seed, epoch,
/// index), which makes results independent of the number of workers. Transforms hold no mutable state and may
/// be used from several threads at once.
/// </summary>
public abstract class Transform
{
    /// <summary>Transforms <paramref name="image"/> in place (its size may change).</summary>
    public abstract void Apply(ImageBuffer image, Generator generator);

    /// <summary>Transforms a float [C, H, W] tensor (float32, float64, or uint8 read as value / 255) into a new float32 tensor.</summary>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var buffer = new ImageBuffer();
        buffer.CopyFrom(image);
        Apply(buffer, generator);
        return buffer.ToTensor();
    }
}

/// <summary>Sampling helpers shared by the transforms (all draws go through the sample's generator).</summary>
internal static class Draw
{
    /// <summary>Uniform in [lo, hi).</summary>
    public static double Uniform(this Generator g, double lo, double hi) => lo + (hi - lo) * g.NextDouble();

    /// <summary>Uniform integer in [lo, hi) (hi &gt; lo), as <c>torch.randint(lo, hi)</c>.</summary>
    public static int Int(this Generator g, int lo, int hi) => lo + (int)g.NextLong(hi - lo);

    /// <summary>True with probability <paramref name="p"/> (one draw, always consumed).</summary>
    public static bool Chance(this Generator g, double p) => g.NextDouble() < p;

    public static void CheckProbability(string op, double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentValueException(op, $"probability must lie in [0, 1], got {p}");
    }

    public static void CheckRange(string op, string what, double lo, double hi)
    {
        if (!(lo <= hi) || double.IsInfinity(lo) || double.IsInfinity(hi))
            throw new ArgumentValueException(op, $"{what} range must have min <= max, got ({lo}, {hi})");
    }
}
