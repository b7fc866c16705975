using Engine.Kernels;

namespace Engine.Nn;

/// <summary>
/// RMSprop, exactly as PyTorch's torch.optim.RMSprop:
/// <code>
/// g  = grad + weight_decay·p
/// v  = α·v + (1 − α)·g²
/// ḡ  = α·ḡ + (1 − α)·g                  (centered)
/// d  = √(v − ḡ²) + eps   if centered   else   √v + eps
/// buf = momentum·buf + g/d;  p = p − lr·buf      (momentum > 0)
/// p  = p − lr·g/d                                 (otherwise)
/// </code>
/// State per parameter: "square_avg", "momentum_buffer" (momentum > 0), "grad_avg" (centered) and the step count.
/// </summary>
public sealed class RMSprop : Optimizer
{
    /// <summary>RMSprop over <paramref name="parameters"/> (one group).</summary>
    public RMSprop(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false)
        : this([new ParamGroup(parameters)], lr, alpha, eps, weightDecay, momentum, centered) { }

    /// <summary>RMSprop over <paramref name="groups"/>; the other arguments are the defaults for what a group leaves unset.</summary>
    public RMSprop(IEnumerable<ParamGroup> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false)
        : base("RMSprop", groups, new ParamGroup([], lr: lr, weightDecay: weightDecay, momentum: momentum, eps: eps, alpha: alpha, centered: centered), Validate) { }

    private static void Validate(ParamGroup g)
    {
        NonNegative("RMSprop", "learning rate", g.Lr);
        NonNegative("RMSprop", "epsilon", g.Eps);
        NonNegative("RMSprop", "momentum", g.Momentum);
        NonNegative("RMSprop", "weight_decay", g.WeightDecay);
        NonNegative("RMSprop", "alpha", g.Alpha);
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group.Lr, wd = group.WeightDecay, alpha = group.Alpha, eps = group.Eps, momentum = group.Momentum;
        var sq = state.GetOrZeros("square_avg", param);
        var s0 = Scratch(param, 0);
        var s1 = Scratch(param, 1);

        Tensor g = grad;
        if (wd != 0)
        {
            OptimKernels.Affine(s0, param, wd);                    // g = grad + wd·p
            OptimKernels.Binary(BinaryOp.Add, s0, grad, s0);
            g = s0;
        }
        OptimKernels.Affine(sq, sq, alpha);                        // v = α·v + (1 − α)·g²
        OptimKernels.Binary(BinaryOp.Mul, s1, g, g);
        OptimKernels.Affine(s1, s1, 1 - alpha);
        OptimKernels.Binary(BinaryOp.Add, sq, sq, s1);
        if (group.Centered)
        {
            var ga = state.GetOrZeros("grad_avg", param);
            OptimKernels.Affine(ga, ga, alpha);                    // ḡ = α·ḡ + (1 − α)·g
            OptimKernels.Affine(s1, g, 1 - alpha);
            OptimKernels.Binary(BinaryOp.Add, ga, ga, s1);
            OptimKernels.Binary(BinaryOp.Mul, s1, ga, ga);         // d = √(v − ḡ²)
            OptimKernels.Binary(BinaryOp.Sub, s1, sq, s1);
            OptimKernels.Sqrt(s1, s1);
        }
        else OptimKernels.Sqrt(s1, sq);                            // d = √v
        OptimKernels.Affine(s1, s1, 1, eps);                       // d += eps
        OptimKernels.Binary(BinaryOp.Div, s1, g, s1);              // g/d
        if (momentum > 0)
        {
            var buf = state.GetOrZeros("momentum_buffer", param);
            OptimKernels.Affine(buf, buf, momentum);               // buf = momentum·buf + g/d
            OptimKernels.Binary(BinaryOp.Add, buf, buf, s1);
            OptimKernels.Affine(s1, buf, -lr);                     // p = p − lr·buf
        }
        else OptimKernels.Affine(s1, s1, -lr);                     // p = p − lr·g/d
        OptimKernels.Binary(BinaryOp.Add, param, param, s1);
    }
}
