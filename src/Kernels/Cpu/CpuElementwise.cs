using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Elementwise kernels over strided operands. Each walks a <see cref="RowPlan"/>; a row whose operands are all
/// unit-stride (or a broadcast scalar) goes to a vectorised TensorPrimitives call, anything else to a
/// scalar loop over the op struct.
/// </summary>
public static unsafe class CpuElementwise
{
    private readonly struct UnaryRow<T, TFn>(nint d, nint s, TFn fn, UnaryOp op, T a, T b) : IRowOp
        where T : unmanaged, INumber<T> where TFn : struct, IUnaryFn<T>
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            T* pd = (T*)d + off[0], ps = (T*)s + off[1];
            long sd = st[0], ss = st[1];
            if (sd == 1 && ss == 1 && n <= int.MaxValue && Vec.TryUnary(op, new ReadOnlySpan<T>(ps, (int)n), new Span<T>(pd, (int)n), a, b)) return;
            var f = fn;
            for (long i = 0; i < n; i++) pd[i * sd] = f.Apply(ps[i * ss]);
        }
    }

    private readonly struct BinaryRow<T, TOut, TFn>(nint d, nint x, nint y, TFn fn, BinaryOp op) : IRowOp
        where T : unmanaged, INumber<T> where TOut : unmanaged where TFn : struct, IBinaryFn<T, TOut>
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            TOut* pd = (TOut*)d + off[0];
            T* px = (T*)x + off[1], py = (T*)y + off[2];
            long sd = st[0], sx = st[1], sy = st[2];
            if (typeof(TOut) == typeof(T) && sd == 1 && n <= int.MaxValue)
            {
                var dst = new Span<T>(pd, (int)n);
                if (sx == 1 && sy == 1 && Vec.TryBinary(op, new ReadOnlySpan<T>(px, (int)n), new ReadOnlySpan<T>(py, (int)n), dst)) return;
                if (sx == 1 && sy == 0 && Vec.TryBinaryScalar(op, new ReadOnlySpan<T>(px, (int)n), *py, dst)) return;
                if ((sx | sy) is 0 or 1 && n >= 16 && BroadcastChunks(pd, px, py, n, sx, sy)) return;
            }
            var f = fn;
            if (sd == 1 && sx == 1 && sy == 1) { for (long i = 0; i < n; i++) pd[i] = f.Apply(px[i], py[i]); return; }
            for (long i = 0; i < n; i++) pd[i * sd] = f.Apply(px[i * sx], py[i * sy]);
        }

        // A row where one operand is a repeated scalar: expand it into a small buffer, chunk by chunk, so the
        // vectorised form still applies (e.g. the gradient of a sum flowing into a masked backward op).
        private bool BroadcastChunks(TOut* pd, T* px, T* py, long n, long sx, long sy)
        {
            const int Chunk = 256;
            if (!Vec.HasBinary<T>(op)) return false;
            T* buf = stackalloc T[Chunk];
            new Span<T>(buf, Chunk).Fill(sx == 0 ? *px : *py);
            for (long i = 0; i < n; i += Chunk)
            {
                int len = (int)Math.Min(Chunk, n - i);
                var xs = sx == 0 ? new ReadOnlySpan<T>(buf, len) : new ReadOnlySpan<T>(px + i, len);
                var ys = sy == 0 ? new ReadOnlySpan<T>(buf, len) : new ReadOnlySpan<T>(py + i, len);
                Vec.TryBinary(op, xs, ys, new Span<T>((T*)pd + i, len));
            }
            return true;
        }
    }

    private readonly struct WhereRow<T>(nint d, nint c, nint x, nint y) : IRowOp where T : unmanaged
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            T* pd = (T*)d + off[0], px = (T*)x + off[2], py = (T*)y + off[3];
            byte* pc = (byte*)c + off[1];
            for (long i = 0; i < n; i++) pd[i * st[0]] = pc[i * st[1]] != 0 ? px[i * st[2]] : py[i * st[3]];
        }
    }

    private readonly struct CastRow<TS, TD>(nint d, nint s, bool toBool) : IRowOp
        where TS : unmanaged, INumber<TS> where TD : unmanaged, INumber<TD>
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            TD* pd = (TD*)d + off[0];
            TS* ps = (TS*)s + off[1];
            long sd = st[0], ss = st[1];
            if (typeof(TS) == typeof(TD) && !toBool && sd == 1 && ss == 1 && n <= int.MaxValue)
            {
                new ReadOnlySpan<TD>(ps, (int)n).CopyTo(new Span<TD>(pd, (int)n));
                return;
            }
            if (toBool) { for (long i = 0; i < n; i++) pd[i * sd] = ps[i * ss] != TS.Zero ? TD.One : TD.Zero; return; }
            for (long i = 0; i < n; i++) pd[i * sd] = TD.CreateTruncating(ps[i * ss]);
        }
    }

    private readonly struct FillRow<T>(nint d, T v) : IRowOp where T : unmanaged
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            T* pd = (T*)d + off[0];
            if (st[0] == 1 && n <= int.MaxValue) { new Span<T>(pd, (int)n).Fill(v); return; }
            for (long i = 0; i < n; i++) pd[i * st[0]] = v;
        }
    }

    /// <summary>dst ← fn(src).</summary>
    public static void Unary<T, TFn>(in StridedView dst, in StridedView src, TFn fn, UnaryOp op, double a, double b)
        where T : unmanaged, INumber<T> where TFn : struct, IUnaryFn<T>
    {
        var plan = RowPlan.Create(dst.Shape, dst.Strides, src.Strides);
        plan.Run(new UnaryRow<T, TFn>((nint)dst.Ptr<T>(), (nint)src.Ptr<T>(), fn, op, T.CreateTruncating(a), T.CreateTruncating(b)));
    }

    /// <summary>dst ← fn(x, y) with broadcasting.</summary>
    public static void Binary<T, TOut, TFn>(in StridedView dst, in StridedView x, in StridedView y, TFn fn, BinaryOp op)
        where T : unmanaged, INumber<T> where TOut : unmanaged where TFn : struct, IBinaryFn<T, TOut>
    {
        var plan = RowPlan.Create(dst.Shape, dst.Strides, x.Strides, y.Strides);
        plan.Run(new BinaryRow<T, TOut, TFn>((nint)dst.Ptr<TOut>(), (nint)x.Ptr<T>(), (nint)y.Ptr<T>(), fn, op));
    }

    /// <summary>dst ← cond ? x : y.</summary>
    public static void Where<T>(in StridedView dst, in StridedView cond, in StridedView x, in StridedView y) where T : unmanaged
    {
        var plan = RowPlan.Create(dst.Shape, dst.Strides, cond.Strides, x.Strides, y.Strides);
        plan.Run(new WhereRow<T>((nint)dst.Ptr<T>(), (nint)cond.Ptr<byte>(), (nint)x.Ptr<T>(), (nint)y.Ptr<T>()));
    }

    /// <summary>dst ← (TD)src.</summary>
    public static void Cast<TS, TD>(in StridedView dst, in StridedView src) where TS : unmanaged, INumber<TS> where TD : unmanaged, INumber<TD>
    {
        var plan = RowPlan.Create(dst.Shape, dst.Strides, src.Strides);
        plan.Run(new CastRow<TS, TD>((nint)dst.Ptr<TD>(), (nint)src.Ptr<TS>(), dst.DType == DType.Bool));
    }

    /// <summary>dst ← v.</summary>
    public static void Fill<T>(in StridedView dst, T v) where T : unmanaged
    {
        var plan = RowPlan.Create(dst.Shape, dst.Strides);
        plan.Run(new FillRow<T>((nint)dst.Ptr<T>(), v));
    }
}

/// <summary>
/// Vectorised paths for contiguous rows through System.Numerics.Tensors. Each returns false when it has no
/// fast form for the op and dtype, and the caller falls back to its scalar loop. The typeof tests are
/// resolved by the JIT per instantiation.
/// </summary>
internal static class Vec
{
    public static bool TryUnary<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> d, T a, T b) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float)) return TryUnaryF(op, Cast<T, float>(x), Cast<T, float>(d), float.CreateTruncating(a), float.CreateTruncating(b));
        if (typeof(T) == typeof(double)) return TryUnaryF(op, Cast<T, double>(x), Cast<T, double>(d), double.CreateTruncating(a), double.CreateTruncating(b));
        return false;
    }

    private static bool TryUnaryF<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> d, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, d); return true;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, d); return true;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, d); return true;
            case UnaryOp.Affine: TensorPrimitives.Multiply(x, a, d); TensorPrimitives.Add(d, b, d); return true;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, d); return true;
            case UnaryOp.Log: TensorPrimitives.Log(x, d); return true;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, d); return true;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, d); return true;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, d); return true;
            case UnaryOp.Silu: Silu(x, d); return true;
            // IEEE maximum/minimum propagate NaN, as the scalar forms do
            case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, d); return true;
            case UnaryOp.Relu6: TensorPrimitives.Max(x, T.Zero, d); TensorPrimitives.Min(d, T.CreateTruncating(6), d); return true;
            case UnaryOp.Clamp: TensorPrimitives.Max(x, a, d); TensorPrimitives.Min(d, b, d); return true;
            default: return false;
        }
    }

    public static bool HasBinary<T>(BinaryOp op) where T : unmanaged =>
        (typeof(T) == typeof(float) || typeof(T) == typeof(double)) &&
        op is BinaryOp.ReluBackward or BinaryOp.Relu6Backward or BinaryOp.SiluBackward or BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div;

    public static bool TryBinary<T>(BinaryOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, INumber<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) return false;
        switch (op)
        {
            case BinaryOp.ReluBackward: MaskSelect(x, y, d, T.Zero, T.Zero, upper: false); return true;
            case BinaryOp.Relu6Backward: MaskSelect(x, y, d, T.Zero, T.CreateTruncating(6), upper: true); return true;
            case BinaryOp.SiluBackward:
                if (typeof(T) == typeof(float)) SiluBackward(Cast<T, float>(x), Cast<T, float>(y), Cast<T, float>(d));
                else SiluBackward(Cast<T, double>(x), Cast<T, double>(y), Cast<T, double>(d));
                return true;
            case BinaryOp.Add: TensorPrimitives.Add(x, y, d); return true;
            case BinaryOp.Sub: TensorPrimitives.Subtract(x, y, d); return true;
            case BinaryOp.Mul: TensorPrimitives.Multiply(x, y, d); return true;
            case BinaryOp.Div: TensorPrimitives.Divide(x, y, d); return true;
            default: return false;
        }
    }

    public static bool TryBinaryScalar<T>(BinaryOp op, ReadOnlySpan<T> x, T y, Span<T> d) where T : unmanaged, INumber<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) return false;
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(x, y, d); return true;
            case BinaryOp.Sub: TensorPrimitives.Subtract(x, y, d); return true;
            case BinaryOp.Mul: TensorPrimitives.Multiply(x, y, d); return true;
            case BinaryOp.Div: TensorPrimitives.Divide(x, y, d); return true;
            default: return false;
        }
    }

    // SiLU and its gradient with the vectorised sigmoid (the scalar exp per element was a fifth of an EfficientNet-B0
    // step), a chunk at a time through stack buffers, so d may be x (or g) itself.
    private const int Chunk = 256;

    // d = x·σ(x)
    private static void Silu<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> s = stackalloc T[Chunk];
        for (int i = 0; i < x.Length; i += Chunk)
        {
            int n = Math.Min(Chunk, x.Length - i);
            var xs = x.Slice(i, n);
            TensorPrimitives.Sigmoid(xs, s[..n]);
            TensorPrimitives.Multiply(xs, s[..n], d.Slice(i, n));
        }
    }

    // d = g·σ(x)·(1 + x·(1 − σ(x))), the derivative of x·σ(x) times the incoming gradient
    private static void SiluBackward<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> s = stackalloc T[Chunk], u = stackalloc T[Chunk];
        for (int i = 0; i < x.Length; i += Chunk)
        {
            int n = Math.Min(Chunk, x.Length - i);
            var xs = x.Slice(i, n);
            Span<T> sn = s[..n], un = u[..n];
            TensorPrimitives.Sigmoid(xs, sn);
            TensorPrimitives.Subtract(T.One, sn, un);
            TensorPrimitives.FusedMultiplyAdd(xs, un, T.One, un);
            TensorPrimitives.Multiply(sn, un, un);
            TensorPrimitives.Multiply(g.Slice(i, n), un, d.Slice(i, n));
        }
    }

    // d = lo < y (&& y < hi when upper) ? g : 0, branch-free (the scalar form mispredicts on random signs).
    private static void MaskSelect<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> d, T lo, T hi, bool upper) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vlo = new Vector<T>(lo);
            var vhi = new Vector<T>(hi);
            for (; i <= g.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var yv = new Vector<T>(y[i..]);
                var mask = Vector.GreaterThan(yv, vlo);
                if (upper) mask = Vector.BitwiseAnd(mask, Vector.LessThan(yv, vhi));
                Vector.ConditionalSelect(mask, new Vector<T>(g[i..]), Vector<T>.Zero).CopyTo(d[i..]);
            }
        }
        for (; i < g.Length; i++) d[i] = y[i] > lo && (!upper || y[i] < hi) ? g[i] : T.Zero;
    }

    private static Span<TTo> Cast<TFrom, TTo>(Span<TFrom> s) where TFrom : struct where TTo : struct => MemoryMarshal.Cast<TFrom, TTo>(s);
    private static ReadOnlySpan<TTo> Cast<TFrom, TTo>(ReadOnlySpan<TFrom> s) where TFrom : struct where TTo : struct => MemoryMarshal.Cast<TFrom, TTo>(s);
}
