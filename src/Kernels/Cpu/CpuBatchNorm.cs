using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Batch normalisation over x seen as [N, C, S] (S = spatial size, 1 for (N, C) input). Channels are
/// independent and spread over cores; per-channel sums accumulate in double.
/// </summary>
public static unsafe class CpuBatchNorm
{
    /// <summary>
    /// y = (x − μ)·σ⁻¹·w + b. Training: μ, σ² are the batch statistics (biased), the running stats are updated
    /// in place with momentum using the unbiased variance, as PyTorch. Eval: μ, σ² are the running stats.
    /// Writes μ and 1/√(σ²+eps) per channel to saveMean and saveInvStd. w, b, running stats may be null.
    /// </summary>
    public static void Forward<T>(int n, int c, int s, T* x, T* w, T* b, T* runMean, T* runVar, bool training, double momentum, double eps,
        T* y, T* saveMean, T* saveInvStd) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint xp = (nint)x, wp = (nint)w, bp = (nint)b, rmp = (nint)runMean, rvp = (nint)runVar, yp = (nint)y, smp = (nint)saveMean, sip = (nint)saveInvStd;
        long m = (long)n * s;
        Parallel.For(0, c, ch =>
        {
            double mean, var;
            if (training)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) { T* row = (T*)xp + ((long)i * c + ch) * s; for (int k = 0; k < s; k++) sum += double.CreateTruncating(row[k]); }
                mean = sum / m;
                double sq = 0;
                for (int i = 0; i < n; i++) { T* row = (T*)xp + ((long)i * c + ch) * s; for (int k = 0; k < s; k++) { double d = double.CreateTruncating(row[k]) - mean; sq += d * d; } }
                var = sq / m;
                if (rmp != 0)
                {
                    T* rm = (T*)rmp, rv = (T*)rvp;
                    double unbiased = m > 1 ? sq / (m - 1) : var;
                    rm[ch] = T.CreateTruncating((1 - momentum) * double.CreateTruncating(rm[ch]) + momentum * mean);
                    rv[ch] = T.CreateTruncating((1 - momentum) * double.CreateTruncating(rv[ch]) + momentum * unbiased);
                }
            }
            else
            {
                mean = double.CreateTruncating(((T*)rmp)[ch]);
                var = double.CreateTruncating(((T*)rvp)[ch]);
            }
            double inv = 1.0 / Math.Sqrt(var + eps);
            double scale = inv * (wp != 0 ? double.CreateTruncating(((T*)wp)[ch]) : 1.0);
            double shift = (bp != 0 ? double.CreateTruncating(((T*)bp)[ch]) : 0.0) - mean * scale;
            T ts = T.CreateTruncating(scale), tb = T.CreateTruncating(shift);
            for (int i = 0; i < n; i++)
            {
                T* row = (T*)xp + ((long)i * c + ch) * s;
                T* orow = (T*)yp + ((long)i * c + ch) * s;
                for (int k = 0; k < s; k++) orow[k] = row[k] * ts + tb;
            }
            ((T*)smp)[ch] = T.CreateTruncating(mean);
            ((T*)sip)[ch] = T.CreateTruncating(inv);
        });
    }

    /// <summary>
    /// Gradients from dy and the saved μ, σ⁻¹. Training (batch statistics):
    /// dx = w·σ⁻¹/M · (M·dy − Σdy − x̂·Σdy·x̂); eval (constant statistics): dx = w·σ⁻¹·dy. dw = Σ dy·x̂, db = Σ dy.
    /// Any of dx, dw, db may be null.
    /// </summary>
    public static void Backward<T>(int n, int c, int s, T* dy, T* x, T* w, T* saveMean, T* saveInvStd, bool training,
        T* dx, T* dw, T* db) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint dyp = (nint)dy, xp = (nint)x, wp = (nint)w, smp = (nint)saveMean, sip = (nint)saveInvStd, dxp = (nint)dx, dwp = (nint)dw, dbp = (nint)db;
        long m = (long)n * s;
        Parallel.For(0, c, ch =>
        {
            double mean = double.CreateTruncating(((T*)smp)[ch]), inv = double.CreateTruncating(((T*)sip)[ch]);
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
            {
                T* g = (T*)dyp + ((long)i * c + ch) * s;
                T* xr = (T*)xp + ((long)i * c + ch) * s;
                for (int k = 0; k < s; k++)
                {
                    double gv = double.CreateTruncating(g[k]);
                    sumDy += gv;
                    sumDyXhat += gv * (double.CreateTruncating(xr[k]) - mean) * inv;
                }
            }
            if (dwp != 0) ((T*)dwp)[ch] = T.CreateTruncating(sumDyXhat);
            if (dbp != 0) ((T*)dbp)[ch] = T.CreateTruncating(sumDy);
            if (dxp == 0) return;
            double wv = wp != 0 ? double.CreateTruncating(((T*)wp)[ch]) : 1.0;
            for (int i = 0; i < n; i++)
            {
                T* g = (T*)dyp + ((long)i * c + ch) * s;
                T* xr = (T*)xp + ((long)i * c + ch) * s;
                T* o = (T*)dxp + ((long)i * c + ch) * s;
                if (!training) { T f = T.CreateTruncating(wv * inv); for (int k = 0; k < s; k++) o[k] = g[k] * f; continue; }
                double a = wv * inv, meanDy = sumDy / m, meanDyXhat = sumDyXhat / m;
                for (int k = 0; k < s; k++)
                {
                    double xhat = (double.CreateTruncating(xr[k]) - mean) * inv;
                    o[k] = T.CreateTruncating(a * (double.CreateTruncating(g[k]) - meanDy - xhat * meanDyXhat));
                }
            }
        });
    }
}
