using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Kernels.Cpu;

/// <summary>Softmax and log-softmax of scale·x (scale = 1/T) over contiguous rows (the last dim), numerically stable (max subtracted).</summary>
public static unsafe class CpuSoftmax
{
    /// <summary>Forward over each row of the contiguous src into contiguous dst, of <paramref name="scale"/>·x (scale &gt; 0).</summary>
    public static void Forward<T>(in StridedView dst, in StridedView src, bool log, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = (int)src.Shape[^1];
        long rows = n == 0 ? 0 : src.NumEl / n;
        nint ps = (nint)src.Ptr<T>(), pd = (nint)dst.Ptr<T>();
        T k = T.CreateTruncating(scale);
        Rows(rows, n, r =>
        {
            var x = new ReadOnlySpan<T>((T*)ps + r * n, n);
            var y = new Span<T>((T*)pd + r * n, n);
            T m = TensorPrimitives.Max(x);   // max(scale·x) = scale·max(x) as scale > 0
            if (T.IsInfinity(m) && m < T.Zero) m = T.Zero; // an all -inf row: avoid -inf - -inf
            // y = (x − m)·scale in one pass: x − m is exact near the max, where accuracy matters (x·scale − m·scale is not)
            ShiftScale(x, m, k, y);
            if (log)
            {
                // y = (x - m)·scale - log Σ e^((x-m)·scale); exp into a scratch-free second pass
                T s = T.Zero;
                foreach (var v in y) s += T.Exp(v);
                TensorPrimitives.Subtract(y, T.Log(s), y);
            }
            else
            {
                TensorPrimitives.Exp(y, y);
                T s = TensorPrimitives.Sum(y);
                TensorPrimitives.Multiply(y, T.One / s, y);
            }
        });
    }

    /// <summary>
    /// dx from dy and the forward output y of softmax(scale·x): softmax scale·y(dy − Σdy·y); log-softmax scale·(dy − e^y Σdy).
    /// </summary>
    public static void Backward<T>(in StridedView dst, in StridedView grad, in StridedView y, bool log, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = (int)y.Shape[^1];
        long rows = n == 0 ? 0 : y.NumEl / n;
        nint pg = (nint)grad.Ptr<T>(), py = (nint)y.Ptr<T>(), pd = (nint)dst.Ptr<T>();
        T k = T.CreateTruncating(scale);
        Rows(rows, n, r =>
        {
            var g = new ReadOnlySpan<T>((T*)pg + r * n, n);
            var yy = new ReadOnlySpan<T>((T*)py + r * n, n);
            var d = new Span<T>((T*)pd + r * n, n);
            if (log)
            {
                T s = TensorPrimitives.Sum(g);
                for (int i = 0; i < n; i++) d[i] = k * (g[i] - T.Exp(yy[i]) * s);
            }
            else
            {
                T dot = TensorPrimitives.Dot(g, yy);
                for (int i = 0; i < n; i++) d[i] = k * (yy[i] * (g[i] - dot));
            }
        });
    }

    // y = (x − m)·k, vectorized
    private static void ShiftScale<T>(ReadOnlySpan<T> x, T m, T k, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
        {
            Vector<T> vm = new(m), vk = new(k);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                ((new Vector<T>(x[i..]) - vm) * vk).CopyTo(y[i..]);
        }
        for (; i < x.Length; i++) y[i] = (x[i] - m) * k;
    }

    private static void Rows(long rows, int n, Action<long> body)
    {
        if (rows * n >= CpuParallel.MinParallelWork && rows > 1 && Environment.ProcessorCount > 1) Parallel.For(0L, rows, body);
        else for (long r = 0; r < rows; r++) body(r);
    }
}
