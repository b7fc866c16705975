using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Convolution (2-D and 3-D, grouped, strided, dilated, asymmetric padding) by lowering to GEMM: im2col
/// unfolds each sample's input into a [Cg·kvol, P] matrix (P output positions), so the convolution of one
/// group is W_g [Og, Cg·kvol] · col. Backward data is W_gᵀ · dy folded back with col2im, backward weight
/// dy · colᵀ summed over the batch. Samples are spread over cores (each with its own col buffer and a
/// single-threaded GEMM); a batch of one instead gives every core to the GEMM. Small planes put several samples
/// side by side in one col matrix, so one GEMM covers about <see cref="TargetColumns"/> output positions. A 1×1,
/// stride-1, unpadded convolution skips im2col: the input already is the col matrix. Two other kernels take the
/// geometries they do better: depthwise convolutions (one input channel per group) go to
/// <see cref="CpuDepthwiseConv"/>, and most others (not pointwise, output rows filling at least 80% of their vectors) to
/// <see cref="CpuDirectConv"/> for the forward pass, backward data (strided: by stride phases, on small planes), and the
/// weight gradient (rows of 8 and more, padded samples within L2); this class is what remains (strided backward data of
/// 1×1 kernels and large planes, the weight gradient of tiny planes and of many channels, pointwise and narrow-row
/// convolutions).
/// </summary>
public static unsafe class CpuConv
{
    /// <summary>Unfolds one group of one sample: x [Cg, D, H, W] → col [Cg·kvol, P].</summary>
    public static void Im2Col<T>(ConvGeometry g, T* x, T* col) where T : unmanaged, INumber<T> => Walk(g, x, col, g.OutPlane, fold: false);

    /// <summary>Folds col [Cg·kvol, P] back into dx [Cg, D, H, W], adding overlapping contributions.</summary>
    public static void Col2Im<T>(ConvGeometry g, T* col, T* dx) where T : unmanaged, INumber<T> => Walk(g, dx, col, g.OutPlane, fold: true);

    /// <summary>
    /// The im2col row walk shared by both directions: for every col row (c, i, j, l) and output row (od, oh), the input
    /// row it reads. Unfold copies it into col (zeros where the window leaves the input); fold adds col back into x.
    /// Col rows are <paramref name="ld"/> apart, so several samples' unfoldings can sit side by side in one matrix.
    /// Geometry is hoisted into locals: rows of small feature maps are 8–32 elements, so per-row overhead dominates.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Walk<T>(ConvGeometry g, T* x, T* col, long ld, bool fold) where T : unmanaged, INumber<T>
    {
        int oD = g.Out(0), oH = g.Out(1), oW = g.Out(2);
        int P = oD * oH * oW;
        if (g.IsPointwise)
        {
            // Each channel's plane is its col row (several samples of a small plane side by side in one matrix).
            for (int c = 0; c < g.InPerGroup; c++)
                if (fold) RowOp(x + (long)c * P, col + c * ld, P, add: true);
                else RowOp(col + c * ld, x + (long)c * P, P, add: false);
            return;
        }
        if (oW < 8 && g.KernelVolume * P <= 4096) { WalkSmall(g, x, col, ld, fold); return; }
        int inD = g.In[0], inH = g.In[1], inW = g.In[2];
        int kD = g.Kernel[0], kH = g.Kernel[1], kW = g.Kernel[2];
        int sd = g.Stride[0], sh = g.Stride[1], sw = g.Stride[2];
        int pd = g.PadBegin[0], ph = g.PadBegin[1], pw = g.PadBegin[2];
        int dd = g.Dilation[0], dh = g.Dilation[1], dw = g.Dilation[2];
        long row = 0;
        for (int c = 0; c < g.InPerGroup; c++)
            for (int i = 0; i < kD; i++)
                for (int j = 0; j < kH; j++)
                    for (int l = 0; l < kW; l++, row++)
                    {
                        T* crow = col + row * ld;
                        int iw0 = -pw + l * dw;
                        // Output columns [lo, hi) read input columns ow·sw + iw0 inside [0, inW).
                        int lo = iw0 >= 0 ? 0 : Math.Min(oW, (-iw0 + sw - 1) / sw);
                        int hi = inW - iw0 <= 0 ? lo : Math.Max(lo, Math.Min(oW, (inW - iw0 + sw - 1) / sw));
                        for (int od = 0; od < oD; od++)
                        {
                            int id = od * sd - pd + i * dd;
                            for (int oh = 0; oh < oH; oh++)
                            {
                                int ih = oh * sh - ph + j * dh;
                                T* r = crow + ((long)od * oH + oh) * oW;
                                bool inside = (uint)id < (uint)inD && (uint)ih < (uint)inH;
                                if (fold)
                                {
                                    if (!inside) continue;
                                    T* dst = x + (((long)c * inD + id) * inH + ih) * inW + iw0;
                                    if (sw == 1) RowOp(dst + lo, r + lo, hi - lo, add: true);
                                    else for (int ow = lo; ow < hi; ow++) dst[ow * sw] += r[ow];
                                    continue;
                                }
                                if (!inside) { for (int k = 0; k < oW; k++) r[k] = T.Zero; continue; }
                                T* src = x + (((long)c * inD + id) * inH + ih) * inW + iw0;
                                for (int k = 0; k < lo; k++) r[k] = T.Zero;
                                if (sw == 1) RowOp(r + lo, src + lo, hi - lo, add: false);
                                else for (int ow = lo; ow < hi; ow++) r[ow] = src[ow * sw];
                                for (int k = hi; k < oW; k++) r[k] = T.Zero;
                            }
                        }
                    }
    }

    // dst[k] = src[k] (or dst[k] += src[k]) for k < n. Inline vector loop: the rows of small feature maps are 8–64
    // elements, where a Span copy or TensorPrimitives call costs more in call overhead than in moving the data.
    /// <summary>
    /// <see cref="Walk{T}"/> for planes with rows narrower than a vector (DenseNet's and ResNet's 4×4 to 1×1 maps at
    /// 32×32 input), where per-row work dominated: one table gives, for each col entry (tap, position) of a channel, the
    /// input element it reads (−1: padding) and its place in col, so a channel is one flat loop of kvol·P entries.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WalkSmall<T>(ConvGeometry g, T* x, T* col, long ld, bool fold) where T : unmanaged, INumber<T>
    {
        int oD = g.Out(0), oH = g.Out(1), oW = g.Out(2), P = oD * oH * oW, kvol = g.KernelVolume, n = kvol * P;
        int inD = g.In[0], inH = g.In[1], inW = g.In[2];
        int* src = stackalloc int[n];
        long* dst = stackalloc long[n];
        for (int i = 0, t = 0; i < g.Kernel[0]; i++)
            for (int j = 0; j < g.Kernel[1]; j++)
                for (int l = 0; l < g.Kernel[2]; l++)
                    for (int od = 0; od < oD; od++)
                        for (int oh = 0; oh < oH; oh++)
                            for (int ow = 0; ow < oW; ow++, t++)
                            {
                                int id = od * g.Stride[0] - g.PadBegin[0] + i * g.Dilation[0];
                                int ih = oh * g.Stride[1] - g.PadBegin[1] + j * g.Dilation[1];
                                int iw = ow * g.Stride[2] - g.PadBegin[2] + l * g.Dilation[2];
                                bool inside = (uint)id < (uint)inD && (uint)ih < (uint)inH && (uint)iw < (uint)inW;
                                src[t] = inside ? (id * inH + ih) * inW + iw : -1;
                                dst[t] = t / P * ld + t % P;
                            }
        long plane = g.InPlane;
        for (int c = 0; c < g.InPerGroup; c++)
        {
            T* xc = x + c * plane, cc = col + (long)c * kvol * ld;
            if (fold)
                for (int t = 0; t < n; t++) { int o = src[t]; if (o >= 0) xc[o] += cc[dst[t]]; }
            else
                for (int t = 0; t < n; t++) { int o = src[t]; cc[dst[t]] = o >= 0 ? xc[o] : T.Zero; }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowOp<T>(T* dst, T* src, int n, bool add) where T : unmanaged, INumber<T>
    {
        int k = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; k <= n - Vector256<T>.Count; k += Vector256<T>.Count)
            {
                var v = Vector256.Load(src + k);
                Vector256.Store(add ? v + Vector256.Load(dst + k) : v, dst + k);
            }
        for (; k < n; k++) dst[k] = add ? dst[k] + src[k] : src[k];
    }

    private static int Workers(int batch) => Math.Max(1, Math.Min(Environment.ProcessorCount, batch));

    /// <summary>
    /// Output positions one GEMM should cover. Planes smaller than this are unfolded side by side, several samples per
    /// GEMM: an 8×8 plane alone gives a 64-column product whose weight packing costs as much as its arithmetic, and a
    /// 1×1 plane (late pointwise layers) a single column of a 16-wide micro-kernel.
    /// </summary>
    internal const int TargetColumns = 256;

    /// <summary>
    /// Runs body(first sample, samples, worker) over the batch: samples split into contiguous chunks, one per worker,
    /// each chunk walked in groups that fill <see cref="TargetColumns"/> output positions.
    /// </summary>
    private static void ForGroups(ConvGeometry g, Action<int, int, int> body)
    {
        int batch = g.Batch, workers = Workers(batch), per = (batch + workers - 1) / workers;
        int group = Math.Clamp(TargetColumns / Math.Max(1, g.OutPlane), 1, Math.Max(1, per));
        CpuParallel.ForChunks(batch, workers, (w, begin, end) =>
        {
            for (int n = begin; n < end; n += group) body(n, Math.Min(group, end - n), w);
        });
    }

    // Moves rows of P elements between per-sample tensors (row r of sample s at src + s·sampleStride + r·P) and one
    // matrix with the samples side by side (row r of sample s at buf + r·nb·P + s·P); toBuf picks the direction.
    private static void Gather<T>(T* tensor, long sampleStride, T* buf, int rows, int P, int nb, bool toBuf) where T : unmanaged, INumber<T>
    {
        long ld = (long)nb * P;
        for (int s = 0; s < nb; s++)
            for (int r = 0; r < rows; r++)
            {
                T* t = tensor + s * sampleStride + (long)r * P, b = buf + r * ld + (long)s * P;
                if (toBuf) RowOp(b, t, P, add: false); else RowOp(t, b, P, add: false);
            }
    }

    /// <summary>y [N, O, oD, oH, oW] = conv(x [N, C, D, H, W], w [O, Cg, kD, kH, kW]) + bias (optional, [O]).</summary>
    public static void Forward<T>(ConvGeometry g, T* x, T* w, T* bias, T* y) where T : unmanaged, INumber<T>
    {
        if (CpuDepthwiseConv.Applies(g)) { CpuDepthwiseConv.Forward(g, x, w, bias, y); return; }
        if (CpuDirectConv.AppliesForward<T>(g)) { CpuDirectConv.Forward(g, x, w, bias, y); return; }
        int P = g.OutPlane, K = g.InPerGroup * g.KernelVolume, Og = g.OutPerGroup, cg = g.InPerGroup;
        long inSample = (long)g.InChannels * g.InPlane, outSample = (long)g.OutChannels * P;
        bool pointwise = g.IsPointwise, parallelGemm = Workers(g.Batch) == 1;
        nint xp = (nint)x, wp = (nint)w, bp = (nint)bias, yp = (nint)y;
        ForGroups(g, (n0, nb, _) =>
        {
            long cols = (long)nb * P;
            bool direct = pointwise && nb == 1; // the input already is the col matrix
            T* col = direct ? null : (T*)Scratch.Get(2, K * cols * sizeof(T));
            T* outBuf = nb == 1 ? null : (T*)Scratch.Get(3, Og * cols * sizeof(T));
            for (int grp = 0; grp < g.Groups; grp++)
            {
                T* xs = (T*)xp + n0 * inSample + (long)grp * cg * g.InPlane;
                T* src = xs;
                if (!direct)
                {
                    for (int s = 0; s < nb; s++) Walk(g, xs + s * inSample, col + (long)s * P, cols, fold: false);
                    src = col;
                }
                T* ys = (T*)yp + n0 * outSample + (long)grp * Og * P;
                CpuGemm.Gemm(Og, (int)cols, K, (T*)wp + (long)grp * Og * K, K, 1, src, cols, 1, nb == 1 ? ys : outBuf, cols, false, parallelGemm);
                if (nb > 1) Gather(ys, outSample, outBuf, Og, P, nb, toBuf: false);
            }
            if (bp != 0)
                for (int s = 0; s < nb; s++)
                    for (int o = 0; o < g.OutChannels; o++)
                    {
                        T bv = ((T*)bp)[o];
                        T* row = (T*)yp + (n0 + s) * outSample + (long)o * P;
                        for (int p = 0; p < P; p++) row[p] += bv;
                    }
        });
    }

    /// <summary>dx [N, C, D, H, W] = convᵀ(dy, w); dx is overwritten.</summary>
    public static void BackwardData<T>(ConvGeometry g, T* dy, T* w, T* dx) where T : unmanaged, INumber<T>
    {
        if (CpuDepthwiseConv.Applies(g)) { CpuDepthwiseConv.BackwardData(g, dy, w, dx); return; }
        if (CpuDirectConv.AppliesBackwardData<T>(g)) { CpuDirectConv.BackwardData(g, dy, w, dx); return; }
        int P = g.OutPlane, K = g.InPerGroup * g.KernelVolume, Og = g.OutPerGroup, cg = g.InPerGroup;
        long inSample = (long)g.InChannels * g.InPlane, outSample = (long)g.OutChannels * P;
        bool pointwise = g.IsPointwise, parallelGemm = Workers(g.Batch) == 1;
        nint dyp = (nint)dy, wp = (nint)w, dxp = (nint)dx;
        ForGroups(g, (n0, nb, _) =>
        {
            long cols = (long)nb * P;
            bool direct = pointwise && nb == 1;
            T* col = direct ? null : (T*)Scratch.Get(2, K * cols * sizeof(T));
            T* dyBuf = nb == 1 ? null : (T*)Scratch.Get(3, Og * cols * sizeof(T));
            for (int grp = 0; grp < g.Groups; grp++)
            {
                T* dxs = (T*)dxp + n0 * inSample + (long)grp * cg * g.InPlane;
                T* dys = (T*)dyp + n0 * outSample + (long)grp * Og * P;
                T* wg = (T*)wp + (long)grp * Og * K;
                if (nb > 1) { Gather(dys, outSample, dyBuf, Og, P, nb, toBuf: true); dys = dyBuf; }
                if (direct) { CpuGemm.Gemm(K, P, Og, wg, 1, K, dys, P, 1, dxs, P, false, parallelGemm); continue; }
                CpuGemm.Gemm(K, (int)cols, Og, wg, 1, K, dys, cols, 1, col, cols, false, parallelGemm);
                for (int s = 0; s < nb; s++)
                {
                    new Span<T>(dxs + s * inSample, cg * g.InPlane).Clear();
                    Walk(g, dxs + s * inSample, col + (long)s * P, cols, fold: true);
                }
            }
        });
    }

    /// <summary>dw [O, Cg, kD, kH, kW] = Σ_n dy[n] · im2col(x[n])ᵀ; dw is overwritten. Optional db [O] = Σ dy.</summary>
    public static void BackwardWeight<T>(ConvGeometry g, T* dy, T* x, T* dw, T* db) where T : unmanaged, INumber<T>
    {
        if (CpuDepthwiseConv.Applies(g)) CpuDepthwiseConv.BackwardWeight(g, dy, x, dw);
        // Direct where it wins (64 channels at 8×8: 0.8× im2col + GEMM's time, 16 at 32×32 5×5: 0.45×).
        else if (CpuDirectConv.AppliesBackwardWeight<T>(g)) CpuDirectConv.BackwardWeight(g, dy, x, dw);
        else BackwardWeightGemm(g, dy, x, dw);
        if (db == null) return;
        int P = g.OutPlane;
        long outSample = (long)g.OutChannels * P;
        for (int o = 0; o < g.OutChannels; o++)
        {
            T s = T.Zero;
            for (int n = 0; n < g.Batch; n++)
            {
                T* row = dy + n * outSample + (long)o * P;
                for (int p = 0; p < P; p++) s += row[p];
            }
            db[o] = s;
        }
    }

    private static void BackwardWeightGemm<T>(ConvGeometry g, T* dy, T* x, T* dw) where T : unmanaged, INumber<T>
    {
        int P = g.OutPlane, K = g.InPerGroup * g.KernelVolume, Og = g.OutPerGroup, cg = g.InPerGroup;
        long inSample = (long)g.InChannels * g.InPlane, outSample = (long)g.OutChannels * P;
        long wSize = (long)g.OutChannels * K;
        bool pointwise = g.IsPointwise;
        int workers = Workers(g.Batch);
        bool parallelGemm = workers == 1;
        // One partial dw per worker, summed at the end (no locks in the hot loop).
        using var partial = new HostBuffer<T>(workers * wSize);
        partial.Clear(0, workers * wSize); // every worker's, since a worker's chunk of samples may be empty
        nint dyp = (nint)dy, xp = (nint)x;
        ForGroups(g, (n0, nb, worker) =>
        {
            long cols = (long)nb * P;
            bool direct = pointwise && nb == 1;
            T* col = direct ? null : (T*)Scratch.Get(2, K * cols * sizeof(T));
            T* dyBuf = nb == 1 ? null : (T*)Scratch.Get(3, Og * cols * sizeof(T));
            {
                T* acc = partial.Ptr + worker * wSize;
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    T* xs = (T*)xp + n0 * inSample + (long)grp * cg * g.InPlane;
                    T* src = xs;
                    if (!direct)
                    {
                        for (int s = 0; s < nb; s++) Walk(g, xs + s * inSample, col + (long)s * P, cols, fold: false);
                        src = col;
                    }
                    T* dys = (T*)dyp + n0 * outSample + (long)grp * Og * P;
                    if (nb > 1) { Gather(dys, outSample, dyBuf, Og, P, nb, toBuf: true); dys = dyBuf; }
                    // The reduction runs over every position of every sample in the group.
                    CpuGemm.Gemm(Og, K, (int)cols, dys, cols, 1, src, 1, cols, acc + (long)grp * Og * K, K, true, parallelGemm);
                }
            }
        });
        CpuParallel.SumInOrder(partial.Ptr, workers, wSize, dw, wSize);
    }
}
