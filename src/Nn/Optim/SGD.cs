using Engine.Kernels;

namespace Engine.Nn;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and weight decay, exactly
/// as PyTorch's torch.optim.SGD:
/// <code>
/// g = grad + weight_decay·p
/// if momentum ≠ 0:
///     buf = g                                   (first step: no dampening)
///     buf = momentum·buf + (1 − dampening)·g    (later steps)
///     g   = g + momentum·buf   if nesterov   else   buf
/// p = p − lr·g
/// </code>
/// State per parameter: "momentum_buffer" (only with momentum). Each parameter is updated by one fused kernel
/// (<c>FusedOps.Sgd</c>) when it, its gradient and its buffer are contiguous, else by the chain of elementwise
/// kernels below; both give the same numbers bit for bit.
/// </summary>
public sealed class SGD : Optimizer
{
    /// <summary>SGD over <paramref name="parameters"/> (one group).</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr = 1e-3, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false)
        : this([new ParamGroup(parameters)], lr, momentum, dampening, weightDecay, nesterov) { }

    /// <summary>SGD over <paramref name="groups"/>; the other arguments are the defaults for what a group leaves unset.</summary>
    public SGD(IEnumerable<ParamGroup> groups, double lr = 1e-3, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false)
        : base("SGD", groups, new ParamGroup([], lr: lr, weightDecay: weightDecay, momentum: momentum, dampening: dampening, nesterov: nesterov), Validate) { }

    private static void Validate(ParamGroup g)
    {
        NonNegative("SGD", "learning rate", g.Lr);
        NonNegative("SGD", "momentum", g.Momentum);
        NonNegative("SGD", "weight_decay", g.WeightDecay);
        if (double.IsNaN(g.Dampening) || double.IsInfinity(g.Dampening))
            throw new ArgumentValueException("SGD", $"invalid dampening value: {g.Dampening}");
        if (g.Nesterov && (g.Momentum <= 0 || g.Dampening != 0))
            throw new ArgumentValueException("SGD", "Nesterov momentum requires a momentum and zero dampening");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group.Lr, wd = group.WeightDecay, momentum = group.Momentum, dampening = group.Dampening;
        var state0 = momentum != 0 ? state["momentum_buffer"] : null;
        if (FusedUpdates && OptimKernels.CanFuse(param, grad, state0))
        {
            bool first = momentum != 0 && state0 is null;
            var b = first ? Tensor.Empty(param.Shape, param.DType, param.Device, op: "SGD") : state0;   // the kernel writes it first
            OptimKernels.SgdUpdate(param, grad, b, lr, momentum, dampening, wd, group.Nesterov, first);
            if (first) state.Set("momentum_buffer", b!);
            return;
        }
        // The unfused chain (non-contiguous operands): the same steps, one elementwise kernel each.
        Tensor d = grad;
        bool dIsScratch = false;
        if (wd != 0)
        {
            var t = Scratch(param, 0);
            OptimKernels.Affine(t, param, wd);
            OptimKernels.Binary(BinaryOp.Add, t, grad, t);
            d = t; dIsScratch = true;
        }
        if (momentum != 0)
        {
            var buf = state["momentum_buffer"];
            if (buf is null)
            {
                buf = Tensor.Empty(param.Shape, param.DType, param.Device, op: "SGD");
                buf.CopyFromUnchecked(d);
                state.Set("momentum_buffer", buf);
            }
            else
            {
                OptimKernels.Affine(buf, buf, momentum);
                OptimKernels.Axpy(buf, d, 1 - dampening, Scratch(param, 1));
            }
            if (group.Nesterov)
            {
                var t = dIsScratch ? Scratch(param, 1) : Scratch(param, 0);
                OptimKernels.Affine(t, buf, momentum);
                var dst = Scratch(param, 0);
                OptimKernels.Binary(BinaryOp.Add, dst, d, t);
                d = dst; dIsScratch = true;
            }
            else { d = buf; dIsScratch = false; }
        }
        if (dIsScratch)
        {
            OptimKernels.Affine(d, d, -lr);
            OptimKernels.Binary(BinaryOp.Add, param, param, d);
        }
        else OptimKernels.Axpy(param, d, -lr, Scratch(param, 0));
    }
}
