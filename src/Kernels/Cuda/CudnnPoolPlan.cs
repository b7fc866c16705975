namespace Engine.Kernels.Cuda;

/// <summary>
/// A cuDNN average pooling (window, padding, stride, count mode) equivalent to a <see cref="PoolGeometry"/>'s window
/// tables, found without touching memory so it can be checked on the CPU. cuDNN pools with one window size, symmetric
/// padding and stride per dim, no dilation, floor-mode output size, and divides by the padded window
/// (CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING) or by the elements inside the input (…_EXCLUDE_PADDING). So a geometry
/// maps when it came from avg_pool with ceil_mode producing no extra window and no divisor_override, or from adaptive
/// pooling whose windows are uniform (input size a multiple of the output size); <see cref="For"/> says why otherwise.
/// </summary>
/// <param name="Mode">CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING or …_EXCLUDE_PADDING.</param>
/// <param name="Window">Window size per spatial dim.</param>
/// <param name="Pad">Symmetric padding per spatial dim.</param>
/// <param name="Stride">Stride per spatial dim.</param>
public sealed record CudnnPoolPlan(int Mode, int[] Window, int[] Pad, int[] Stride)
{
    /// <summary>Spatial dims given to cuDNN (2 or 3).</summary>
    public int Spatial => Window.Length;

    /// <summary>The cuDNN pooling for <paramref name="g"/>, or null with the reason it has none.</summary>
    public static CudnnPoolPlan? For(PoolGeometry g, out string reason)
    {
        bool is2d = g.In[0] == 1 && g.OutSize[0] == 1;
        int first = is2d ? 1 : 0;
        for (int d = 0; d < 3; d++)
            if (g.Dilation[d] != 1) { reason = "cuDNN pooling has no dilation"; return null; }
        foreach (int mode in new[] { Cudnn.CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, Cudnn.CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING })
        {
            var win = new int[3 - first]; var pad = new int[3 - first]; var str = new int[3 - first];
            bool ok = true;
            for (int d = first; d < 3 && ok; d++)
            {
                if (Dim(g, d, mode == Cudnn.CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING) is { } p) (win[d - first], pad[d - first], str[d - first]) = p;
                else ok = false;
            }
            if (ok) { reason = ""; return new CudnnPoolPlan(mode, win, pad, str); }
        }
        reason = "the pooling windows are not those of one window size, symmetric padding and stride with floor-mode output " +
            "(ceil_mode with a window past the input, divisor_override, or non-uniform adaptive windows)";
        return null;
    }

    // (window, pad, stride) of spatial dim d whose windows and divisors cuDNN reproduces, or null.
    private static (int K, int P, int S)? Dim(PoolGeometry g, int d, bool includePad)
    {
        int n = g.In[d], o = g.OutSize[d];
        int[] st = g.WinStart[d], en = g.WinEnd[d];
        for (int p = 0, pMax = en[0] < n ? en[0] : n; p <= pMax; p++)
        {
            // Window 0 starts at −p; unless it reaches the end of the input, it ends at k − p (and 2p ≤ k bounds p by that end).
            int kMin = en[0] + p, kMax = en[0] < n ? kMin : n + 2 * p;
            for (int k = Math.Max(kMin, 1); k <= kMax; k++)
            {
                if (2 * p > k) continue;   // cuDNN (and PyTorch) need padding at most half the window
                // Window 1 starts at s − p when that is inside the input; else s ≤ p.
                int sMin, sMax;
                if (o == 1) { sMin = sMax = Math.Max(1, n + 2 * p - k + 1); }
                else if (st[1] > 0) { sMin = sMax = st[1] + p; }
                else { sMin = 1; sMax = Math.Max(1, p); }
                for (int s = sMin; s <= sMax; s++)
                    if (Matches(g, d, k, p, s, includePad)) return (k, p, s);
            }
        }
        return null;
    }

    // True when cuDNN's pooling (k, p, s) gives exactly the geometry's output count, windows and divisors along d.
    private static bool Matches(PoolGeometry g, int d, int k, int p, int s, bool includePad)
    {
        int n = g.In[d], o = g.OutSize[d];
        if ((n + 2 * p - k) / s + 1 != o || n + 2 * p < k) return false;
        for (int i = 0; i < o; i++)
        {
            int a = i * s - p, b = a + k;
            int ca = Math.Max(a, 0), cb = Math.Min(b, n);
            if (ca >= cb) return false;
            int div = includePad ? Math.Min(b, n + p) - a : cb - ca;
            if (g.WinStart[d][i] != ca || g.WinEnd[d][i] != cb || g.Divisor[d][i] != div) return false;
        }
        return true;
    }
}
