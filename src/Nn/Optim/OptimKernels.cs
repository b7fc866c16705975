using Engine.Kernels.Fused;
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
        dst.Backend.Unary(UnaryOp.Affine, dst.WriteView(Op), src.ViewAs(Op, shape), a, b);
    }

    /// <summary>dst = √src.</summary>
    public static void Sqrt(Tensor dst, Tensor src)
    {
        var shape = dst.Shape;
        dst.Backend.Unary(UnaryOp.Sqrt, dst.WriteView(Op), src.ViewAs(Op, shape), 0, 0);
    }

    /// <summary>dst = min(max(src, lo), hi).</summary>
    public static void Clamp(Tensor dst, Tensor src, double lo, double hi)
    {
        var shape = dst.Shape;
        dst.Backend.Unary(UnaryOp.Clamp, dst.WriteView(Op), src.ViewAs(Op, shape), lo, hi);
    }

    /// <summary>dst = x op y for Add, Sub, Mul, Div, Maximum.</summary>
    public static void Binary(BinaryOp op, Tensor dst, Tensor x, Tensor y)
    {
        var shape = dst.Shape;
        dst.Backend.Binary(op, dst.WriteView(Op), x.ViewAs(Op, shape), y.ViewAs(Op, shape), 0, 0);
    }

    /// <summary>
    /// True when a fused update applies: a float32/float64 parameter, every operand contiguous, and the gradient in its own memory (the chain
    /// reads the gradient after writing the parameter, so an aliased gradient would be seen differently).
    /// </summary>
    public static bool CanFuse(Tensor param, Tensor grad, params ReadOnlySpan<Tensor?> state)
    {
        if (param.DType is not (DType.Float32 or DType.Float64) || !param.IsContiguous || !grad.IsContiguous) return false;
        if (ReferenceEquals(param.View(Op).Storage, grad.View(Op).Storage)) return false;
        foreach (var s in state)
            if (s is not null && !s.IsContiguous) return false;
        return true;
    }

    /// <summary>The fused SGD step (<see cref="FusedOps.Sgd"/>) on the parameter's device.</summary>
    public static void SgdUpdate(Tensor param, Tensor grad, Tensor? buf, double lr, double momentum, double dampening,
        double weightDecay, bool nesterov, bool firstStep) =>
        FusedOps.Sgd.Run(param.Backend, new(param.WriteView(Op), grad.View(Op), buf?.WriteView(Op), lr, momentum, dampening, weightDecay, nesterov, firstStep));

    /// <summary>The fused Adam/AdamW step (<see cref="FusedOps.Adam"/>) on the parameter's device.</summary>
    public static void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor? vmax, double lr, double beta1, double beta2,
        double eps, double weightDecay, bool decoupled, double biasCorrection1, double biasCorrection2) =>
        FusedOps.Adam.Run(param.Backend, new(param.WriteView(Op), grad.View(Op), m.WriteView(Op), v.WriteView(Op), vmax?.WriteView(Op), lr, beta1, beta2, eps,
            weightDecay, decoupled, biasCorrection1, biasCorrection2));

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
