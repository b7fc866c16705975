using Engine.Kernels;

namespace Engine.Nn;

/// <summary>
/// Adam, exactly as PyTorch's torch.optim.Adam, with weight decay as L2 added to the gradient (for decoupled
/// weight decay use <see cref="AdamW"/>) and optional AMSGrad. At step t:
/// <code>
/// g = grad + weight_decay·p
/// m = β1·m + (1 − β1)·g
/// v = β2·v + (1 − β2)·g²
/// v̂max = max(v̂max, v)                       (amsgrad; then v̂max replaces v below)
/// p = p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
/// </code>
/// State per parameter: "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (amsgrad) and the step count. Each parameter is
/// updated by one fused kernel (<c>FusedOps.Adam</c>) when it, its gradient and its state are contiguous, else by
/// the chain of elementwise kernels below; both give the same numbers bit for bit.
/// </summary>
public class Adam : Optimizer
{
    private readonly bool _decoupled;

    /// <summary>Adam over <paramref name="parameters"/> (one group).</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this([new ParamGroup(parameters)], lr, betas, eps, weightDecay, amsgrad) { }

    /// <summary>Adam over <paramref name="groups"/>; the other arguments are the defaults for what a group leaves unset.</summary>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this("Adam", groups, lr, betas, eps, weightDecay, amsgrad, decoupled: false) { }

    private protected Adam(string name, IEnumerable<ParamGroup> groups, double lr, (double, double)? betas, double eps,
        double weightDecay, bool amsgrad, bool decoupled)
        : base(name, groups, new ParamGroup([], lr: lr, weightDecay: weightDecay, betas: betas ?? (0.9, 0.999), eps: eps, amsgrad: amsgrad),
               g => Validate(name, g))
        => _decoupled = decoupled;

    private static void Validate(string name, ParamGroup g)
    {
        NonNegative(name, "learning rate", g.Lr);
        NonNegative(name, "epsilon", g.Eps);
        NonNegative(name, "weight_decay", g.WeightDecay);
        var (b1, b2) = g.Betas;
        if (!(b1 >= 0 && b1 < 1)) throw new ArgumentValueException(name, $"invalid beta parameter at index 0: {b1} (expected 0 <= beta1 < 1)");
        if (!(b2 >= 0 && b2 < 1)) throw new ArgumentValueException(name, $"invalid beta parameter at index 1: {b2} (expected 0 <= beta2 < 1)");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group.Lr, wd = group.WeightDecay, eps = group.Eps;
        var (beta1, beta2) = group.Betas;
        long t = state.Step;
        var m = state.GetOrZeros("exp_avg", param);
        var v = state.GetOrZeros("exp_avg_sq", param);
        double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
        if (FusedUpdates)
        {
            var vmax = group.Amsgrad ? state.GetOrZeros("max_exp_avg_sq", param) : null;
            if (OptimKernels.CanFuse(param, grad, m, v, vmax))
            {
                OptimKernels.AdamUpdate(param, grad, m, v, vmax, lr, beta1, beta2, eps, wd, _decoupled, bc1, bc2);
                return;
            }
        }
        // The unfused chain (non-contiguous operands): the same steps, one elementwise kernel each.
        var s0 = Scratch(param, 0);
        var s1 = Scratch(param, 1);

        Tensor g = grad;
        if (wd != 0)
        {
            if (_decoupled) OptimKernels.Affine(param, param, 1 - lr * wd);   // p = p·(1 − lr·wd)
            else
            {
                OptimKernels.Affine(s0, param, wd);                       // g = grad + wd·p
                OptimKernels.Binary(BinaryOp.Add, s0, grad, s0);
                g = s0;
            }
        }
        OptimKernels.Affine(m, m, beta1);                                  // m = β1·m + (1 − β1)·g
        OptimKernels.Affine(s1, g, 1 - beta1);
        OptimKernels.Binary(BinaryOp.Add, m, m, s1);
        OptimKernels.Affine(v, v, beta2);                                  // v = β2·v + (1 − β2)·g²
        OptimKernels.Binary(BinaryOp.Mul, s1, g, g);
        OptimKernels.Affine(s1, s1, 1 - beta2);
        OptimKernels.Binary(BinaryOp.Add, v, v, s1);

        double stepSize = lr / bc1, bc2Sqrt = Math.Sqrt(bc2);
        var second = v;
        if (group.Amsgrad)
        {
            var vmax = state.GetOrZeros("max_exp_avg_sq", param);
            OptimKernels.Binary(BinaryOp.Maximum, vmax, vmax, v);
            second = vmax;
        }
        OptimKernels.Sqrt(s0, second);                                     // denom = √v/√bc2 + eps
        OptimKernels.Affine(s0, s0, 1 / bc2Sqrt, eps);
        OptimKernels.Binary(BinaryOp.Div, s0, m, s0);                      // p = p − step_size·m/denom
        OptimKernels.Affine(s0, s0, -stepSize);
        OptimKernels.Binary(BinaryOp.Add, param, param, s0);
    }
}
