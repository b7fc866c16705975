namespace Engine.Nn;

/// <summary>The per-spatial-dim options of the convolution and pooling layers: expansion and PyTorch-style printing.</summary>
internal static class LayerOptions
{
    /// <summary>One value repeated over the <paramref name="spatial"/> dims, or one per dim.</summary>
    public static int[] PerDim(string op, string what, int[] v, int spatial) =>
        v.Length == 1 ? [.. Enumerable.Repeat(v[0], spatial)]
        : v.Length == spatial ? v
        : throw new ArgumentValueException(op, $"{what} needs 1 or {spatial} values, got ({string.Join(", ", v)})");

    /// <summary>A tuple option as PyTorch prints it: "(1, 1)".</summary>
    public static string Tuple(int[] v) => $"({string.Join(", ", v)})";

    /// <summary>One value when all dims agree (as a pooling layer built from an int prints), else the tuple.</summary>
    public static string Compact(int[] v) => v.All(e => e == v[0]) ? $"{v[0]}" : Tuple(v);
}
