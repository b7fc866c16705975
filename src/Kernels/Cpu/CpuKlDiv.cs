using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>KL divergence forward (pointwise or scaled sum) and backward over contiguous operands, float64 accumulation.</summary>
public static unsafe class CpuKlDiv
{
    /// <summary>One KL term: t·(log t − x) with log t read as 0 where t ≤ 0 (so 0·log 0 = 0), or e^t·(t − x) for a log target.</summary>
    public static double Term(double x, double t, bool logTarget) =>
        logTarget ? Math.Exp(t) * (t - x) : t * ((t > 0 ? Math.Log(t) : 0) - x);

    /// <summary>dst ← terms, or dst[0] ← scale·Σ terms when <paramref name="reduce"/>.</summary>
    public static void Forward<T>(in StridedView dst, in StridedView input, in StridedView target, bool logTarget, bool reduce, double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long n = input.NumEl;
        T* x = input.Ptr<T>(), t = target.Ptr<T>(), d = dst.Ptr<T>();
        if (!reduce)
        {
            for (long i = 0; i < n; i++) d[i] = T.CreateTruncating(Term(double.CreateTruncating(x[i]), double.CreateTruncating(t[i]), logTarget));
            return;
        }
        double s = 0;
        for (long i = 0; i < n; i++) s += Term(double.CreateTruncating(x[i]), double.CreateTruncating(t[i]), logTarget);
        d[0] = T.CreateTruncating(scale * s);
    }

    /// <summary>dInput = −scale·g·p, dTarget = scale·g·∂term/∂t (see <see cref="Engine.Kernels.Fused.FusedOps.KlDivBackward"/>); g broadcast when one element.</summary>
    public static void Backward<T>(StridedView? dInput, StridedView? dTarget, in StridedView grad, in StridedView input, in StridedView target, bool logTarget, double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long n = input.NumEl;
        T* x = input.Ptr<T>(), t = target.Ptr<T>(), g = grad.Ptr<T>();
        T* dx = dInput is { } a ? a.Ptr<T>() : null, dt = dTarget is { } b ? b.Ptr<T>() : null;
        long gs = grad.NumEl == 1 ? 0 : 1;
        for (long i = 0; i < n; i++)
        {
            double xi = double.CreateTruncating(x[i]), ti = double.CreateTruncating(t[i]), gi = scale * double.CreateTruncating(g[i * gs]);
            double p = logTarget ? Math.Exp(ti) : ti;
            if (dx != null) dx[i] = T.CreateTruncating(-gi * p);
            if (dt != null) dt[i] = T.CreateTruncating(gi * (logTarget ? p * (ti - xi + 1) : (ti > 0 ? Math.Log(ti) + 1 : 0) - xi));
        }
    }
}
