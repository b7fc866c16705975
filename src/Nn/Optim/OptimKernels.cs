using Engine.Kernels;

namespace Engine.Nn;

/// <summary>
/// In-place elementwise kernels for optimizer updates: each writes into an existing tensor (a parameter, a
/// state buffer or workspace) through the device backend, so an update allocates nothing but its workspace.
/// Operands have the destination's shape; the destination may be one of the operands.
/// </summary>
internal static class OptimKernels
{
    private const string Op = "optimizer";

    /// <summary>dst = src·a + b.</summary>
    public static void Affine(Tensor dst, Tensor src, double a, double b = 0)
    {
        var shape = dst.Shape;
        dst.Backend.Unary(UnaryOp.Affine, dst.View(Op), src.ViewAs(Op, shape), a, b);
    }

    /// <summary>dst = √src.</summary>
    public static void Sqrt(Tensor dst, Tensor src)
    {
        var shape = dst.Shape;
        dst.Backend.Unary(UnaryOp.Sqrt, dst.View(Op), src.ViewAs(Op, shape), 0, 0);
    }

    /// <summary>dst = min(max(src, lo), hi).</summary>
    public static void Clamp(Tensor dst, Tensor src, double lo, double hi)
    {
        var shape = dst.Shape;
        dst.Backend.Unary(UnaryOp.Clamp, dst.View(Op), src.ViewAs(Op, shape), lo, hi);
    }

    /// <summary>dst = x op y for Add, Sub, Mul, Div, Maximum.</summary>
    public static void Binary(BinaryOp op, Tensor dst, Tensor x, Tensor y)
    {
        var shape = dst.Shape;
        dst.Backend.Binary(op, dst.View(Op), x.ViewAs(Op, shape), y.ViewAs(Op, shape), 0, 0);
    }

    /// <summary>dst += alpha·x, using <paramref name="tmp"/> (not <paramref name="x"/>) for alpha·x when alpha ≠ ±1.</summary>
    public static void Axpy(Tensor dst, Tensor x, double alpha, Tensor tmp)
    {
        if (alpha == 1) Binary(BinaryOp.Add, dst, dst, x);
        else if (alpha == -1) Binary(BinaryOp.Sub, dst, dst, x);
        else
        {
            Affine(tmp, x, alpha);
            Binary(BinaryOp.Add, dst, dst, tmp);
        }
    }
}
