using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Batch normalisation over x seen as [N, C, S] (S = spatial size, 1 for (N, C) input). Every pass walks the tensor in
/// memory order, sample by sample, with per-channel totals in double: walking one channel across the batch instead
/// reads rows N·C·S apart, which on the small planes of CIFAR-sized networks (rows of 1 KiB, 32 KiB apart) map to a few
/// cache sets and thrash L1 and L2 between the passes (batch norm + ReLU on 64×32×16×16 took 4× PyTorch's time).
/// Samples are spread over cores in contiguous chunks, each with its own totals, merged in chunk order so the result
/// does not depend on timing. Rows are reduced with Vector256 partial sums in T and the row totals accumulate in
/// double; centred sums (x − μ) avoid cancellation for large means.
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
        nint xp = (nint)x, yp = (nint)y;
        long m = (long)n * s;
        var mean = new double[c];
        var var = new double[c];
        if (training)
        {
            ChannelTotals(n, c, s, (row, ch, acc) => acc[ch] += Sum((T*)xp + row * s, s), mean);
            for (int ch = 0; ch < c; ch++) mean[ch] /= m;
            ChannelTotals(n, c, s, (row, ch, acc) => acc[ch] += SumSqDev((T*)xp + row * s, T.CreateTruncating(mean[ch]), s), var);
            for (int ch = 0; ch < c; ch++)
            {
                double sq = var[ch];
                var[ch] = sq / m;
                if (runMean == null) continue;
                double unbiased = m > 1 ? sq / (m - 1) : var[ch];
                runMean[ch] = T.CreateTruncating((1 - momentum) * double.CreateTruncating(runMean[ch]) + momentum * mean[ch]);
                runVar[ch] = T.CreateTruncating((1 - momentum) * double.CreateTruncating(runVar[ch]) + momentum * unbiased);
            }
        }
        else
            for (int ch = 0; ch < c; ch++)
            {
                mean[ch] = double.CreateTruncating(runMean[ch]);
                var[ch] = double.CreateTruncating(runVar[ch]);
            }
        var tm = new T[c];
        var ts = new T[c];
        var tb = new T[c];
        for (int ch = 0; ch < c; ch++)
        {
            double inv = 1.0 / Math.Sqrt(var[ch] + eps);
            // y = (x − μ)·scale + shift: centring first keeps float32 results exact to rounding for large μ.
            tm[ch] = T.CreateTruncating(mean[ch]);
            ts[ch] = T.CreateTruncating(inv * (w != null ? double.CreateTruncating(w[ch]) : 1.0));
            tb[ch] = b != null ? b[ch] : T.Zero;
            saveMean[ch] = tm[ch];
            saveInvStd[ch] = T.CreateTruncating(inv);
        }
        CpuParallel.For(n * c, s, row =>
        {
            int ch = row % c;
            Affine((T*)xp + (long)row * s, (T*)yp + (long)row * s, tm[ch], ts[ch], tb[ch], s);
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
        nint dyp = (nint)dy, xp = (nint)x, dxp = (nint)dx, smp = (nint)saveMean;
        long m = (long)n * s;
        var sums = new double[2 * c]; // [Σ dy | Σ dy·(x − μ)] per channel
        ChannelTotals(n, c, s, (row, ch, acc) =>
        {
            var (a, b) = SumAndDotDev((T*)dyp + row * s, (T*)xp + row * s, ((T*)smp)[ch], s);
            acc[ch] += a;
            acc[c + ch] += b;
        }, sums);
        var tk = new T[c];
        var tkx = new T[c];
        var tk0 = new T[c];
        for (int ch = 0; ch < c; ch++)
        {
            double inv = double.CreateTruncating(saveInvStd[ch]), sumDy = sums[ch], sumDyXhat = sums[c + ch] * inv;
            if (dw != null) dw[ch] = T.CreateTruncating(sumDyXhat);
            if (db != null) db[ch] = T.CreateTruncating(sumDy);
            double k = (w != null ? double.CreateTruncating(w[ch]) : 1.0) * inv;
            // Training: dx = k·dy + kx·(x − μ) + k0 with kx = −k·σ⁻¹·mean(dy·x̂), k0 = −k·mean(dy). Eval: dx = k·dy.
            tk[ch] = T.CreateTruncating(k);
            tkx[ch] = training ? T.CreateTruncating(-k * inv * sumDyXhat / m) : T.Zero;
            tk0[ch] = training ? T.CreateTruncating(-k * sumDy / m) : T.Zero;
        }
        if (dx == null) return;
        CpuParallel.For(n * c, 2 * (long)s, row =>
        {
            int ch = row % c;
            long off = (long)row * s;
            GradRow((T*)dyp + off, (T*)xp + off, (T*)dxp + off, ((T*)smp)[ch], tk[ch], tkx[ch], tk0[ch], s);
        });
    }

    /// <summary>
    /// Sets <paramref name="totals"/> to the sum of rowTotal(row, channel, acc) over every row of [N, C, S] in memory
    /// order: samples in contiguous chunks per core, each chunk into its own totals, the chunks' totals added in order.
    /// </summary>
    private static void ChannelTotals(int n, int c, int s, Action<long, int, double[]> rowTotal, double[] totals)
    {
        int chunks = CpuParallel.Chunks(n, (long)c * s);
        var partial = new double[chunks][];
        for (int k = 0; k < chunks; k++) partial[k] = new double[totals.Length];
        CpuParallel.ForChunks(n, chunks, (k, begin, end) =>
        {
            var acc = partial[k];
            for (long row = (long)begin * c; row < (long)end * c; row++) rowTotal(row, (int)(row % c), acc);
        });
        CpuParallel.SumInOrder(partial, totals);
    }

    private static bool Simd<T>() where T : unmanaged => Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Sum<T>(T* p, int s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = 0;
        double r = 0;
        if (Simd<T>() && s >= Vector256<T>.Count)
        {
            Vector256<T> acc = Vector256<T>.Zero, acc2 = Vector256<T>.Zero;
            for (; k <= s - 2 * Vector256<T>.Count; k += 2 * Vector256<T>.Count)
            {
                acc += Vector256.Load(p + k);
                acc2 += Vector256.Load(p + k + Vector256<T>.Count);
            }
            for (; k <= s - Vector256<T>.Count; k += Vector256<T>.Count) acc += Vector256.Load(p + k);
            r = double.CreateTruncating(Vector256.Sum(acc + acc2));
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
