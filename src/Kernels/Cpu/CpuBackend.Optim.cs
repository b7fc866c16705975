namespace Engine.Kernels.Cpu;

// Fused optimizer updates (CpuOptim): one vectorised, parallel pass per parameter.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void SgdUpdate(in StridedView param, in StridedView grad, StridedView? momentumBuffer, double lr, double momentum,
        double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        const string Op = "sgd_update";
        if (momentum != 0 && momentumBuffer is null) throw new ArgumentValueException(Op, "momentum needs a momentum buffer");
        StridedView b = momentum != 0 ? momentumBuffer!.Value : grad;   // checked either way; touched only with momentum
        FusedOptim.Check(Op, param, grad, b);
        var c = FusedOptim.Sgd(lr, momentum, dampening, weightDecay, nesterov, firstStep);
        long n = param.NumEl;
        if (param.DType == DType.Float32) CpuOptim.Sgd(param.Ptr<float>(), grad.Ptr<float>(), b.Ptr<float>(), n, c);
        else CpuOptim.Sgd(param.Ptr<double>(), grad.Ptr<double>(), b.Ptr<double>(), n, c);
    }

    /// <inheritdoc/>
    public void AdamUpdate(in StridedView param, in StridedView grad, in StridedView expAvg, in StridedView expAvgSq, StridedView? maxExpAvgSq,
        double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, double biasCorrection1, double biasCorrection2)
    {
        const string Op = "adam_update";
        StridedView w = maxExpAvgSq ?? expAvgSq;   // touched only with AMSGrad
        FusedOptim.Check(Op, param, grad, expAvg, expAvgSq, w);
        var c = FusedOptim.Adam(lr, beta1, beta2, eps, weightDecay, decoupled, maxExpAvgSq is not null, biasCorrection1, biasCorrection2);
        long n = param.NumEl;
        if (param.DType == DType.Float32)
            CpuOptim.Adam(param.Ptr<float>(), grad.Ptr<float>(), expAvg.Ptr<float>(), expAvgSq.Ptr<float>(), w.Ptr<float>(), n, c);
        else
            CpuOptim.Adam(param.Ptr<double>(), grad.Ptr<double>(), expAvg.Ptr<double>(), expAvgSq.Ptr<double>(), w.Ptr<double>(), n, c);
    }
}
