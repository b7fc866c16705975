using Engine.Kernels.Cuda;

namespace Engine.Kernels.Gpu;

// Batch norm: cuDNN on a real GPU (spatial mode over x seen as [N, C, S, 1]); the CPU kernel on the emulator's
// host-mapped memory.
// PyTorch's semantics hold as they are: cuDNN's exponentialAverageFactor is PyTorch's momentum (running = (1 − m)·running
// + m·batch), cuDNN updates the running variance with the unbiased batch variance (as PyTorch, which calls cuDNN the same
// way without correction), and resultSaveInvVariance is 1/√(σ² + eps), the engine's saveInvStd.
public sealed unsafe partial class GpuBackend
{
    /// <summary>
    /// The epsilon given to cudnnBatchNormalizationBackward, which the IBackend call does not carry: cuDNN reads it only
    /// to recompute the statistics when no saved mean and inverse std are passed, and they always are.
    /// </summary>
    private const double BackwardEpsilon = 1e-5;

    /// <inheritdoc/>
    public void BatchNormForward(BatchNormParams args, in StridedView y, in StridedView x, in BatchNormChannels channels, in BatchNormSaved saved)
    {
        if (CudaRuntimeOrNull is not { } cuda)
        {
            Cpu("batch_norm").BatchNormForward(args, y, x, channels, saved);
            return;
        }
        var (n, c, s, training, momentum, eps) = args;
        var (weight, bias, runningMean, runningVar) = channels;
        var (saveMean, saveInvStd) = saved;
        const string op = "batch_norm";
        var dt = x.DType;
        int cdt = CudnnDescriptor.DataType(dt, op);
        ulong xa = Addr(x, op), ya = Addr(y, op), sm = Addr(saveMean, op), si = Addr(saveInvStd, op);
        ulong rm = runningMean is { } rmv ? Addr(rmv, op) : 0, rv = runningVar is { } rvv ? Addr(rvv, op) : 0;
        GpuStorage? ones = null, zeros = null;
        try
        {
            ulong wa = weight is { } wv ? Addr(wv, op) : (ones = Constant(c, dt, 1)).Address;
            ulong ba = bias is { } bv ? Addr(bv, op) : (zeros = ZeroScratch(c, dt)).Address;
            if ((long)n * c * s == 0)
            {
                // cuDNN rejects zero dims. Training never gets here (the tensor layer wants n·s > 1); in eval an empty x
                // has an empty y, and the saved statistics below still come from the running ones.
                if (c == 0 || training) return;
            }
            else
            {
                using var xd = CudnnDescriptor.Tensor(cdt, [n, c, s, 1]);
                using var pd = CudnnDescriptor.Tensor(cdt, [1, c, 1, 1]);
                byte* sc = stackalloc byte[16];
                Scalars(sc, dt);
                using (var lib = cuda.EnterCudnn())
                {
                    if (training)
                        Cudnn.Check(Cudnn.cudnnBatchNormalizationForwardTraining(lib.Handle, Cudnn.CUDNN_BATCHNORM_SPATIAL, sc, sc + 8, xd.Handle, xa, xd.Handle, ya,
                            pd.Handle, wa, ba, momentum, rm, rv, eps, sm, si), nameof(Cudnn.cudnnBatchNormalizationForwardTraining), $"x [{n}, {c}, {s}]");
                    else
                        Cudnn.Check(Cudnn.cudnnBatchNormalizationForwardInference(lib.Handle, Cudnn.CUDNN_BATCHNORM_SPATIAL, sc, sc + 8, xd.Handle, xa, xd.Handle, ya,
                            pd.Handle, wa, ba, rm, rv, eps), nameof(Cudnn.cudnnBatchNormalizationForwardInference), $"x [{n}, {c}, {s}]");
                }
                CountLibraryCall();
            }
            if (!training)
            {
                // The statistics used are the running ones: saveMean = running mean, saveInvStd = 1/√(running var + eps).
                Copy(saveMean, runningMean!.Value);
                Unary(UnaryOp.Affine, saveInvStd, runningVar!.Value, 1, eps);
                Unary(UnaryOp.Rsqrt, saveInvStd, saveInvStd, 0, 0);
            }
        }
        finally { ones?.Release(); zeros?.Release(); }
    }

    /// <inheritdoc/>
    public void BatchNormBackward(BatchNormParams args, in BatchNormGrads grads, in StridedView dy, in StridedView x, StridedView? weight, in BatchNormSaved saved)
    {
        if (CudaRuntimeOrNull is not { } cuda)
        {
            Cpu("batch_norm_backward").BatchNormBackward(args, grads, dy, x, weight, saved);
            return;
        }
        var (n, c, s, training, _, _) = args;
        var (dx, dw, db) = grads;
        var (saveMean, saveInvStd) = saved;
        const string op = "batch_norm_backward";
        var dt = x.DType;
        int cdt = CudnnDescriptor.DataType(dt, op);
        if ((long)n * c * s == 0)
        {
            // cuDNN rejects zero dims: an empty batch has an empty dx and zero parameter gradients.
            if (dw is { } dwz && dwz.NumEl > 0) Fill(dwz, 0);
            if (db is { } dbz && dbz.NumEl > 0) Fill(dbz, 0);
            return;
        }
        if (!training) { BatchNormBackwardEval(cuda, n, c, s, dx, dw, db, dy, x, weight, saveMean, saveInvStd, cdt); return; }
        ulong xa = Addr(x, op), dya = Addr(dy, op), sm = Addr(saveMean, op), si = Addr(saveInvStd, op);
        var temps = new List<GpuStorage>();
        try
        {
            // cuDNN writes dx, dscale and dbias unconditionally and reads a scale: temporaries stand in for what is absent.
            ulong Out(StridedView? v, long elements) => v is { } view ? Addr(view, op) : Temp(elements);
            ulong Temp(long elements) { var t = Scratch(elements * dt.ElementSize()); temps.Add(t); return t.Address; }
            ulong dxa = Out(dx, (long)n * c * s), dwa = Out(dw, c), dba = Out(db, c);
            ulong wa;
            if (weight is { } wv) wa = Addr(wv, op);
            else { var one = Constant(c, dt, 1); temps.Add(one); wa = one.Address; }
            using var xd = CudnnDescriptor.Tensor(cdt, [n, c, s, 1]);
            using var pd = CudnnDescriptor.Tensor(cdt, [1, c, 1, 1]);
            byte* sc = stackalloc byte[16];
            Scalars(sc, dt);
            using (var lib = cuda.EnterCudnn())
                Cudnn.Check(Cudnn.cudnnBatchNormalizationBackward(lib.Handle, Cudnn.CUDNN_BATCHNORM_SPATIAL, sc, sc + 8, sc, sc + 8, xd.Handle, xa, xd.Handle, dya,
                    xd.Handle, dxa, pd.Handle, wa, dwa, dba, BackwardEpsilon, sm, si), nameof(Cudnn.cudnnBatchNormalizationBackward), $"x [{n}, {c}, {s}]");
            CountLibraryCall();
        }
        finally { foreach (var t in temps) t.Release(); }
    }

    // Eval mode: the statistics are constants, so dx = dy·w·σ⁻¹ (per channel), dw = Σ dy·x̂, db = Σ dy. cuDNN's
    // backward assumes batch statistics, so this uses the engine's broadcasting kernels and cuDNN's per-channel sum
    // (cudnnConvolutionBackwardBias over [N, C, S, 1]).
    private void BatchNormBackwardEval(CudaRuntime cuda, int n, int c, int s, StridedView? dx, StridedView? dw, StridedView? db, in StridedView dy,
        in StridedView x, StridedView? weight, in StridedView saveMean, in StridedView saveInvStd, int cdt)
    {
        const string op = "batch_norm_backward";
        var dt = x.DType;
        long[] full = [n, c, s];
        long[] perChannel = [0, 1, 0];
        var dy3 = dy.With(full, ShapeUtil.ContiguousStrides(full));
        var x3 = x.With(full, ShapeUtil.ContiguousStrides(full));
        StridedView Bcast(in StridedView v) => v.With(full, perChannel);
        GpuStorage? scale = null, xhat = null;
        try
        {
            if (dx is { } dxv)
            {
                var dx3 = dxv.With(full, ShapeUtil.ContiguousStrides(full));
                if (weight is { } wv)
                {
                    scale = Scratch((long)c * dt.ElementSize());
                    var sv = ViewOf(scale, [c], dt);
                    Binary(BinaryOp.Mul, sv, wv, saveInvStd, 0, 0);
                    Binary(BinaryOp.Mul, dx3, dy3, Bcast(sv), 0, 0);
                }
                else Binary(BinaryOp.Mul, dx3, dy3, Bcast(saveInvStd), 0, 0);
            }
            if (dw is null && db is null) return;
            using var yd = CudnnDescriptor.Tensor(cdt, [n, c, s, 1]);
            using var pd = CudnnDescriptor.Tensor(cdt, [1, c, 1, 1]);
            byte* sc = stackalloc byte[16];
            Scalars(sc, dt);
            if (db is { } dbv)
            {
                using var lib = cuda.EnterCudnn();
                Cudnn.Check(Cudnn.cudnnConvolutionBackwardBias(lib.Handle, sc, yd.Handle, Addr(dy, op), sc + 8, pd.Handle, Addr(dbv, op)), nameof(Cudnn.cudnnConvolutionBackwardBias), "batch norm Σdy");
                CountLibraryCall();
            }
            if (dw is { } dwv)
            {
                xhat = Scratch((long)n * c * s * dt.ElementSize());
                var t = ViewOf(xhat, full, dt);
                Binary(BinaryOp.Sub, t, x3, Bcast(saveMean), 0, 0);
                Binary(BinaryOp.Mul, t, t, Bcast(saveInvStd), 0, 0);
                Binary(BinaryOp.Mul, t, t, dy3, 0, 0);
                using var lib = cuda.EnterCudnn();
                Cudnn.Check(Cudnn.cudnnConvolutionBackwardBias(lib.Handle, sc, yd.Handle, xhat.Address, sc + 8, pd.Handle, Addr(dwv, op)), nameof(Cudnn.cudnnConvolutionBackwardBias), "batch norm Σdy·x̂");
                CountLibraryCall();
            }
        }
        finally { scale?.Release(); xhat?.Release(); }
    }

    // A temporary of `count` elements all equal to `value`.
    private GpuStorage Constant(int count, DType dt, double value)
    {
        var s = Scratch((long)count * dt.ElementSize());
        Fill(ViewOf(s, [count], dt), value);
        return s;
    }
}
