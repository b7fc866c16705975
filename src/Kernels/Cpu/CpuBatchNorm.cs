using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Batch normalisation over x seen as [N, C, S] (S = spatial size, 1 for (N, C) input). Channels are independent and
/// spread over cores in contiguous chunks (inline for small tensors). Each row of S elements is reduced with Vector256
/// partial sums in T and the row totals accumulate in double, so the statistics keep double-precision accumulation
/// across rows at vector speed; centred sums (x − μ) avoid cancellation for large means.
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
        CpuParallel.For(c, 3 * m, ch =>
        {
            double mean, var;
            if (training)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += Sum((T*)xp + ((long)i * c + ch) * s, s);
                mean = sum / m;
                double sq = 0;
                T tm = T.CreateTruncating(mean);
                for (int i = 0; i < n; i++) sq += SumSqDev((T*)xp + ((long)i * c + ch) * s, tm, s);
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
            double shift = bp != 0 ? double.CreateTruncating(((T*)bp)[ch]) : 0.0;
            // y = (x − μ)·scale + shift: centring first keeps float32 results exact to rounding for large μ.
            T ts = T.CreateTruncating(scale), tb = T.CreateTruncating(shift), tmean = T.CreateTruncating(mean);
            for (int i = 0; i < n; i++)
            {
                long off = ((long)i * c + ch) * s;
                Affine((T*)xp + off, (T*)yp + off, tmean, ts, tb, s);
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
        CpuParallel.For(c, 3 * m, ch =>
        {
            T tmean = ((T*)smp)[ch];
            double inv = double.CreateTruncating(((T*)sip)[ch]);
            double sumDy = 0, sumDyXc = 0;
            for (int i = 0; i < n; i++)
            {
                long off = ((long)i * c + ch) * s;
                var (a, b) = SumAndDotDev((T*)dyp + off, (T*)xp + off, tmean, s);
                sumDy += a; sumDyXc += b;
            }
            double sumDyXhat = sumDyXc * inv;
            if (dwp != 0) ((T*)dwp)[ch] = T.CreateTruncating(sumDyXhat);
            if (dbp != 0) ((T*)dbp)[ch] = T.CreateTruncating(sumDy);
            if (dxp == 0) return;
            double wv = wp != 0 ? double.CreateTruncating(((T*)wp)[ch]) : 1.0;
            double k = wv * inv;
            // Training: dx = k·dy + kx·(x − μ) + k0 with kx = −k·σ⁻¹·mean(dy·x̂), k0 = −k·mean(dy). Eval: dx = k·dy.
            T tk = T.CreateTruncating(k);
            T tkx = training ? T.CreateTruncating(-k * inv * sumDyXhat / m) : T.Zero;
            T tk0 = training ? T.CreateTruncating(-k * sumDy / m) : T.Zero;
            for (int i = 0; i < n; i++)
            {
                long off = ((long)i * c + ch) * s;
                GradRow((T*)dyp + off, (T*)xp + off, (T*)dxp + off, tmean, tk, tkx, tk0, s);
            }
        });
    }

    private static bool Simd<T>() where T : unmanaged => Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Sum<T>(T* p, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = 0;
        double r = 0;
        if (Simd<T>() && s >= Vector256<T>.Count)
        {
            var acc = Vector256<T>.Zero;
            for (; k <= s - Vector256<T>.Count; k += Vector256<T>.Count) acc += Vector256.Load(p + k);
            r = double.CreateTruncating(Vector256.Sum(acc));
        }
        for (; k < s; k++) r += double.CreateTruncating(p[k]);
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double SumSqDev<T>(T* p, T mean, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = 0;
        double r = 0;
        if (Simd<T>() && s >= Vector256<T>.Count)
        {
            var acc = Vector256<T>.Zero;
            var mv = Vector256.Create(mean);
            for (; k <= s - Vector256<T>.Count; k += Vector256<T>.Count) { var d = Vector256.Load(p + k) - mv; acc += d * d; }
            r = double.CreateTruncating(Vector256.Sum(acc));
        }
        for (; k < s; k++) { double d = double.CreateTruncating(p[k] - mean); r += d * d; }
        return r;
    }

    // (Σ dy, Σ dy·(x − μ)) over one row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double, double) SumAndDotDev<T>(T* dy, T* x, T mean, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = 0;
        double a = 0, b = 0;
        if (Simd<T>() && s >= Vector256<T>.Count)
        {
            Vector256<T> sa = Vector256<T>.Zero, sb = Vector256<T>.Zero, mv = Vector256.Create(mean);
            for (; k <= s - Vector256<T>.Count; k += Vector256<T>.Count)
            {
                var g = Vector256.Load(dy + k);
                sa += g;
                sb += g * (Vector256.Load(x + k) - mv);
            }
            a = double.CreateTruncating(Vector256.Sum(sa));
            b = double.CreateTruncating(Vector256.Sum(sb));
        }
        for (; k < s; k++)
        {
            double g = double.CreateTruncating(dy[k]);
            a += g;
            b += g * double.CreateTruncating(x[k] - mean);
        }
        return (a, b);
    }

    // y = (x − μ)·scale + shift over one row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Affine<T>(T* x, T* y, T mean, T scale, T shift, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = 0;
        if (Simd<T>())
        {
            Vector256<T> mv = Vector256.Create(mean), sv = Vector256.Create(scale), bv = Vector256.Create(shift);
            for (; k <= s - Vector256<T>.Count; k += Vector256<T>.Count)
                Vector256.Store((Vector256.Load(x + k) - mv) * sv + bv, y + k);
        }
        for (; k < s; k++) y[k] = (x[k] - mean) * scale + shift;
    }

    // dx = k·dy + kx·(x − μ) + k0 over one row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradRow<T>(T* dy, T* x, T* dx, T mean, T k, T kx, T k0, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Simd<T>())
        {
            Vector256<T> mv = Vector256.Create(mean), kv = Vector256.Create(k), kxv = Vector256.Create(kx), k0v = Vector256.Create(k0);
            for (; j <= s - Vector256<T>.Count; j += Vector256<T>.Count)
                Vector256.Store(kv * Vector256.Load(dy + j) + kxv * (Vector256.Load(x + j) - mv) + k0v, dx + j);
        }
        for (; j < s; j++) dx[j] = k * dy[j] + kx * (x[j] - mean) + k0;
    }
}
