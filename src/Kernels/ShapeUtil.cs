namespace Engine.Kernels;

/// <summary>Shape and stride arithmetic shared by the tensor layer and the kernels.</summary>
public static class ShapeUtil
{
    /// <summary>Row-major strides for <paramref name="shape"/>.</summary>
    public static long[] ContiguousStrides(ReadOnlySpan<long> shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= Math.Max(shape[i], 1); }
        return s;
    }

    /// <summary>Product of the sizes.</summary>
    public static long NumEl(ReadOnlySpan<long> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    /// <summary>True when <paramref name="strides"/> are the row-major strides (size-1 dims ignored).</summary>
    public static bool IsContiguous(ReadOnlySpan<long> shape, ReadOnlySpan<long> strides)
    {
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            if (shape[i] == 0) return true;
            if (strides[i] != acc) return false;
            acc *= shape[i];
        }
        return true;
    }

    /// <summary>Formats a shape as PyTorch does: <c>[2, 3]</c>.</summary>
    public static string Format(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
