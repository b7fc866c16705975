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

    /// <summary>
    /// The element count of <paramref name="shape"/>, checked: every size non-negative and the product of the sizes
    /// (each counted as at least 1, since that product is the largest contiguous stride) within 64 bits. Throws a
    /// <see cref="ShapeException"/> naming <paramref name="op"/> and the shape otherwise. Every shape the engine creates
    /// (allocation, reshape, expand, broadcast) passes through here, so strides and offsets derived from a valid shape
    /// cannot overflow either.
    /// </summary>
    public static long CheckedNumEl(string op, ReadOnlySpan<long> shape)
    {
        long n = 1, span = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ShapeException(op, $"negative dimension {d} in shape {Format(shape)}");
            if (d > 1 && span > long.MaxValue / d)
                throw new ShapeException(op, $"shape {Format(shape)} is too large: its element count or strides overflow 64 bits");
            span *= Math.Max(d, 1);
            n *= d;
        }
        return n;
    }

    /// <summary>
    /// Bytes needed for a contiguous tensor of <paramref name="shape"/> with elements of <paramref name="elementSize"/>
    /// bytes, checked as <see cref="CheckedNumEl"/> and for the byte count fitting 64 bits.
    /// </summary>
    public static long CheckedBytes(string op, ReadOnlySpan<long> shape, int elementSize)
    {
        long n = CheckedNumEl(op, shape);
        if (n > long.MaxValue / Math.Max(elementSize, 1))
            throw new ShapeException(op, $"shape {Format(shape)} is too large: {n} elements of {elementSize} bytes overflow 64 bits");
        return n * elementSize;
    }

    /// <summary>
    /// <paramref name="value"/> as an int, for kernels that index with 32-bit ints (convolution and pooling
    /// geometry); a <see cref="ShapeException"/> naming <paramref name="op"/> and <paramref name="what"/> when it does not fit.
    /// </summary>
    public static int ToInt(string op, long value, string what)
    {
        if (value is < int.MinValue or > int.MaxValue)
            throw new ShapeException(op, $"{what} is {value}, beyond the 32-bit range ({int.MaxValue}) this op's kernels index with");
        return (int)value;
    }

    /// <summary>a + b for sizes, or a <see cref="ShapeException"/> naming <paramref name="op"/> when it overflows 64 bits.</summary>
    public static long CheckedAdd(string op, long a, long b, string what)
    {
        long r = unchecked(a + b);
        if (((a ^ r) & (b ^ r)) < 0) throw new ShapeException(op, $"{what} overflows 64 bits ({a} + {b})");
        return r;
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
