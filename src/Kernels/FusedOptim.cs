namespace Engine.Kernels;

/// <summary>What the fused SGD kernels do per element (see <see cref="FusedOptim.Sgd"/>); the bits match optim.ptx.</summary>
[Flags]
internal enum SgdFlags : uint
{
    /// <summary>d = g + (p·wd + 0).</summary>
    WeightDecay = 1,
    /// <summary>Momentum after the first step: b = b·mom + 0, then b += d·damp.</summary>
    MomentumUpdate = 2,
    /// <summary>The product d·damp gets "+ 0" (1 − dampening is not ±1, so the chain formed it in a scratch buffer).</summary>
    DampAddZero = 4,
    /// <summary>Momentum, first step: b = d (b is not read).</summary>
    MomentumInit = 8,
    /// <summary>Nesterov: d = d + (b·mom + 0).</summary>
    Nesterov = 16,
    /// <summary>Momentum without Nesterov: d = b.</summary>
    Heavy = 32,
    /// <summary>The product d·(−lr) gets "+ 0".</summary>
    LrAddZero = 64,
}

/// <summary>What the fused Adam kernels do per element (see <see cref="FusedOptim.Adam"/>); the bits match optim.ptx.</summary>
[Flags]
internal enum AdamFlags : uint
{
    /// <summary>AdamW: p = p·(1 − lr·wd) + 0 first.</summary>
    Decoupled = 1,
    /// <summary>Adam's L2 weight decay: g = g + (p·wd + 0).</summary>
    L2 = 2,
    /// <summary>AMSGrad: vmax = maximum(vmax, v) replaces v in the denominator.</summary>
    Amsgrad = 4,
}

/// <summary>
/// The fused optimizer updates' per-step constants and operand checks, shared by every backend so that each derives
/// the same scalars (in double, then rounded once to the element type) and follows the same steps. The per-element
/// steps are those of the unfused chains in src/Nn/Optim (SGD.cs, Adam.cs), each one IEEE-rounded in the element
/// type, including the "+ 0" their affine kernels add (x·a + 0 turns −0 into +0): a fused update equals the chain
/// bit for bit.
/// </summary>
internal static class FusedOptim
{
    /// <summary>SGD's constants: the scalars weight decay, momentum, 1 − dampening, −lr, and the flags.</summary>
    public readonly record struct SgdConstants(double WeightDecay, double Momentum, double Damp, double NegLr, SgdFlags Flags);

    /// <summary>Adam's constants: weight decay, 1 − lr·wd, β1, 1 − β1, β2, 1 − β2, 1/√(1 − β2ᵗ), eps, −lr/(1 − β1ᵗ), and the flags.</summary>
    public readonly record struct AdamConstants(double WeightDecay, double Decay, double Beta1, double OneMinusBeta1, double Beta2,
        double OneMinusBeta2, double InvBc2Sqrt, double Eps, double NegStep, AdamFlags Flags);

    /// <summary>
    /// SGD (torch.optim.SGD) as the chain computes it: d = g (+ p·wd); with momentum b = d on the first step, else
    /// b = b·mom + (1 − dampening)·d; d = d + mom·b (Nesterov) or b; p = p − lr·d.
    /// </summary>
    public static SgdConstants Sgd(double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        bool mom = momentum != 0, wd = weightDecay != 0;
        double damp = 1 - dampening, negLr = -lr;
        var f = default(SgdFlags);
        if (wd) f |= SgdFlags.WeightDecay;
        if (mom && firstStep) f |= SgdFlags.MomentumInit;
        if (mom && !firstStep) f |= SgdFlags.MomentumUpdate;
        if (mom && !firstStep && damp != 1 && damp != -1) f |= SgdFlags.DampAddZero;
        if (mom && nesterov) f |= SgdFlags.Nesterov;
        if (mom && !nesterov) f |= SgdFlags.Heavy;
        // The chain adds d·(−lr) through a scratch buffer (with its "+ 0") when d is a scratch buffer (weight decay
        // without plain momentum, or Nesterov), or when −lr is not ±1 (its axpy special-cases ±1).
        bool dIsScratch = mom ? nesterov : wd;
        if (dIsScratch || (negLr != 1 && negLr != -1)) f |= SgdFlags.LrAddZero;
        return new(weightDecay, momentum, damp, negLr, f);
    }

    /// <summary>
    /// Adam/AdamW (torch.optim) as the chain computes it, from the bias corrections 1 − β1ᵗ and 1 − β2ᵗ of this step.
    /// </summary>
    public static AdamConstants Adam(double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, bool amsgrad,
        double biasCorrection1, double biasCorrection2)
    {
        var f = default(AdamFlags);
        if (weightDecay != 0) f |= decoupled ? AdamFlags.Decoupled : AdamFlags.L2;
        if (amsgrad) f |= AdamFlags.Amsgrad;
        double stepSize = lr / biasCorrection1, bc2Sqrt = Math.Sqrt(biasCorrection2);
        return new(weightDecay, 1 - lr * weightDecay, beta1, 1 - beta1, beta2, 1 - beta2, 1 / bc2Sqrt, eps, -stepSize, f);
    }

    /// <summary>
    /// Checks the operands of a fused update before any work: a float32 or float64 parameter, and every other operand
    /// of its shape and dtype; all contiguous.
    /// </summary>
    /// <exception cref="DTypeException">Not float32/float64, or dtypes differ.</exception>
    /// <exception cref="ShapeException">Shapes differ or an operand is not contiguous.</exception>
    public static void Check(string op, in StridedView param, params ReadOnlySpan<StridedView> others)
    {
        if (param.DType is not (DType.Float32 or DType.Float64))
            throw new DTypeException(op, $"expected a float32 or float64 parameter, got {param.DType.Name()}");
        if (!param.IsContiguous) throw new ShapeException(op, $"the parameter (shape {ShapeUtil.Format(param.Shape)}) must be contiguous");
        foreach (var o in others)
        {
            if (o.DType != param.DType)
                throw new DTypeException(op, $"every operand must have the parameter's dtype {param.DType.Name()}, got {o.DType.Name()}");
            if (!o.Shape.AsSpan().SequenceEqual(param.Shape))
                throw new ShapeException(op, $"every operand must have the parameter's shape {ShapeUtil.Format(param.Shape)}, got {ShapeUtil.Format(o.Shape)}");
            if (!o.IsContiguous) throw new ShapeException(op, $"every operand must be contiguous (shape {ShapeUtil.Format(o.Shape)}, strides {ShapeUtil.Format(o.Strides)})");
        }
    }
}
