namespace Engine.Kernels.Cpu;

// Fused loss kernels: KL divergence and the knowledge-distillation loss.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void KlDiv(in StridedView dst, in StridedView input, in StridedView target, bool logTarget, bool reduce, double scale)
    {
        switch (input.DType)
        {
            case DType.Float32: CpuKlDiv.Forward<float>(dst, input, target, logTarget, reduce, scale); break;
            case DType.Float64: CpuKlDiv.Forward<double>(dst, input, target, logTarget, reduce, scale); break;
            default: throw Unsupported("kl_div", input.DType);
        }
    }

    /// <inheritdoc/>
    public void KlDivBackward(StridedView? dInput, StridedView? dTarget, in StridedView grad, in StridedView input, in StridedView target, bool logTarget, double scale)
    {
        switch (input.DType)
        {
            case DType.Float32: CpuKlDiv.Backward<float>(dInput, dTarget, grad, input, target, logTarget, scale); break;
            case DType.Float64: CpuKlDiv.Backward<double>(dInput, dTarget, grad, input, target, logTarget, scale); break;
            default: throw Unsupported("kl_div_backward", input.DType);
        }
    }

    /// <inheritdoc/>
    public void DistillationLoss(in StridedView loss, in StridedView rowLoss, StridedView? dStudent, in StridedView student, in StridedView teacher,
        in StridedView labels, double temperature, double klScale, double ceScale)
    {
        switch (student.DType)
        {
            case DType.Float32: CpuDistillation.Run<float>(loss, rowLoss, dStudent, student, teacher, labels, temperature, klScale, ceScale); break;
            case DType.Float64: CpuDistillation.Run<double>(loss, rowLoss, dStudent, student, teacher, labels, temperature, klScale, ceScale); break;
            default: throw Unsupported("distillation_loss", student.DType);
        }
    }
}
