using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Reductions. Two strategies: when the reduced dims are the innermost of a contiguous input, each output
/// is a contiguous segment reduced with a vectorised call (parallel over outputs); otherwise dst is seen
/// broadcast over the input's shape (stride 0 on reduced dims) and rows of the input are folded into it.
/// </summary>
public static unsafe class CpuReduce
{
    /// <summary>The value a reduction starts from.</summary>
    public static T Identity<T>(ReduceOp op) where T : INumber<T>, IMinMaxValue<T> => op switch
    {
        ReduceOp.Sum => T.Zero,
        ReduceOp.Max => typeof(T) == typeof(float) ? T.CreateTruncating(float.NegativeInfinity) : typeof(T) == typeof(double) ? T.CreateTruncating(double.NegativeInfinity) : T.MinValue,
        _ => typeof(T) == typeof(float) ? T.CreateTruncating(float.PositiveInfinity) : typeof(T) == typeof(double) ? T.CreateTruncating(double.PositiveInfinity) : T.MaxValue,
    };

    private static T Combine<T>(ReduceOp op, T acc, T v) where T : INumber<T> => op switch
    {
        ReduceOp.Sum => acc + v,
        ReduceOp.Max => T.IsNaN(acc) ? acc : T.IsNaN(v) || v > acc ? v : acc,
        _ => T.IsNaN(acc) ? acc : T.IsNaN(v) || v < acc ? v : acc,
    };

    private static T Segment<T>(ReduceOp op, ReadOnlySpan<T> s) where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        if (typeof(T) == typeof(float) || typeof(T) == typeof(double))
        {
            if (s.Length == 0) return Identity<T>(op);
            switch (op)
            {
                case ReduceOp.Sum: return TensorPrimitives.Sum(s);
                case ReduceOp.Max: return TensorPrimitives.Max(s);
                default: return TensorPrimitives.Min(s);
            }
        }
        T acc = Identity<T>(op);
        foreach (var v in s) acc = Combine(op, acc, v);
        return acc;
    }

    private readonly struct FoldRow<T>(nint d, nint s, ReduceOp op) : IRowOp where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            T* pd = (T*)d + off[0], ps = (T*)s + off[1];
            long sd = st[0], ss = st[1];
            if (sd == 0)
            {
                T acc = ss == 1 && n <= int.MaxValue ? Segment(op, new ReadOnlySpan<T>(ps, (int)n)) : Strided(ps, n, ss);
                *pd = Combine(op, *pd, acc);
                return;
            }
            if (op == ReduceOp.Sum && sd == 1 && ss == 1 && n <= int.MaxValue && (typeof(T) == typeof(float) || typeof(T) == typeof(double)))
            {
                var dst = new Span<T>(pd, (int)n);
                TensorPrimitives.Add(dst, new ReadOnlySpan<T>(ps, (int)n), dst);
                return;
            }
            for (long i = 0; i < n; i++) pd[i * sd] = Combine(op, pd[i * sd], ps[i * ss]);
        }

        private T Strided(T* p, long n, long stride)
        {
            T acc = Identity<T>(op);
            for (long i = 0; i < n; i++) acc = Combine(op, acc, p[i * stride]);
            return acc;
        }
    }

    /// <summary>Reduces src into dst (keepdim shape: size 1 on the reduced dims).</summary>
    public static void Reduce<T>(ReduceOp op, in StridedView dst, in StridedView src) where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        int rank = src.Rank;
        // Innermost-segment case: the reduced dims are a suffix and src is contiguous.
        int firstReduced = rank;
        while (firstReduced > 0 && (dst.Shape[firstReduced - 1] == 1 || src.Shape[firstReduced - 1] == 1)) firstReduced--;
        bool suffix = true;
        for (int i = 0; i < firstReduced; i++) if (dst.Shape[i] != src.Shape[i]) { suffix = false; break; }
        if (suffix && src.IsContiguous && dst.IsContiguous)
        {
            long outer = dst.NumEl, seg = outer == 0 ? 0 : src.NumEl / Math.Max(outer, 1);
            T* ps = src.Ptr<T>(), pd = dst.Ptr<T>();
            var o = op;
            if (seg <= int.MaxValue)
            {
                if (outer * seg >= CpuParallel.MinParallelWork && outer > 1 && Environment.ProcessorCount > 1)
                    Parallel.For(0, outer, i => ((T*)pd)[i] = Segment(o, new ReadOnlySpan<T>((T*)ps + i * seg, (int)seg)));
                else
                    for (long i = 0; i < outer; i++) pd[i] = Segment(o, new ReadOnlySpan<T>(ps + i * seg, (int)seg));
                return;
            }
        }
        CpuElementwise.Fill(dst, Identity<T>(op));
        var bcast = new long[rank];
        for (int i = 0; i < rank; i++) bcast[i] = dst.Shape[i] == src.Shape[i] ? dst.Strides[i] : 0;
        var plan = RowPlan.Create(src.Shape, bcast, src.Strides);
        plan.Run(new FoldRow<T>((nint)dst.Ptr<T>(), (nint)src.Ptr<T>(), op), allowParallel: false);
    }

    private readonly struct ArgRow<T>(nint v, nint ix, nint s, long len, long stride, bool max) : IRowOp where T : unmanaged, INumber<T>
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            T* pv = (T*)v + off[0];
            long* pi = (long*)ix + off[1];
            T* ps = (T*)s + off[2];
            for (long i = 0; i < n; i++)
            {
                T* row = ps + i * st[2];
                T best = row[0];
                long bi = 0;
                if (!T.IsNaN(best))
                {
                    for (long k = 1; k < len; k++)
                    {
                        T x = row[k * stride];
                        if (T.IsNaN(x)) { best = x; bi = k; break; }
                        if (max ? x > best : x < best) { best = x; bi = k; }
                    }
                }
                pv[i * st[0]] = best;
                pi[i * st[1]] = bi;
            }
        }
    }

    /// <summary>Max/min along dim with the first index of the extreme (NaN counts as the extreme, as in PyTorch).</summary>
    public static void ArgReduce<T>(bool max, in StridedView values, in StridedView indices, in StridedView src, int dim) where T : unmanaged, INumber<T>
    {
        var plan = RowPlan.Create(values.Shape, values.Strides, indices.Strides, src.Strides);
        plan.Run(new ArgRow<T>((nint)values.Ptr<T>(), (nint)indices.Ptr<long>(), (nint)src.Ptr<T>(), src.Shape[dim], src.Strides[dim], max));
    }
}
