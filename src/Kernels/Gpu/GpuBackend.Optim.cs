namespace Engine.Kernels.Gpu;

// Fused optimizer updates: the hand-written kernels of Kernels/optim.ptx (sgd_f32/f64, adam_f32/f64), one launch per
// parameter. The scalars come from FusedOptim (the CPU backend derives the same ones), rounded once to the element type.
public sealed partial class GpuBackend
{
    private const string OptimModule = "optim";

    /// <summary>The GPU implementation of <see cref="Fused.FusedOps.Sgd"/>.</summary>
    public void SgdUpdate(in StridedView param, in StridedView grad, StridedView? momentumBuffer, double lr, double momentum,
        double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        const string Op = "sgd_update";
        if (momentum != 0 && momentumBuffer is null) throw new ArgumentValueException(Op, "momentum needs a momentum buffer");
        StridedView b = momentum != 0 ? momentumBuffer!.Value : grad;
        FusedOptim.Check(Op, param, grad, b);
        var c = FusedOptim.Sgd(lr, momentum, dampening, weightDecay, nesterov, firstStep);
        bool f32 = param.DType == DType.Float32;
        ulong ap = Addr(param, Op), ag = Addr(grad, Op), ab = momentum != 0 ? Addr(b, Op) : 0;
        long n = param.NumEl;
        if (n == 0) return;
        var (nvec, blocks) = VectorSplit(n, f32, ap, ag, ab);
        var p = new ParamBuffer().U64((ulong)n).U64((ulong)nvec).U64(ap).U64(ag).U64(ab);
        Scalars(p, f32, c.WeightDecay, c.Momentum, c.Damp, c.NegLr);
        p.U32((uint)c.Flags);
        Launch(EmbeddedKernel(OptimModule, f32 ? "sgd_f32" : "sgd_f64"), blocks, BlockSize, 0, p);
    }

    /// <summary>The GPU implementation of <see cref="Fused.FusedOps.Adam"/>.</summary>
    public void AdamUpdate(in StridedView param, in StridedView grad, in StridedView expAvg, in StridedView expAvgSq, StridedView? maxExpAvgSq,
        double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, double biasCorrection1, double biasCorrection2)
    {
        const string Op = "adam_update";
        StridedView w = maxExpAvgSq ?? expAvgSq;
        FusedOptim.Check(Op, param, grad, expAvg, expAvgSq, w);
        var c = FusedOptim.Adam(lr, beta1, beta2, eps, weightDecay, decoupled, maxExpAvgSq is not null, biasCorrection1, biasCorrection2);
        bool f32 = param.DType == DType.Float32;
        ulong ap = Addr(param, Op), ag = Addr(grad, Op), am = Addr(expAvg, Op), av = Addr(expAvgSq, Op), aw = maxExpAvgSq is not null ? Addr(w, Op) : 0;
        long n = param.NumEl;
        if (n == 0) return;
        var (nvec, blocks) = VectorSplit(n, f32, ap, ag, am, av, aw);
        var p = new ParamBuffer().U64((ulong)n).U64((ulong)nvec).U64(ap).U64(ag).U64(am).U64(av).U64(aw);
        Scalars(p, f32, c.WeightDecay, c.Decay, c.Beta1, c.OneMinusBeta1, c.Beta2, c.OneMinusBeta2, c.InvBc2Sqrt, c.Eps, c.NegStep);
        p.U32((uint)c.Flags);
        Launch(EmbeddedKernel(OptimModule, f32 ? "adam_f32" : "adam_f64"), blocks, BlockSize, 0, p);
    }

    /// <summary>
    /// The number of 16-byte groups the kernels' vector loop takes (0 unless every pointer, 0 for an unused one, is
    /// 16-byte aligned: the scalar loop then takes everything) and the grid size: enough threads for the larger of the
    /// two loops, at most <see cref="MaxBlocks"/> blocks (the loops stride over the grid).
    /// </summary>
    private (long NVec, int Blocks) VectorSplit(long n, bool f32, params ReadOnlySpan<ulong> addrs)
    {
        int lanes = f32 ? 4 : 2;
        bool aligned = true;
        foreach (var a in addrs) aligned &= a % 16 == 0;
        long nvec = aligned ? n / lanes : 0;
        long work = Math.Max(nvec, n - nvec * lanes);
        return (nvec, (int)Math.Clamp((work + BlockSize - 1) / BlockSize, 1, MaxBlocks));
    }

    private static void Scalars(ParamBuffer p, bool f32, params ReadOnlySpan<double> values)
    {
        foreach (var v in values)
            if (f32) p.F32((float)v); else p.F64(v);
    }
}
