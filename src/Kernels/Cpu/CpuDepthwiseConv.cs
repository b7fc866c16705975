using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Depthwise convolution (one input channel per group: groups = C, any channel multiplier O/C), computed directly
/// instead of by im2col + a tiny GEMM per group. With W stride 1 and output rows of at least a vector, a plane is
/// copied zero-padded and each output vector sums its taps in a register (<see cref="Plane{T}"/>; backward data, all
/// strides 1, is the same routine on the flipped kernel; the weight gradient is a flat run per tap over the padded
/// plane). Otherwise every pass is a sum over kernel taps of a row operation on contiguous output rows: forward
/// y_row += w·x_row (shifted by the tap), backward data dx_row += w·dy_row, backward weight dw += dy_row·x_row, Vector256
/// axpy / dot loops over the valid span of the row with W stride 1, a scalar loop otherwise. Planes are spread over
/// cores (forward and backward data: (sample, channel) planes; backward weight: output channels, each owning its dw
/// slice), so no partial sums need merging.
/// </summary>
public static unsafe class CpuDepthwiseConv
{
    /// <summary>True when the geometry is depthwise (groups = input channels, more than one group).</summary>
    public static bool Applies(ConvGeometry g) => g.Groups > 1 && g.InPerGroup == 1;

    private enum Pass { Forward, BackwardData, BackwardWeight }

    // The geometry as plain ints, computed once per call: Taps runs once per plane (tens of thousands of 1×1 to 4×4
    // planes per layer in MobileNet at 32×32), and recomputing output sizes (64-bit divisions) there took 3% of a step.
    private readonly record struct Dims(int OD, int OH, int OW, int ID, int IH, int IW, int KD, int KH, int KW,
        int SD, int SH, int SW, int PD, int PH, int PW, int DD, int DH, int DW)
    {
        public static Dims Of(ConvGeometry g) => new(g.Out(0), g.Out(1), g.Out(2), g.In[0], g.In[1], g.In[2], g.Kernel[0], g.Kernel[1],
            g.Kernel[2], g.Stride[0], g.Stride[1], g.Stride[2], g.PadBegin[0], g.PadBegin[1], g.PadBegin[2], g.Dilation[0], g.Dilation[1], g.Dilation[2]);
    }

    /// <summary>y [N, O, oD, oH, oW] = depthwise conv(x [N, C, D, H, W], w [O, 1, kD, kH, kW]) + bias (optional, [O]).</summary>
    public static void Forward<T>(ConvGeometry g, T* x, T* w, T* bias, T* y) where T : unmanaged, INumber<T>
    {
        int outC = g.OutChannels, m = g.OutPerGroup, P = g.OutPlane, kvol = g.KernelVolume;
        long inPlane = g.InPlane;
        nint xp = (nint)x, wp = (nint)w, bp = (nint)bias, yp = (nint)y;
        var d = Dims.Of(g);
        bool padded = Rows<T>(d);
        CpuParallel.For(g.Batch * outC, (long)P * kvol, q =>
        {
            int n = q / outC, o = q % outC;
            T* ys = (T*)yp + (long)q * P;
            T* xs = (T*)xp + ((long)n * g.InChannels + o / m) * inPlane;
            if (padded) { Plane(d, xs, (T*)wp + (long)o * kvol, bp == 0 ? T.Zero : ((T*)bp)[o], ys, accumulate: false, flip: false); return; }
            new Span<T>(ys, P).Fill(bp == 0 ? T.Zero : ((T*)bp)[o]);
            Taps(d, Pass.Forward, ys, xs, (T*)wp + (long)o * kvol);
        });
    }

    /// <summary>dx [N, C, D, H, W] = depthwise convᵀ(dy, w); dx is overwritten.</summary>
    public static void BackwardData<T>(ConvGeometry g, T* dy, T* w, T* dx) where T : unmanaged, INumber<T>
    {
        int inC = g.InChannels, m = g.OutPerGroup, P = g.OutPlane, kvol = g.KernelVolume;
        long inPlane = g.InPlane;
        nint dyp = (nint)dy, wp = (nint)w, dxp = (nint)dx;
        var d = Dims.Of(g);
        // All strides 1 and no padding beyond the dilated kernel: dx is the full correlation of dy with the flipped
        // kernel, the forward plane routine on the transposed geometry.
        var t = new Dims(d.ID, d.IH, d.IW, d.OD, d.OH, d.OW, d.KD, d.KH, d.KW, 1, 1, 1,
            d.DD * (d.KD - 1) - d.PD, d.DH * (d.KH - 1) - d.PH, d.DW * (d.KW - 1) - d.PW, d.DD, d.DH, d.DW);
        bool padded = d.SD == 1 && d.SH == 1 && d.SW == 1 && t.PD >= 0 && t.PH >= 0 && t.PW >= 0 && Rows<T>(t);
        CpuParallel.For(g.Batch * inC, (long)P * kvol * m, q =>
        {
            int n = q / inC, c = q % inC;
            T* dxs = (T*)dxp + (long)q * inPlane;
            if (padded)
            {
                for (int o = c * m; o < (c + 1) * m; o++)
                    Plane(t, (T*)dyp + ((long)n * g.OutChannels + o) * P, (T*)wp + (long)o * kvol, T.Zero, dxs, accumulate: o > c * m, flip: true);
                return;
            }
            new Span<T>(dxs, (int)inPlane).Clear();
            for (int o = c * m; o < (c + 1) * m; o++)
                Taps(d, Pass.BackwardData, (T*)dyp + ((long)n * g.OutChannels + o) * P, dxs, (T*)wp + (long)o * kvol);
        });
    }

    /// <summary>dw [O, 1, kD, kH, kW] = Σ_n Σ_p dy[n, o, p]·x[n, o/m, tap(p)]; dw is overwritten.</summary>
    public static void BackwardWeight<T>(ConvGeometry g, T* dy, T* x, T* dw) where T : unmanaged, INumber<T>
    {
        int outC = g.OutChannels, m = g.OutPerGroup, P = g.OutPlane, kvol = g.KernelVolume;
        long inPlane = g.InPlane;
        nint dyp = (nint)dy, xp = (nint)x, dwp = (nint)dw;
        var d = Dims.Of(g);
        bool padded = d.SD == 1 && d.SH == 1 && Rows<T>(d);
        CpuParallel.For(outC, (long)P * kvol * g.Batch, o =>
        {
            T* acc = (T*)dwp + (long)o * kvol;
            new Span<T>(acc, kvol).Clear();
            for (int n = 0; n < g.Batch; n++)
            {
                T* dys = (T*)dyp + ((long)n * outC + o) * P, xs = (T*)xp + ((long)n * g.InChannels + o / m) * inPlane;
                if (padded) PlaneWeight(d, dys, xs, acc);
                else Taps(d, Pass.BackwardWeight, dys, xs, acc);
            }
        });
    }

    // The padded-row routines below: W stride 1, output rows of at least a vector (on smaller planes the copy and
    // set-up per plane cost more than the row axpys: MobileNetV2 at 32×32 was 8% slower with them on its 1×1–4×4
    // planes), vectors available.
    private static bool Rows<T>(in Dims d) where T : unmanaged =>
        d.SW == 1 && Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && d.OW >= Vector256<T>.Count
        && (long)Extent(d, 0) * Extent(d, 1) * RowLength<T>(d) <= 1 << 22;

    // Padded extent read along dim a (0: D, 1: H) and the padded row length (whole vectors of output plus the kernel).
    private static int Extent(in Dims d, int a) => a == 0 ? (d.OD - 1) * d.SD + d.DD * (d.KD - 1) + 1 : (d.OH - 1) * d.SH + d.DH * (d.KH - 1) + 1;

    private static int RowLength<T>(in Dims d) where T : unmanaged
    {
        int v = Vector256<T>.Count;
        return Math.Max(d.IW + d.PW, (d.OW + v - 1) / v * v + d.DW * (d.KW - 1));
    }

    // This thread's zero-padded copy of one input plane: [Extent(0)][Extent(1)][RowLength], input at (PD, PH, PW), and
    // zeros after it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T* PadPlane<T>(in Dims d, T* src) where T : unmanaged, INumber<T>
    {
        int ed = Extent(d, 0), eh = Extent(d, 1), row = RowLength<T>(d);
        // Zeros past the end: PlaneWeight's flat runs read up to a row and two vectors beyond the last padded row.
        int size = ed * eh * row + row + 2 * Vector256<T>.Count;
        T* pad = (T*)Scratch.Get(2, (long)size * sizeof(T));
        new Span<T>(pad, size).Clear();
        int w = Math.Min(d.IW, row - d.PW);
        for (int id = 0; id < d.ID; id++)
        {
            int pd = id + d.PD;
            if (pd >= ed) break;
            for (int ih = 0; ih < d.IH; ih++)
            {
                int ph = ih + d.PH;
                if (ph >= eh) break;
                new ReadOnlySpan<T>(src + ((long)id * d.IH + ih) * d.IW, w).CopyTo(new Span<T>(pad + ((long)pd * eh + ph) * row + d.PW, w));
            }
        }
        return pad;
    }

    /// <summary>
    /// One plane of a W-stride-1 depthwise conv: dst = (dst if accumulating) + bias + Σ over taps of w · the padded input
    /// at the tap's offset, a vector of outputs at a time with the taps summed in a register (the tap-by-tap row axpys
    /// of <see cref="Taps{T}"/> load and store every output once per tap, which on 4×4–16×16 planes cost more than the
    /// arithmetic). <paramref name="flip"/> takes the weights in reverse tap order (backward data as a full correlation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Plane<T>(in Dims d, T* src, T* w, T bias, T* dst, bool accumulate, bool flip) where T : unmanaged, INumber<T>
    {
        int v = Vector256<T>.Count, kvol = d.KD * d.KH * d.KW, eh = Extent(d, 1), row = RowLength<T>(d), oW = d.OW;
        T* pad = PadPlane(d, src);
        int* off = stackalloc int[kvol];
        T* wt = stackalloc T[kvol];
        for (int i = 0, t = 0; i < d.KD; i++)
            for (int j = 0; j < d.KH; j++)
                for (int l = 0; l < d.KW; l++, t++)
                {
                    off[t] = (i * d.DD * eh + j * d.DH) * row + l * d.DW;
                    wt[t] = w[flip ? kvol - 1 - t : t];
                }
        T* tmp = stackalloc T[v];
        var b = Vector256.Create(bias);
        for (int od = 0; od < d.OD; od++)
            for (int oh = 0; oh < d.OH; oh++)
            {
                T* x = pad + ((long)od * d.SD * eh + (long)oh * d.SH) * row;
                T* y = dst + ((long)od * d.OH + oh) * oW;
                for (int c = 0; c < oW; c += v)
                {
                    var acc = b;
                    for (int t = 0; t < kvol; t++) acc = CpuGemm.Fmadd(Vector256.Create(wt[t]), Vector256.Load(x + off[t] + c), acc);
                    if (c + v <= oW)
                    {
                        if (accumulate) acc += Vector256.Load(y + c);
                        acc.Store(y + c);
                        continue;
                    }
                    acc.Store(tmp);
                    for (int k = 0; k < oW - c; k++) y[c + k] = accumulate ? y[c + k] + tmp[k] : tmp[k];
                }
            }
    }

    /// <summary>
    /// One plane's weight gradient (D and H strides 1, W stride 1): dw[t] += Σ over output positions of dy · the padded
    /// input at the tap's offset. dy is copied with the padded row length (zeros past each row), so each tap is one
    /// flat run over the plane with two vector accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PlaneWeight<T>(in Dims d, T* dy, T* x, T* dw) where T : unmanaged, INumber<T>
    {
        int v = Vector256<T>.Count, kvol = d.KD * d.KH * d.KW, eh = Extent(d, 1), row = RowLength<T>(d), oW = d.OW;
        T* pad = PadPlane(d, x);
        // dy rows at the padded row length, whole vector pairs; the run's last reads stay inside pad (rows past oH are
        // read only where dy is zero).
        long n = ((long)d.OH * row + 2 * v - 1) / (2 * v) * (2 * v), ps = Math.Max(n, (long)eh * row); // dy planes ps apart
        T* dyp = (T*)Scratch.Get(3, d.OD * ps * sizeof(T));
        for (int od = 0; od < d.OD; od++)
        {
            T* plane = dyp + od * ps;
            new Span<T>(plane, (int)ps).Clear();
            for (int oh = 0; oh < d.OH; oh++)
                new ReadOnlySpan<T>(dy + ((long)od * d.OH + oh) * oW, oW).CopyTo(new Span<T>(plane + (long)oh * row, oW));
        }
        for (int i = 0, t = 0; i < d.KD; i++)
            for (int j = 0; j < d.KH; j++)
                for (int l = 0; l < d.KW; l++, t++)
                {
                    long off = ((long)i * d.DD * eh + j * d.DH) * row + l * d.DW;
                    var a0 = Vector256<T>.Zero;
                    var a1 = Vector256<T>.Zero;
                    for (int od = 0; od < d.OD; od++)
                    {
                        T* g = dyp + od * ps, xs = pad + (long)od * eh * row + off;
                        for (long k = 0; k < n; k += 2 * v)
                        {
                            a0 = CpuGemm.Fmadd(Vector256.Load(g + k), Vector256.Load(xs + k), a0);
                            a1 = CpuGemm.Fmadd(Vector256.Load(g + k + v), Vector256.Load(xs + k + v), a1);
                        }
                    }
                    dw[t] += Vector256.Sum(a0 + a1);
                }
    }

    /// <summary>
    /// One output plane against one input plane: for every output row and kernel tap whose input row exists, the
    /// pass's row operation on the output positions whose input column lies inside the input. <paramref name="w"/>
    /// holds the plane's kvol weights (read, or accumulated into by the weight pass).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Taps<T>(in Dims g, Pass pass, T* outPlane, T* inPlane, T* w) where T : unmanaged, INumber<T>
    {
        int oD = g.OD, oH = g.OH, oW = g.OW;
        int inD = g.ID, inH = g.IH, inW = g.IW;
        int kD = g.KD, kH = g.KH, kW = g.KW;
        int sw = g.SW;
        for (int od = 0; od < oD; od++)
            for (int i = 0; i < kD; i++)
            {
                int id = od * g.SD - g.PD + i * g.DD;
                if ((uint)id >= (uint)inD) continue;
                for (int oh = 0; oh < oH; oh++)
                {
                    T* orow = outPlane + ((long)od * oH + oh) * oW;
                    for (int j = 0; j < kH; j++)
                    {
                        int ih = oh * g.SH - g.PH + j * g.DH;
                        if ((uint)ih >= (uint)inH) continue;
                        T* irow = inPlane + ((long)id * inH + ih) * inW;
                        T* wt = w + (i * kH + j) * kW;
                        for (int l = 0; l < kW; l++)
                        {
                            // Output columns [lo, hi) read input columns ow·sw + iw0, all inside [0, inW).
                            int iw0 = -g.PW + l * g.DW;
                            int lo = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
                            int hi = Math.Min(oW, inW - iw0 <= 0 ? 0 : (inW - iw0 + sw - 1) / sw);
                            if (hi <= lo) continue;
                            int len = hi - lo;
                            T* o = orow + lo, src = irow + (long)lo * sw + iw0;
                            switch (pass)
                            {
                                case Pass.Forward:
                                    if (sw == 1) Axpy(o, src, wt[l], len);
                                    else for (int k = 0; k < len; k++) o[k] += wt[l] * src[k * sw];
                                    break;
                                case Pass.BackwardData:
                                    if (sw == 1) Axpy(src, o, wt[l], len);
                                    else for (int k = 0; k < len; k++) src[k * sw] += wt[l] * o[k];
                                    break;
                                default:
                                    if (sw == 1) wt[l] += Dot(o, src, len);
                                    else
                                    {
                                        T s = T.Zero;
                                        for (int k = 0; k < len; k++) s += o[k] * src[k * sw];
                                        wt[l] += s;
                                    }
                                    break;
                            }
                        }
                    }
                }
            }
    }

    /// <summary>y[k] += a·x[k] for k &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy<T>(T* y, T* x, T a, int n) where T : unmanaged, INumber<T>
    {
        int k = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            int v = Vector256<T>.Count;
            var av = Vector256.Create(a);
            for (; k <= n - v; k += v)
                Vector256.Store(Vector256.Load(y + k) + av * Vector256.Load(x + k), y + k);
        }
        for (; k < n; k++) y[k] += a * x[k];
    }

    /// <summary>Σ_k a[k]·b[k] for k &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T>(T* a, T* b, int n) where T : unmanaged, INumber<T>
    {
        int k = 0;
        T s = T.Zero;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && n >= Vector256<T>.Count)
        {
            int v = Vector256<T>.Count;
            var acc = Vector256<T>.Zero;
            for (; k <= n - v; k += v) acc += Vector256.Load(a + k) * Vector256.Load(b + k);
            s = Vector256.Sum(acc);
        }
        for (; k < n; k++) s += a[k] * b[k];
        return s;
    }
}
