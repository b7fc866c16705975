using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Local response normalisation across channels (AlexNet), on x seen as [N, C, S]:
/// y_c = x_c · s_c^(−β), s_c = k + α/n · Σ x_j² over j ∈ [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋] (zeros beyond the edges),
/// PyTorch's convention. Each step is a vector op over S; the window sum is re-summed per channel for n ≤ 16 (exact to
/// the rows in the window) and slides along channels (add one squared row, drop one) for wider windows.
/// </summary>
public static unsafe class CpuLrn
{
    // scale ← scale^(−β). β = 0.75 (AlexNet's) and 0.5, 1 avoid the general pow (exp and log per element):
    // s^−0.75 = 1/(√s·√√s).
    private static void NegPow<T>(Span<T> scale, T nb, Span<T> tmp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (nb == T.CreateTruncating(-0.75))
        {
            TensorPrimitives.Sqrt(scale, scale);
            TensorPrimitives.Sqrt(scale, tmp);
            TensorPrimitives.Multiply(scale, tmp, scale);
            TensorPrimitives.Divide(T.One, scale, scale);
        }
        else if (nb == T.CreateTruncating(-0.5)) { TensorPrimitives.Sqrt(scale, scale); TensorPrimitives.Divide(T.One, scale, scale); }
        else if (nb == -T.One) TensorPrimitives.Divide(T.One, scale, scale);
        else TensorPrimitives.Pow(scale, nb, scale);
    }

    // Windows up to this many channels are summed afresh for every channel; wider ones slide.
    private const int FreshWindow = 16;

    // win ← Σ sq rows over the window [c − lo, c + hi] of channel c. A sliding sum (add the entering row, subtract the
    // leaving one) keeps the rounding error of every row that ever passed through: after a spike leaves the window, a
    // float32 sum of small rows can be off by 10% or more. So narrow windows (AlexNet's n = 5) are re-summed from their
    // rows, n − 1 vector adds per channel instead of 2; only windows wider than FreshWindow slide.
    private static void Slide<T>(Span<T> win, T* sq, int c, int channels, int s, int lo, int hi) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (lo + hi + 1 <= FreshWindow)
        {
            int from = Math.Max(c - lo, 0), to = Math.Min(c + hi, channels - 1);
            win.Clear();
            for (int j = from; j <= to; j++) TensorPrimitives.Add(win, new ReadOnlySpan<T>(sq + (long)j * s, s), win);
            return;
        }
        int add = c + hi, drop = c - lo - 1;
        if (add < channels) TensorPrimitives.Add(win, new ReadOnlySpan<T>(sq + (long)add * s, s), win);
        if (drop >= 0) TensorPrimitives.Subtract(win, new ReadOnlySpan<T>(sq + (long)drop * s, s), win);
    }

    private static void InitWindow<T>(Span<T> win, T* sq, int channels, int s, int hi) where T : unmanaged, IFloatingPointIeee754<T>
    {
        win.Clear();
        for (int j = 0; j < Math.Min(hi, channels); j++) TensorPrimitives.Add(win, new ReadOnlySpan<T>(sq + (long)j * s, s), win);
    }

    /// <summary>Forward over the batch; samples run in parallel.</summary>
    public static void Forward<T>(int n, int c, int s, int size, double alpha, double beta, double k, T* x, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint xp = (nint)x, yp = (nint)y;
        int lo = size / 2, hi = (size - 1) / 2;
        T a = T.CreateTruncating(alpha / size), kk = T.CreateTruncating(k), nb = T.CreateTruncating(-beta);
        Parallel.For(0, n, i =>
        {
            T* xs = (T*)xp + (long)i * c * s, ys = (T*)yp + (long)i * c * s;
            T* sq = (T*)Scratch.Get(3, ((long)c * s + 3L * s) * sizeof(T));
            var win = new Span<T>(sq + (long)c * s, s);
            var scale = new Span<T>(sq + (long)c * s + s, s);
            var tmp = new Span<T>(sq + (long)c * s + 2L * s, s);
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(xs, c * s), new ReadOnlySpan<T>(xs, c * s), new Span<T>(sq, c * s));
            InitWindow(win, sq, c, s, hi);
            for (int ch = 0; ch < c; ch++)
            {
                Slide(win, sq, ch, c, s, lo, hi);
                TensorPrimitives.Multiply(win, a, scale);
                TensorPrimitives.Add(scale, kk, scale);
                NegPow(scale, nb, tmp);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(xs + (long)ch * s, s), scale, new Span<T>(ys + (long)ch * s, s));
            }
        });
    }

    /// <summary>
    /// dx_c = dy_c·s_c^(−β) − (2αβ/n)·x_c·Σ_j dy_j·y_j/s_j over the j whose window holds c
    /// (j ∈ [c − ⌊(n−1)/2⌋, c + ⌊n/2⌋]); s is recomputed from x.
    /// </summary>
    public static void Backward<T>(int n, int c, int s, int size, double alpha, double beta, double k, T* x, T* y, T* dy, T* dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint xp = (nint)x, yp = (nint)y, dyp = (nint)dy, dxp = (nint)dx;
        int lo = size / 2, hi = (size - 1) / 2;
        T a = T.CreateTruncating(alpha / size), kk = T.CreateTruncating(k), nb = T.CreateTruncating(-beta);
        T coef = T.CreateTruncating(-2 * alpha * beta / size);
        Parallel.For(0, n, i =>
        {
            long at = (long)i * c * s;
            T* xs = (T*)xp + at, ys = (T*)yp + at, gs = (T*)dyp + at, ds = (T*)dxp + at;
            T* buf = (T*)Scratch.Get(3, (3L * c * s + 2L * s) * sizeof(T));
            T* sq = buf;                         // x², then reused for t = dy·y/s
            T* sc = buf + (long)c * s;           // s_c for every channel
            var win = new Span<T>(buf + 2L * c * s, s);
            var tmp = new Span<T>(buf + 3L * c * s, s);
            var tmp2 = new Span<T>(buf + 3L * c * s + s, s);
            int cs = c * s;
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(xs, cs), new ReadOnlySpan<T>(xs, cs), new Span<T>(sq, cs));
            InitWindow(win, sq, c, s, hi);
            for (int ch = 0; ch < c; ch++)
            {
                Slide(win, sq, ch, c, s, lo, hi);
                var srow = new Span<T>(sc + (long)ch * s, s);
                TensorPrimitives.Multiply(win, a, srow);
                TensorPrimitives.Add(srow, kk, srow);
            }
            // t_j = dy_j · y_j / s_j
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(gs, cs), new ReadOnlySpan<T>(ys, cs), new Span<T>(sq, cs));
            TensorPrimitives.Divide(new ReadOnlySpan<T>(sq, cs), new ReadOnlySpan<T>(sc, cs), new Span<T>(sq, cs));
            // the transposed window: j ∈ [c − hi, c + lo]
            InitWindow(win, sq, c, s, lo);
            for (int ch = 0; ch < c; ch++)
            {
                Slide(win, sq, ch, c, s, hi, lo);
                var d = new Span<T>(ds + (long)ch * s, s);
                new ReadOnlySpan<T>(sc + (long)ch * s, s).CopyTo(tmp);
                NegPow(tmp, nb, tmp2);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(gs + (long)ch * s, s), tmp, d);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(xs + (long)ch * s, s), win, tmp);
                TensorPrimitives.Multiply(tmp, coef, tmp);
                TensorPrimitives.Add(d, tmp, d);
            }
        });
    }
}
