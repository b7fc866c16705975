using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Depthwise convolution (one input channel per group: groups = C, any channel multiplier O/C), computed directly
/// instead of by im2col + a tiny GEMM per group. Every pass is a sum over kernel taps of a row operation on contiguous
/// output rows: forward y_row += w·x_row (shifted by the tap), backward data dx_row += w·dy_row, backward weight
/// dw += dy_row·x_row. With unit stride along W these are Vector256 axpy / dot loops over the valid span of the row
/// (padding is skipped, never materialised); other strides take a scalar loop. Planes are spread over cores (forward
/// and backward data: (sample, channel) planes; backward weight: output channels, each owning its dw slice), so no
/// partial sums need merging.
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
        CpuParallel.For(g.Batch * outC, (long)P * kvol, q =>
        {
            int n = q / outC, o = q % outC;
            T* ys = (T*)yp + (long)q * P;
            new Span<T>(ys, P).Fill(bp == 0 ? T.Zero : ((T*)bp)[o]);
            T* xs = (T*)xp + ((long)n * g.InChannels + o / m) * inPlane;
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
        CpuParallel.For(g.Batch * inC, (long)P * kvol * m, q =>
        {
            int n = q / inC, c = q % inC;
            T* dxs = (T*)dxp + (long)q * inPlane;
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
        CpuParallel.For(outC, (long)P * kvol * g.Batch, o =>
        {
            T* acc = (T*)dwp + (long)o * kvol;
            new Span<T>(acc, kvol).Clear();
            for (int n = 0; n < g.Batch; n++)
                Taps(d, Pass.BackwardWeight, (T*)dyp + ((long)n * outC + o) * P, (T*)xp + ((long)n * g.InChannels + o / m) * inPlane, acc);
        });
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
