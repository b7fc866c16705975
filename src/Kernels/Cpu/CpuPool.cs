using System.Numerics;
using System.Runtime.CompilerServices;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Max and average pooling (2-D and 3-D, ordinary and adaptive) driven by the per-dim window tables of
/// <see cref="PoolGeometry"/>. Planes (N·C) are independent and spread over cores. Max pooling records the
/// flat index within the plane (d·H·W + h·W + w, as PyTorch) of the first maximum; NaN counts as a maximum.
/// </summary>
public static unsafe class CpuPool
{
    private static void ForPlanes(int planes, long work, Action<int> body) => CpuParallel.For(planes, work / Math.Max(1, planes), body);

    /// <summary>y, indices [planes, out...] = max over each window of x [planes, in...].</summary>
    public static void MaxForward<T>(PoolGeometry g, T* x, T* y, long* indices) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint xp = (nint)x, yp = (nint)y, ip = (nint)indices;
        ForPlanes(g.Planes, (long)g.Planes * g.InPlane, p =>
            MaxPlane(g, (T*)xp + (long)p * g.InPlane, (T*)yp + (long)p * g.OutPlane, (long*)ip + (long)p * g.OutPlane));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPlane<T>(PoolGeometry g, T* xs, T* ys, long* ids) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s0 = g.WinStart[0], e0 = g.WinEnd[0], s1 = g.WinStart[1], e1 = g.WinEnd[1], s2 = g.WinStart[2], e2 = g.WinEnd[2];
        int d0 = g.Dilation[0], d1 = g.Dilation[1], d2 = g.Dilation[2], inH = g.In[1], inW = g.In[2];
        int o = 0;
        for (int od = 0; od < s0.Length; od++)
            for (int oh = 0; oh < s1.Length; oh++)
            {
                int h0 = s1[oh], h1 = e1[oh];
                for (int ow = 0; ow < s2.Length; ow++, o++)
                {
                    int w0 = s2[ow], w1 = e2[ow];
                    T best = T.NegativeInfinity;
                    long bi = ((long)s0[od] * inH + h0) * inW + w0;
                    for (int id = s0[od]; id < e0[od]; id += d0)
                        for (int ih = h0; ih < h1; ih += d1)
                        {
                            long rowAt = ((long)id * inH + ih) * inW;
                            T* row = xs + rowAt;
                            for (int iw = w0; iw < w1; iw += d2)
                            {
                                T v = row[iw];
                                if (v > best || T.IsNaN(v)) { best = v; bi = rowAt + iw; }
                            }
                        }
                    ys[o] = best;
                    ids[o] = bi;
                }
            }
    }

    /// <summary>dx (overwritten) gets dy added at each recorded index.</summary>
    public static void MaxBackward<T>(PoolGeometry g, T* dy, long* indices, T* dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint dyp = (nint)dy, ip = (nint)indices, dxp = (nint)dx;
        ForPlanes(g.Planes, (long)g.Planes * g.InPlane, p =>
            MaxBackwardPlane(g.InPlane, g.OutPlane, (T*)dyp + (long)p * g.OutPlane, (long*)ip + (long)p * g.OutPlane, (T*)dxp + (long)p * g.InPlane));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxBackwardPlane<T>(int inPlane, int outPlane, T* dys, long* ids, T* dxs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        new Span<T>(dxs, inPlane).Clear();
        for (int o = 0; o < outPlane; o++) dxs[ids[o]] += dys[o];
    }

    /// <summary>y = sum over each window of x divided by the window's divisor (product of the per-dim divisors).</summary>
    public static void AvgForward<T>(PoolGeometry g, T* x, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint xp = (nint)x, yp = (nint)y;
        ForPlanes(g.Planes, (long)g.Planes * g.InPlane, p => AvgPlane(g, (T*)xp + (long)p * g.InPlane, (T*)yp + (long)p * g.OutPlane, backward: false));
    }

    /// <summary>dx (overwritten) = each dy spread evenly (by the divisor) over its window.</summary>
    public static void AvgBackward<T>(PoolGeometry g, T* dy, T* dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint dyp = (nint)dy, dxp = (nint)dx;
        ForPlanes(g.Planes, (long)g.Planes * g.InPlane, p =>
        {
            T* dxs = (T*)dxp + (long)p * g.InPlane;
            new Span<T>(dxs, g.InPlane).Clear();
            AvgPlane(g, dxs, (T*)dyp + (long)p * g.OutPlane, backward: true);
        });
    }

    // Forward: outs[o] = Σ window(ins) / div. Backward: window(ins) += outs[o] / div (ins is then dx, outs dy).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgPlane<T>(PoolGeometry g, T* ins, T* outs, bool backward) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s0 = g.WinStart[0], e0 = g.WinEnd[0], s1 = g.WinStart[1], e1 = g.WinEnd[1], s2 = g.WinStart[2], e2 = g.WinEnd[2];
        int[] v0 = g.Divisor[0], v1 = g.Divisor[1], v2 = g.Divisor[2];
        int d0 = g.Dilation[0], d1 = g.Dilation[1], d2 = g.Dilation[2], inH = g.In[1], inW = g.In[2];
        int o = 0;
        for (int od = 0; od < s0.Length; od++)
            for (int oh = 0; oh < s1.Length; oh++)
                for (int ow = 0; ow < s2.Length; ow++, o++)
                {
                    T div = T.CreateTruncating((long)v0[od] * v1[oh] * v2[ow]);
                    if (backward)
                    {
                        T v = outs[o] / div;
                        for (int id = s0[od]; id < e0[od]; id += d0)
                            for (int ih = s1[oh]; ih < e1[oh]; ih += d1)
                            {
                                T* row = ins + ((long)id * inH + ih) * inW;
                                for (int iw = s2[ow]; iw < e2[ow]; iw += d2) row[iw] += v;
                            }
                        continue;
                    }
                    T s = T.Zero;
                    for (int id = s0[od]; id < e0[od]; id += d0)
                        for (int ih = s1[oh]; ih < e1[oh]; ih += d1)
                        {
                            T* row = ins + ((long)id * inH + ih) * inW;
                            for (int iw = s2[ow]; iw < e2[ow]; iw += d2) s += row[iw];
                        }
                    outs[o] = s / div;
                }
    }
}
