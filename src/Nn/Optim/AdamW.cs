namespace Engine.Nn;

/// <summary>
/// AdamW (Loshchilov and Hutter), exactly as PyTorch's torch.optim.AdamW: weight decay is decoupled from the
/// gradient, applied as <c>p = p − lr·weight_decay·p</c> before the <see cref="Adam"/> update (which then adds
/// no L2 term). Default weight decay 0.01. State as Adam's.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>AdamW over <paramref name="parameters"/> (one group).</summary>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : this([new ParamGroup(parameters)], lr, betas, eps, weightDecay, amsgrad) { }

    /// <summary>AdamW over <paramref name="groups"/>; the other arguments are the defaults for what a group leaves unset.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : base("AdamW", groups, lr, betas, eps, weightDecay, amsgrad, decoupled: true) { }
}
