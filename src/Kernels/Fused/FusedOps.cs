using System.Numerics;
using Engine.Kernels.Cpu;
using Engine.Kernels.Gpu;

namespace Engine.Kernels.Fused;

/// <summary>The fused ops: recipe-level kernels outside <see cref="IBackend"/>, each with a CPU and a GPU implementation.</summary>
public static partial class FusedOps
{
    /// <summary>
    /// CutMix of images [N, C, H, W] (dst and src contiguous, one dtype of 4 or 8 bytes: float32, float64, int32, int64):
    /// image i of dst is image i of src outside the box [y1, y2) × [x1, x2) and image partner[i] of src inside it
    /// (partner int64 [N], contiguous, values in [0, N); 0 ≤ y1 ≤ y2 ≤ H, 0 ≤ x1 ≤ x2 ≤ W). Either dst is fresh memory
    /// (out of place: every element of dst is written) or dst is src itself (in place: only the boxes are written, each
    /// from its partner's box as it was before the call, so partners whose own boxes are overwritten are still read
    /// intact).
    /// </summary>
    public static readonly CustomOp<CutMixImagesArgs> CutMixImages = new CutMixImagesOp();

    /// <summary>
    /// CutMix soft labels: dst[i, k] = λ·[k = labels[i]] + (1 − λ)·[k = labels[partner[i]]], computed in dst's dtype
    /// (float32 or float64, contiguous [N, classes]) from λ and 1 − λ rounded to it; labels and partner int64 [N],
    /// contiguous, labels in [0, classes).
    /// </summary>
    public static readonly CustomOp<CutMixLabelsArgs> CutMixLabels = new CutMixLabelsOp();

    /// <summary>
    /// One SGD step (torch.optim.SGD) in place, fused into one pass: d = grad (+ weightDecay·param); with momentum,
    /// the momentum buffer becomes d on <c>firstStep</c> (it is then only written) and
    /// momentum·buffer + (1 − dampening)·d afterwards, and d = d + momentum·buffer (Nesterov) or the buffer;
    /// param −= lr·d. Operands are contiguous, of one shape and float dtype; <c>momentumBuffer</c> is
    /// required when momentum ≠ 0 and ignored otherwise. Equal, bit for bit, to the unfused chain of elementwise
    /// kernels in src/Nn/Optim/SGD.cs.
    /// </summary>
    public static readonly CustomOp<SgdArgs> Sgd = new SgdOp();

    /// <summary>
    /// One Adam step (torch.optim.Adam; AdamW when <c>decoupled</c>) in place, fused into one pass:
    /// weight decay (decoupled: param ·= 1 − lr·weightDecay; else grad + weightDecay·param), the moments
    /// expAvg = β1·expAvg + (1 − β1)·g and expAvgSq = β2·expAvgSq + (1 − β2)·g², with
    /// <c>maxExpAvgSq</c> (AMSGrad, when given) = maximum(maxExpAvgSq, expAvgSq) used in place of expAvgSq,
    /// then param −= lr/bc1 · expAvg / (√expAvgSq/√bc2 + eps), where bc1 = 1 − β1ᵗ and bc2 = 1 − β2ᵗ are this step's
    /// bias corrections. Operands are contiguous, of one shape and float dtype. Equal, bit for bit, to the unfused
    /// chain of elementwise kernels in src/Nn/Optim/Adam.cs.
    /// </summary>
    public static readonly CustomOp<AdamArgs> Adam = new AdamOp();

    /// <summary>
    /// KL divergence terms of contiguous <c>input</c> (log-probabilities) and <c>target</c> (same shape;
    /// probabilities, or log-probabilities when <c>logTarget</c>): t·(log t − x) with 0 where t = 0, or e^t·(t − x).
    /// Without <c>reduce</c> dst (contiguous, same shape) gets the terms; with it, dst (one element) gets
    /// <c>scale</c>·Σ terms.
    /// </summary>
    public static readonly CustomOp<KlDivArgs> KlDiv = new KlDivOp();

    /// <summary>
    /// Gradients of <see cref="KlDiv"/> (all contiguous, one shape; <c>grad</c> one element, broadcast, or pointwise):
    /// dInput = −scale·g·p and dTarget = scale·g·(e^t·(t − x + 1)) with log targets, scale·g·(t &gt; 0 ? log t − x + 1 : −x)
    /// otherwise, where p = e^t or t. Either gradient may be null.
    /// </summary>
    public static readonly CustomOp<KlDivBackwardArgs> KlDivBackward = new KlDivBackwardOp();

    /// <summary>
    /// Fused knowledge-distillation loss over contiguous student and teacher logits [B, C] and int64 labels [B]: per row
    /// rowLoss[b] = klScale·KL(softmax(t/T) ‖ softmax(s/T)) + ceScale·(logsumexp(s) − s[y]) (no CE term when y is outside
    /// [0, C), the ignore index, or when ceScale is 0); loss (one element) = Σ rowLoss; and, when given,
    /// dStudent = (klScale/T)·(softmax(s/T) − softmax(t/T)) + ceScale·(softmax(s) − onehot(y)), the gradient of loss.
    /// </summary>
    public static readonly CustomOp<DistillationArgs> Distillation = new DistillationOp();
}

/// <summary>Operands of <see cref="FusedOps.CutMixImages"/>: the box is [Y1, Y2) × [X1, X2).</summary>
public readonly record struct CutMixImagesArgs(StridedView Dst, StridedView Src, StridedView Partner, int Y1, int Y2, int X1, int X2);

/// <summary>Operands of <see cref="FusedOps.CutMixLabels"/>.</summary>
public readonly record struct CutMixLabelsArgs(StridedView Dst, StridedView Labels, StridedView Partner, double Lambda);

/// <summary>Operands and hyper-parameters of <see cref="FusedOps.Sgd"/>.</summary>
public readonly record struct SgdArgs(StridedView Param, StridedView Grad, StridedView? MomentumBuffer, double Lr, double Momentum,
    double Dampening, double WeightDecay, bool Nesterov, bool FirstStep);

/// <summary>Operands and hyper-parameters of <see cref="FusedOps.Adam"/> (bias corrections of this step).</summary>
public readonly record struct AdamArgs(StridedView Param, StridedView Grad, StridedView ExpAvg, StridedView ExpAvgSq, StridedView? MaxExpAvgSq,
    double Lr, double Beta1, double Beta2, double Eps, double WeightDecay, bool Decoupled, double BiasCorrection1, double BiasCorrection2);

/// <summary>Operands of <see cref="FusedOps.KlDiv"/>.</summary>
public readonly record struct KlDivArgs(StridedView Dst, StridedView Input, StridedView Target, bool LogTarget, bool Reduce, double Scale);

/// <summary>Operands of <see cref="FusedOps.KlDivBackward"/>.</summary>
public readonly record struct KlDivBackwardArgs(StridedView? DInput, StridedView? DTarget, StridedView Grad, StridedView Input, StridedView Target,
    bool LogTarget, double Scale);

/// <summary>Operands of <see cref="FusedOps.Distillation"/>.</summary>
public readonly record struct DistillationArgs(StridedView Loss, StridedView RowLoss, StridedView? DStudent, StridedView Student, StridedView Teacher,
    StridedView Labels, double Temperature, double KlScale, double CeScale);

internal sealed class CutMixImagesOp : CustomOp<CutMixImagesArgs>
{
    public override string Name => "cutmix";

    protected override void Cpu(CpuBackend cpu, in CutMixImagesArgs a)
    {
        if (a.Dst.DType.ElementSize() is not (4 or 8)) throw DTypeDispatch.Unsupported(Name, a.Dst.DType);
        DTypeDispatch.Bits(a.Dst.DType, new Kernel(a));
    }

    protected override void Gpu(GpuBackend gpu, in CutMixImagesArgs a) => gpu.CutMix(a.Dst, a.Src, a.Partner, a.Y1, a.Y2, a.X1, a.X2);

    private readonly struct Kernel(CutMixImagesArgs a) : INumericKernel
    {
        public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T> => CpuCutMix.Images<T>(a.Dst, a.Src, a.Partner, a.Y1, a.Y2, a.X1, a.X2);
    }
}

internal sealed class CutMixLabelsOp : CustomOp<CutMixLabelsArgs>
{
    public override string Name => "cutmix_labels";

    protected override void Cpu(CpuBackend cpu, in CutMixLabelsArgs a) => DTypeDispatch.Float(a.Dst.DType, Name, new Kernel(a));

    protected override void Gpu(GpuBackend gpu, in CutMixLabelsArgs a) => gpu.CutMixLabels(a.Dst, a.Labels, a.Partner, a.Lambda);

    private readonly struct Kernel(CutMixLabelsArgs a) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> => CpuCutMix.Labels<T>(a.Dst, a.Labels, a.Partner, a.Lambda);
    }
}

internal sealed unsafe class SgdOp : CustomOp<SgdArgs>
{
    public override string Name => "sgd_update";

    protected override void Cpu(CpuBackend cpu, in SgdArgs a)
    {
        if (a.Momentum != 0 && a.MomentumBuffer is null) throw new ArgumentValueException(Name, "momentum needs a momentum buffer");
        StridedView b = a.Momentum != 0 ? a.MomentumBuffer!.Value : a.Grad;   // checked either way; touched only with momentum
        FusedOptim.Check(Name, a.Param, a.Grad, b);
        DTypeDispatch.Float(a.Param.DType, Name, new Kernel(a.Param, a.Grad, b, FusedOptim.Sgd(a.Lr, a.Momentum, a.Dampening, a.WeightDecay, a.Nesterov, a.FirstStep)));
    }

    protected override void Gpu(GpuBackend gpu, in SgdArgs a) =>
        gpu.SgdUpdate(a.Param, a.Grad, a.MomentumBuffer, a.Lr, a.Momentum, a.Dampening, a.WeightDecay, a.Nesterov, a.FirstStep);

    private readonly struct Kernel(StridedView p, StridedView g, StridedView b, FusedOptim.SgdConstants c) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> => CpuOptim.Sgd(p.Ptr<T>(), g.Ptr<T>(), b.Ptr<T>(), p.NumEl, c);
    }
}

internal sealed unsafe class AdamOp : CustomOp<AdamArgs>
{
    public override string Name => "adam_update";

    protected override void Cpu(CpuBackend cpu, in AdamArgs a)
    {
        StridedView w = a.MaxExpAvgSq ?? a.ExpAvgSq;   // touched only with AMSGrad
        FusedOptim.Check(Name, a.Param, a.Grad, a.ExpAvg, a.ExpAvgSq, w);
        var c = FusedOptim.Adam(a.Lr, a.Beta1, a.Beta2, a.Eps, a.WeightDecay, a.Decoupled, a.MaxExpAvgSq is not null, a.BiasCorrection1, a.BiasCorrection2);
        DTypeDispatch.Float(a.Param.DType, Name, new Kernel(a, w, c));
    }

    protected override void Gpu(GpuBackend gpu, in AdamArgs a) =>
        gpu.AdamUpdate(a.Param, a.Grad, a.ExpAvg, a.ExpAvgSq, a.MaxExpAvgSq, a.Lr, a.Beta1, a.Beta2, a.Eps, a.WeightDecay, a.Decoupled,
            a.BiasCorrection1, a.BiasCorrection2);

    private readonly struct Kernel(AdamArgs a, StridedView w, FusedOptim.AdamConstants c) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> =>
            CpuOptim.Adam(a.Param.Ptr<T>(), a.Grad.Ptr<T>(), a.ExpAvg.Ptr<T>(), a.ExpAvgSq.Ptr<T>(), w.Ptr<T>(), a.Param.NumEl, c);
    }
}

internal sealed class KlDivOp : CustomOp<KlDivArgs>
{
    public override string Name => "kl_div";

    protected override void Cpu(CpuBackend cpu, in KlDivArgs a) => DTypeDispatch.Float(a.Input.DType, Name, new Kernel(a));

    protected override void Gpu(GpuBackend gpu, in KlDivArgs a) => gpu.KlDiv(a.Dst, a.Input, a.Target, a.LogTarget, a.Reduce, a.Scale);

    private readonly struct Kernel(KlDivArgs a) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> =>
            CpuKlDiv.Forward<T>(a.Dst, a.Input, a.Target, a.LogTarget, a.Reduce, a.Scale);
    }
}

internal sealed class KlDivBackwardOp : CustomOp<KlDivBackwardArgs>
{
    public override string Name => "kl_div_backward";

    protected override void Cpu(CpuBackend cpu, in KlDivBackwardArgs a) => DTypeDispatch.Float(a.Input.DType, Name, new Kernel(a));

    protected override void Gpu(GpuBackend gpu, in KlDivBackwardArgs a) => gpu.KlDivBackward(a.DInput, a.DTarget, a.Grad, a.Input, a.Target, a.LogTarget, a.Scale);

    private readonly struct Kernel(KlDivBackwardArgs a) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> =>
            CpuKlDiv.Backward<T>(a.DInput, a.DTarget, a.Grad, a.Input, a.Target, a.LogTarget, a.Scale);
    }
}

internal sealed class DistillationOp : CustomOp<DistillationArgs>
{
    public override string Name => "distillation_loss";

    protected override void Cpu(CpuBackend cpu, in DistillationArgs a) => DTypeDispatch.Float(a.Student.DType, Name, new Kernel(a));

    protected override void Gpu(GpuBackend gpu, in DistillationArgs a) =>
        gpu.DistillationLoss(a.Loss, a.RowLoss, a.DStudent, a.Student, a.Teacher, a.Labels, a.Temperature, a.KlScale, a.CeScale);

    private readonly struct Kernel(DistillationArgs a) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> =>
            CpuDistillation.Run<T>(a.Loss, a.RowLoss, a.DStudent, a.Student, a.Teacher, a.Labels, a.Temperature, a.KlScale, a.CeScale);
    }
}
