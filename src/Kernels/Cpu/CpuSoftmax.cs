using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Kernels.Cpu;

/// <summary>Softmax and log-softmax over contiguous rows (the last dim), numerically stable (max subtracted).</summary>
public static unsafe class CpuSoftmax
{
    /// <summary>Forward over each row of the contiguous src into contiguous dst.</summary>
    public static void Forward<T>(in StridedView dst, in StridedView src, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = (int)src.Shape[^1];
        long rows = n == 0 ? 0 : src.NumEl / n;
        nint ps = (nint)src.Ptr<T>(), pd = (nint)dst.Ptr<T>();
        Rows(rows, n, r =>
        {
            var x = new ReadOnlySpan<T>((T*)ps + r * n, n);
            var y = new Span<T>((T*)pd + r * n, n);
            T m = TensorPrimitives.Max(x);
            if (T.IsInfinity(m) && m < T.Zero) m = T.Zero; // an all -inf row: avoid -inf - -inf
            TensorPrimitives.Subtract(x, m, y);
            if (log)
            {
                // y = (x - m) - log Σ e^(x-m); exp into a scratch-free second pass
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

    /// <summary>dx from dy and the forward output y: softmax y(dy − Σdy·y); log-softmax dy − e^y Σdy.</summary>
    public static void Backward<T>(in StridedView dst, in StridedView grad, in StridedView y, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = (int)y.Shape[^1];
        long rows = n == 0 ? 0 : y.NumEl / n;
        nint pg = (nint)grad.Ptr<T>(), py = (nint)y.Ptr<T>(), pd = (nint)dst.Ptr<T>();
        Rows(rows, n, r =>
        {
            var g = new ReadOnlySpan<T>((T*)pg + r * n, n);
            var yy = new ReadOnlySpan<T>((T*)py + r * n, n);
            var d = new Span<T>((T*)pd + r * n, n);
            if (log)
            {
                T s = TensorPrimitives.Sum(g);
                for (int i = 0; i < n; i++) d[i] = g[i] - T.Exp(yy[i]) * s;
            }
            else
            {
                T dot = TensorPrimitives.Dot(g, yy);
                for (int i = 0; i < n; i++) d[i] = yy[i] * (g[i] - dot);
            }
        });
    }

    private static void Rows(long rows, int n, Action<long> body)
    {
        if (rows * n >= 1 << 15 && rows > 1) Parallel.For(0L, rows, body);
        else for (long r = 0; r < rows; r++) body(r);
    }
}
