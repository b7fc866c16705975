using Engine.Kernels;

namespace Engine;

/// <summary>Input validation shared by the ops: each failure is a typed exception naming the op.</summary>
internal static class Checks
{
    public static void SameDevice(string op, Tensor a, Tensor b)
    {
        if (a.Device != b.Device)
            throw new DeviceException(op, $"expected all tensors on one device, got {a.Device} and {b.Device}");
    }

    public static void SameDType(string op, Tensor a, Tensor b)
    {
        if (a.DType != b.DType)
            throw new DTypeException(op, $"expected operands of one dtype, got {a.DType.Name()} and {b.DType.Name()}; convert one with To(DType)");
    }

    public static void Float(string op, Tensor t)
    {
        if (!t.DType.IsFloatingPoint())
            throw new DTypeException(op, $"expected a floating-point tensor, got {t.DType.Name()}");
    }

    public static void Numeric(string op, Tensor t)
    {
        if (t.DType == global::Engine.DType.Bool)
            throw new DTypeException(op, "arithmetic is not defined on bool tensors; convert with To(DType)");
    }

    public static void IsDType(string op, Tensor t, global::Engine.DType expected, string what)
    {
        if (t.DType != expected)
            throw new DTypeException(op, $"{what} must be {expected.Name()}, got {t.DType.Name()}");
    }

    public static long[] Broadcast(string op, ReadOnlySpan<long> a, ReadOnlySpan<long> b)
    {
        int r = Math.Max(a.Length, b.Length);
        var s = new long[r];
        for (int i = 0; i < r; i++)
        {
            long x = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            long y = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (x != y && x != 1 && y != 1)
                throw new ShapeException(op, $"shapes {ShapeUtil.Format(a)} and {ShapeUtil.Format(b)} are not broadcastable (dimension {i}: {x} vs {y})");
            s[i] = x == 1 ? y : x;
        }
        return s;
    }
}

public sealed partial class Tensor
{
    /// <summary>Wraps a dim into [0, rank) or throws an <see cref="IndexException"/> naming the op.</summary>
    internal static int NormDim(string op, long dim, int rank)
    {
        int r = Math.Max(rank, 1);
        if (dim < -r || dim >= r)
            throw new IndexException(op, $"dimension {dim} is out of range for a tensor of rank {rank} (expected [{-r}, {r - 1}])");
        return (int)(dim < 0 ? dim + r : dim);
    }

    /// <summary>
    /// <see cref="NormDim"/> for ops that index a real dimension of this tensor: a 0-dim tensor has none, so any dim
    /// is an <see cref="IndexException"/> (NormDim alone would accept 0 and -1, as reductions of scalars do).
    /// </summary>
    internal int DimOf(string op, long dim)
    {
        if (Rank == 0) throw new IndexException(op, $"dimension {dim} specified, but the tensor has no dimensions (a 0-dim tensor)");
        return NormDim(op, dim, Rank);
    }

    internal void MarkRequiresGrad() => _requiresGrad = true;
}
