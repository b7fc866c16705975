using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Max and average pooling (2-D and 3-D, ordinary and adaptive) driven by the per-dim window tables of
/// <see cref="PoolGeometry"/>. Planes (N·C) are independent and spread over cores. Max pooling records the
/// flat index within the plane (d·H·W + h·W + w, as PyTorch) of the first maximum; NaN counts as a maximum.
/// </summary>
public static unsafe class CpuPool
{
    private static void ForPlanes(int planes, long work, Action<int> body)
    {
        if (planes > 1 && work >= 1 << 14) Parallel.For(0, planes, body);
        else for (int p = 0; p < planes; p++) body(p);
    }

    /// <summary>y, indices [planes, out...] = max over each window of x [planes, in...].</summary>
    public static void MaxForward<T>(PoolGeometry g, T* x, T* y, long* indices) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint xp = (nint)x, yp = (nint)y, ip = (nint)indices;
        int inH = g.In[1], inW = g.In[2];
        ForPlanes(g.Planes, (long)g.Planes * g.OutPlane, p =>
        {
            T* xs = (T*)xp + (long)p * g.InPlane;
            T* ys = (T*)yp + (long)p * g.OutPlane;
            long* ids = (long*)ip + (long)p * g.OutPlane;
            int o = 0;
            for (int od = 0; od < g.OutSize[0]; od++)
                for (int oh = 0; oh < g.OutSize[1]; oh++)
                    for (int ow = 0; ow < g.OutSize[2]; ow++, o++)
                    {
                        T best = T.NegativeInfinity;
                        long bi = ((long)g.WinStart[0][od] * inH + g.WinStart[1][oh]) * inW + g.WinStart[2][ow];
                        for (int id = g.WinStart[0][od]; id < g.WinEnd[0][od]; id += g.Dilation[0])
                            for (int ih = g.WinStart[1][oh]; ih < g.WinEnd[1][oh]; ih += g.Dilation[1])
                            {
                                long rowAt = ((long)id * inH + ih) * inW;
                                for (int iw = g.WinStart[2][ow]; iw < g.WinEnd[2][ow]; iw += g.Dilation[2])
                                {
                                    T v = xs[rowAt + iw];
                                    if (v > best || T.IsNaN(v)) { best = v; bi = rowAt + iw; }
                                }
                            }
                        ys[o] = best;
                        ids[o] = bi;
                    }
        });
    }

    /// <summary>dx (overwritten) gets dy added at each recorded index.</summary>
    public static void MaxBackward<T>(PoolGeometry g, T* dy, long* indices, T* dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint dyp = (nint)dy, ip = (nint)indices, dxp = (nint)dx;
        ForPlanes(g.Planes, (long)g.Planes * g.OutPlane, p =>
        {
            T* dxs = (T*)dxp + (long)p * g.InPlane;
            new Span<T>(dxs, g.InPlane).Clear();
            T* dys = (T*)dyp + (long)p * g.OutPlane;
            long* ids = (long*)ip + (long)p * g.OutPlane;
            for (int o = 0; o < g.OutPlane; o++) dxs[ids[o]] += dys[o];
        });
    }

    /// <summary>y = sum over each window of x divided by the window's divisor (product of the per-dim divisors).</summary>
    public static void AvgForward<T>(PoolGeometry g, T* x, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint xp = (nint)x, yp = (nint)y;
        int inH = g.In[1], inW = g.In[2];
        ForPlanes(g.Planes, (long)g.Planes * g.OutPlane, p =>
        {
            T* xs = (T*)xp + (long)p * g.InPlane;
            T* ys = (T*)yp + (long)p * g.OutPlane;
            int o = 0;
            for (int od = 0; od < g.OutSize[0]; od++)
                for (int oh = 0; oh < g.OutSize[1]; oh++)
                    for (int ow = 0; ow < g.OutSize[2]; ow++, o++)
                    {
                        T s = T.Zero;
                        for (int id = g.WinStart[0][od]; id < g.WinEnd[0][od]; id += g.Dilation[0])
                            for (int ih = g.WinStart[1][oh]; ih < g.WinEnd[1][oh]; ih += g.Dilation[1])
                            {
                                T* row = xs + ((long)id * inH + ih) * inW;
                                for (int iw = g.WinStart[2][ow]; iw < g.WinEnd[2][ow]; iw += g.Dilation[2]) s += row[iw];
                            }
                        long div = (long)g.Divisor[0][od] * g.Divisor[1][oh] * g.Divisor[2][ow];
                        ys[o] = s / T.CreateTruncating(div);
                    }
        });
    }

    /// <summary>dx (overwritten) = each dy spread evenly (by the divisor) over its window.</summary>
    public static void AvgBackward<T>(PoolGeometry g, T* dy, T* dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint dyp = (nint)dy, dxp = (nint)dx;
        int inH = g.In[1], inW = g.In[2];
        ForPlanes(g.Planes, (long)g.Planes * g.OutPlane, p =>
        {
            T* dxs = (T*)dxp + (long)p * g.InPlane;
            new Span<T>(dxs, g.InPlane).Clear();
            T* dys = (T*)dyp + (long)p * g.OutPlane;
            int o = 0;
            for (int od = 0; od < g.OutSize[0]; od++)
                for (int oh = 0; oh < g.OutSize[1]; oh++)
                    for (int ow = 0; ow < g.OutSize[2]; ow++, o++)
                    {
                        long div = (long)g.Divisor[0][od] * g.Divisor[1][oh] * g.Divisor[2][ow];
                        T v = dys[o] / T.CreateTruncating(div);
                        for (int id = g.WinStart[0][od]; id < g.WinEnd[0][od]; id += g.Dilation[0])
                            for (int ih = g.WinStart[1][oh]; ih < g.WinEnd[1][oh]; ih += g.Dilation[1])
                            {
                                T* row = dxs + ((long)id * inH + ih) * inW;
                                for (int iw = g.WinStart[2][ow]; iw < g.WinEnd[2][ow]; iw += g.Dilation[2]) row[iw] += v;
                            }
                    }
        });
    }
}
