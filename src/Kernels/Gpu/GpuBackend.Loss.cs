namespace Engine.Kernels.Gpu;

// KL divergence and the fused knowledge-distillation loss: hand-written PTX (kl_div.ptx, distillation.ptx) for float32;
// float64 runs the CPU kernels (on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    private const int LossBlock = 256;
    private const int MaxPartials = 1024;
    private readonly Lock _klSumLock = new();
    private GpuStorage? _klPartials;

    /// <summary>The GPU implementation of <see cref="Fused.FusedOps.KlDiv"/>.</summary>
    public void KlDiv(in StridedView dst, in StridedView input, in StridedView target, bool logTarget, bool reduce, double scale)
    {
        const string op = "kl_div";
        if (input.DType != DType.Float32) { Fused.FusedOps.KlDiv.Run(Cpu(op), new(dst, input, target, logTarget, reduce, scale)); return; }
        long n = input.NumEl;
        ulong pd = Addr(dst, op), px = Addr(input, op), pt = Addr(target, op);
        int blocks = (int)Math.Clamp((n + LossBlock - 1) / LossBlock, 1, MaxPartials);
        if (!reduce)
        {
            if (n == 0) return;
            Launch(EmbeddedKernel("kl_div", "kl_div_pointwise"), blocks, LossBlock, 0,
                new ParamBuffer().U64(pd).U64(px).U64(pt).U64((ulong)n).U32(logTarget ? 1u : 0u));
            return;
        }
        // Per-block partial sums, then one block adds them in a fixed order: deterministic, no atomics. The partials
        // buffer is shared by every call on this backend, so the two launches are enqueued under a lock.
        lock (_klSumLock)
        {
            _klPartials ??= (GpuStorage)Allocate(MaxPartials * sizeof(float), zero: false);
            ulong partials = _klPartials.Address;
            Launch(EmbeddedKernel("kl_div", "kl_div_partial"), blocks, LossBlock, 0,
                new ParamBuffer().U64(partials).U64(px).U64(pt).U64((ulong)n).U32(logTarget ? 1u : 0u));
            Launch(EmbeddedKernel("kl_div", "kl_div_finish"), 1, LossBlock, 0,
                new ParamBuffer().U64(pd).U64(partials).U32((uint)blocks).F32((float)scale));
        }
    }

    /// <summary>The GPU implementation of <see cref="Fused.FusedOps.KlDivBackward"/>.</summary>
    public void KlDivBackward(StridedView? dInput, StridedView? dTarget, in StridedView grad, in StridedView input, in StridedView target, bool logTarget, double scale)
    {
        const string op = "kl_div_backward";
        if (input.DType != DType.Float32) { Fused.FusedOps.KlDivBackward.Run(Cpu(op), new(dInput, dTarget, grad, input, target, logTarget, scale)); return; }
        long n = input.NumEl;
        ulong pdx = dInput is { } a ? Addr(a, op) : 0, pdt = dTarget is { } b ? Addr(b, op) : 0;
        ulong pg = Addr(grad, op), px = Addr(input, op), pt = Addr(target, op);
        if (n == 0 || (pdx == 0 && pdt == 0)) return;
        int blocks = (int)Math.Clamp((n + LossBlock - 1) / LossBlock, 1, MaxBlocks);
        Launch(EmbeddedKernel("kl_div", "kl_div_backward"), blocks, LossBlock, 0,
            new ParamBuffer().U64(pdx).U64(pdt).U64(pg).U64(px).U64(pt).U64((ulong)n)
                .U32(grad.NumEl == 1 ? 0u : 1u).U32(logTarget ? 1u : 0u).F32((float)scale));
    }

    /// <summary>The GPU implementation of <see cref="Fused.FusedOps.Distillation"/>.</summary>
    public void DistillationLoss(in StridedView loss, in StridedView rowLoss, StridedView? dStudent, in StridedView student, in StridedView teacher,
        in StridedView labels, double temperature, double klScale, double ceScale)
    {
        const string op = "distillation_loss";
        if (student.DType != DType.Float32)
        {
            Fused.FusedOps.Distillation.Run(Cpu(op), new(loss, rowLoss, dStudent, student, teacher, labels, temperature, klScale, ceScale));
            return;
        }
        int b = (int)student.Shape[0], c = (int)student.Shape[1];
        ulong pl = Addr(loss, op), pr = Addr(rowLoss, op), pd = dStudent is { } d ? Addr(d, op) : 0;
        ulong ps = Addr(student, op), pt = Addr(teacher, op), py = Addr(labels, op);
        // 16-byte loads and stores when every row starts 16-byte aligned
        bool vec4 = c % 4 == 0 && ((ps | pt | (pd == 0 ? 0 : pd)) & 15) == 0;
        if (b > 0)
            Launch(EmbeddedKernel("distillation", "distill_rows"), b, RowThreads(b, c), 0,
                new ParamBuffer().U64(pr).U64(pd).U64(ps).U64(pt).U64(py).U32((uint)c)
                    .F32((float)(1 / temperature)).F32((float)klScale).F32((float)(klScale / temperature)).F32((float)ceScale)
                    .U32(vec4 ? 1u : 0u));
        Launch(EmbeddedKernel("distillation", "distill_sum"), 1, LossBlock, 0, new ParamBuffer().U64(pl).U64(pr).U32((uint)b));
    }

    /// <summary>
    /// Threads per row block, a whole number of warps from 32 to 512: about 8 columns per thread when there are enough rows to
    /// fill the GPU (several blocks per SM), 4 for small batches, where more threads per row hide more memory latency.
    /// </summary>
    internal static int RowThreads(int rows, int columns) => Math.Clamp((columns / (rows >= 2048 ? 8 : 4) + 31) / 32 * 32, 32, 512);
}
