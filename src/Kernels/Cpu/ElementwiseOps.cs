using System.Numerics;
using System.Runtime.CompilerServices;

namespace Engine.Kernels.Cpu;

// Scalar forms of the elementwise ops. Each is a struct so the generic row kernels are specialised and the
// call inlined per (op, dtype); contiguous float rows take the vectorised TensorPrimitives paths in
// CpuElementwise instead. Parameters (A, B) are converted to T once, when the struct is built.

/// <summary>A one-operand elementwise op.</summary>
public interface IUnaryFn<T> where T : unmanaged
{
    /// <summary>The op on one element.</summary>
    T Apply(T x);
}

/// <summary>A two-operand elementwise op.</summary>
public interface IBinaryFn<T, TOut> where T : unmanaged where TOut : unmanaged
{
    /// <summary>The op on one pair of elements.</summary>
    TOut Apply(T x, T y);
}

#pragma warning disable CS1591 // the op structs are documented by UnaryOp / BinaryOp
public readonly struct NegFn<T> : IUnaryFn<T> where T : unmanaged, INumber<T> { public T Apply(T x) => -x; }
public readonly struct AbsFn<T> : IUnaryFn<T> where T : unmanaged, INumber<T> { public T Apply(T x) => T.Abs(x); }
public readonly struct SquareFn<T> : IUnaryFn<T> where T : unmanaged, INumber<T> { public T Apply(T x) => x * x; }
public readonly struct SignFn<T> : IUnaryFn<T> where T : unmanaged, INumber<T>
{
    public T Apply(T x) => T.IsNaN(x) ? x : x > T.Zero ? T.One : x < T.Zero ? -T.One : T.Zero;
}
public readonly struct AffineFn<T>(T a, T b) : IUnaryFn<T> where T : unmanaged, INumber<T> { public T Apply(T x) => x * a + b; }
public readonly struct ScalarDivFn<T>(T a) : IUnaryFn<T> where T : unmanaged, INumber<T> { public T Apply(T x) => a / x; }
public readonly struct ReluFn<T> : IUnaryFn<T> where T : unmanaged, INumber<T> { public T Apply(T x) => x > T.Zero ? x : T.IsNaN(x) ? x : T.Zero; }
public readonly struct Relu6Fn<T>(T six) : IUnaryFn<T> where T : unmanaged, INumber<T>
{
    public T Apply(T x) => T.IsNaN(x) ? x : x < T.Zero ? T.Zero : x > six ? six : x;
}
public readonly struct LeakyReluFn<T>(T slope) : IUnaryFn<T> where T : unmanaged, INumber<T> { public T Apply(T x) => x > T.Zero ? x : x * slope; }
public readonly struct ClampFn<T>(T lo, T hi) : IUnaryFn<T> where T : unmanaged, INumber<T>
{
    public T Apply(T x) => T.IsNaN(x) ? x : x < lo ? lo : x > hi ? hi : x;
}
public readonly struct ExpFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T x) => T.Exp(x); }
public readonly struct LogFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T x) => T.Log(x); }
public readonly struct SqrtFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T x) => T.Sqrt(x); }
public readonly struct RsqrtFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T x) => T.One / T.Sqrt(x); }
public readonly struct PowScalarFn<T>(T p) : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T x) => T.Pow(x, p); }
public readonly struct ScalarPowFn<T>(T b) : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T x) => T.Pow(b, x); }
public readonly struct SigmoidFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Apply(T x)
    {
        // split by sign so exp never overflows
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        T e = T.Exp(x);
        return e / (T.One + e);
    }
}
public readonly struct TanhFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T x) => T.Tanh(x); }
public readonly struct SiluFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T x) => x * default(SigmoidFn<T>).Apply(x); }
public readonly struct GeluFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.CreateTruncating(double.CreateTruncating(x) * SpecialFunctions.NormalCdf(double.CreateTruncating(x)));
}

public readonly struct AddFn<T> : IBinaryFn<T, T> where T : unmanaged, INumber<T> { public T Apply(T x, T y) => x + y; }
public readonly struct SubFn<T> : IBinaryFn<T, T> where T : unmanaged, INumber<T> { public T Apply(T x, T y) => x - y; }
public readonly struct MulFn<T> : IBinaryFn<T, T> where T : unmanaged, INumber<T> { public T Apply(T x, T y) => x * y; }
public readonly struct DivFn<T> : IBinaryFn<T, T> where T : unmanaged, INumber<T> { public T Apply(T x, T y) => x / y; }
public readonly struct PowFn<T> : IBinaryFn<T, T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T x, T y) => T.Pow(x, y); }
public readonly struct MaximumFn<T> : IBinaryFn<T, T> where T : unmanaged, INumber<T>
{
    public T Apply(T x, T y) => T.IsNaN(x) ? x : T.IsNaN(y) ? y : x >= y ? x : y;
}
public readonly struct MinimumFn<T> : IBinaryFn<T, T> where T : unmanaged, INumber<T>
{
    public T Apply(T x, T y) => T.IsNaN(x) ? x : T.IsNaN(y) ? y : x <= y ? x : y;
}
public readonly struct EqFn<T> : IBinaryFn<T, byte> where T : unmanaged, INumber<T> { public byte Apply(T x, T y) => x == y ? (byte)1 : (byte)0; }
public readonly struct NeFn<T> : IBinaryFn<T, byte> where T : unmanaged, INumber<T> { public byte Apply(T x, T y) => x != y ? (byte)1 : (byte)0; }
public readonly struct LtFn<T> : IBinaryFn<T, byte> where T : unmanaged, INumber<T> { public byte Apply(T x, T y) => x < y ? (byte)1 : (byte)0; }
public readonly struct LeFn<T> : IBinaryFn<T, byte> where T : unmanaged, INumber<T> { public byte Apply(T x, T y) => x <= y ? (byte)1 : (byte)0; }
public readonly struct GtFn<T> : IBinaryFn<T, byte> where T : unmanaged, INumber<T> { public byte Apply(T x, T y) => x > y ? (byte)1 : (byte)0; }
public readonly struct GeFn<T> : IBinaryFn<T, byte> where T : unmanaged, INumber<T> { public byte Apply(T x, T y) => x >= y ? (byte)1 : (byte)0; }

// Backward ops: x is the incoming gradient g, y the saved input or output.
public readonly struct ReluBackwardFn<T> : IBinaryFn<T, T> where T : unmanaged, INumber<T> { public T Apply(T g, T x) => x > T.Zero ? g : T.Zero; }
public readonly struct Relu6BackwardFn<T>(T six) : IBinaryFn<T, T> where T : unmanaged, INumber<T> { public T Apply(T g, T x) => x > T.Zero && x < six ? g : T.Zero; }
public readonly struct LeakyReluBackwardFn<T>(T slope) : IBinaryFn<T, T> where T : unmanaged, INumber<T> { public T Apply(T g, T x) => x > T.Zero ? g : g * slope; }
public readonly struct ClampBackwardFn<T>(T lo, T hi) : IBinaryFn<T, T> where T : unmanaged, INumber<T> { public T Apply(T g, T x) => x >= lo && x <= hi ? g : T.Zero; }
public readonly struct AbsBackwardFn<T> : IBinaryFn<T, T> where T : unmanaged, INumber<T> { public T Apply(T g, T x) => g * default(SignFn<T>).Apply(x); }
public readonly struct PowScalarBackwardFn<T>(T p) : IBinaryFn<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T g, T x) => p == T.Zero ? T.Zero : g * p * T.Pow(x, p - T.One);
}
public readonly struct SigmoidBackwardFn<T> : IBinaryFn<T, T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T g, T y) => g * y * (T.One - y); }
public readonly struct TanhBackwardFn<T> : IBinaryFn<T, T> where T : unmanaged, IFloatingPointIeee754<T> { public T Apply(T g, T y) => g * (T.One - y * y); }
public readonly struct SiluBackwardFn<T> : IBinaryFn<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T g, T x) { T s = default(SigmoidFn<T>).Apply(x); return g * s * (T.One + x * (T.One - s)); }
}
public readonly struct GeluBackwardFn<T> : IBinaryFn<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T g, T x)
    {
        double xd = double.CreateTruncating(x);
        return g * T.CreateTruncating(SpecialFunctions.NormalCdf(xd) + xd * SpecialFunctions.NormalPdf(xd));
    }
}
public readonly struct HardsigmoidFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Clamp(x + T.CreateTruncating(3), T.Zero, T.CreateTruncating(6)) / T.CreateTruncating(6);
}
public readonly struct HardswishFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => x * default(HardsigmoidFn<T>).Apply(x);
}
public readonly struct HardsigmoidBackwardFn<T> : IBinaryFn<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T g, T x) => x > T.CreateTruncating(-3) && x < T.CreateTruncating(3) ? g / T.CreateTruncating(6) : T.Zero;
}
public readonly struct HardswishBackwardFn<T> : IBinaryFn<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T g, T x) => x < T.CreateTruncating(-3) ? T.Zero : x > T.CreateTruncating(3) ? g : g * (x / T.CreateTruncating(3) + T.CreateTruncating(0.5));
}
public readonly struct SoftsignFn<T> : IUnaryFn<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => x / (T.One + T.Abs(x));
}
public readonly struct SoftsignBackwardFn<T> : IBinaryFn<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T g, T x) { T d = T.One + T.Abs(x); return g / (d * d); }
}
#pragma warning restore CS1591

// The op -> struct tables the CPU backend dispatches through (DTypeDispatch picks T): a new elementwise op is its
// struct above and one case here.

/// <summary>A unary op: the float-only ops for floats, the numeric ones for every dtype.</summary>
internal readonly struct UnaryKernel(UnaryOp op, StridedView d, StridedView s, double a, double b) : INumericKernel, IFloatKernel
{
    public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        T ta = T.CreateTruncating(a), tb = T.CreateTruncating(b);
        switch (op)
        {
            case UnaryOp.Neg: CpuElementwise.Unary<T, NegFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Abs: CpuElementwise.Unary<T, AbsFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Square: CpuElementwise.Unary<T, SquareFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Sign: CpuElementwise.Unary<T, SignFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Affine: CpuElementwise.Unary<T, AffineFn<T>>(d, s, new(ta, tb), op, a, b); break;
            case UnaryOp.ScalarDiv: CpuElementwise.Unary<T, ScalarDivFn<T>>(d, s, new(ta), op, a, b); break;
            case UnaryOp.Relu: CpuElementwise.Unary<T, ReluFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Relu6: CpuElementwise.Unary<T, Relu6Fn<T>>(d, s, new(T.CreateTruncating(6)), op, a, b); break;
            case UnaryOp.LeakyRelu: CpuElementwise.Unary<T, LeakyReluFn<T>>(d, s, new(ta), op, a, b); break;
            case UnaryOp.Clamp: CpuElementwise.Unary<T, ClampFn<T>>(d, s, new(ta, tb), op, a, b); break;
            default: throw DTypeDispatch.Unsupported(op.ToString(), s.DType);
        }
    }

    public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T>
    {
        T ta = T.CreateTruncating(a);
        switch (op)
        {
            case UnaryOp.Exp: CpuElementwise.Unary<T, ExpFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Log: CpuElementwise.Unary<T, LogFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Sqrt: CpuElementwise.Unary<T, SqrtFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Rsqrt: CpuElementwise.Unary<T, RsqrtFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.PowScalar: CpuElementwise.Unary<T, PowScalarFn<T>>(d, s, new(ta), op, a, b); break;
            case UnaryOp.ScalarPow: CpuElementwise.Unary<T, ScalarPowFn<T>>(d, s, new(ta), op, a, b); break;
            case UnaryOp.Sigmoid: CpuElementwise.Unary<T, SigmoidFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Tanh: CpuElementwise.Unary<T, TanhFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Silu: CpuElementwise.Unary<T, SiluFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Gelu: CpuElementwise.Unary<T, GeluFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Hardsigmoid: CpuElementwise.Unary<T, HardsigmoidFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Hardswish: CpuElementwise.Unary<T, HardswishFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Softsign: CpuElementwise.Unary<T, SoftsignFn<T>>(d, s, default, op, a, b); break;
            default: Run<T>(); break;
        }
    }
}

/// <summary>A binary op: the float-only ops for floats, the numeric ones for every dtype.</summary>
internal readonly struct BinaryKernel(BinaryOp op, StridedView d, StridedView x, StridedView y, double a, double b) : INumericKernel, IFloatKernel
{
    public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        T ta = T.CreateTruncating(a), tb = T.CreateTruncating(b);
        switch (op)
        {
            case BinaryOp.Add: CpuElementwise.Binary<T, T, AddFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Sub: CpuElementwise.Binary<T, T, SubFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Mul: CpuElementwise.Binary<T, T, MulFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Div: CpuElementwise.Binary<T, T, DivFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Maximum: CpuElementwise.Binary<T, T, MaximumFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Minimum: CpuElementwise.Binary<T, T, MinimumFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Eq: CpuElementwise.Binary<T, byte, EqFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Ne: CpuElementwise.Binary<T, byte, NeFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Lt: CpuElementwise.Binary<T, byte, LtFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Le: CpuElementwise.Binary<T, byte, LeFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Gt: CpuElementwise.Binary<T, byte, GtFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Ge: CpuElementwise.Binary<T, byte, GeFn<T>>(d, x, y, default, op); break;
            case BinaryOp.ReluBackward: CpuElementwise.Binary<T, T, ReluBackwardFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Relu6Backward: CpuElementwise.Binary<T, T, Relu6BackwardFn<T>>(d, x, y, new(T.CreateTruncating(6)), op); break;
            case BinaryOp.LeakyReluBackward: CpuElementwise.Binary<T, T, LeakyReluBackwardFn<T>>(d, x, y, new(ta), op); break;
            case BinaryOp.ClampBackward: CpuElementwise.Binary<T, T, ClampBackwardFn<T>>(d, x, y, new(ta, tb), op); break;
            case BinaryOp.AbsBackward: CpuElementwise.Binary<T, T, AbsBackwardFn<T>>(d, x, y, default, op); break;
            default: throw DTypeDispatch.Unsupported(op.ToString(), x.DType);
        }
    }

    public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T>
    {
        switch (op)
        {
            case BinaryOp.Pow: CpuElementwise.Binary<T, T, PowFn<T>>(d, x, y, default, op); break;
            case BinaryOp.PowScalarBackward: CpuElementwise.Binary<T, T, PowScalarBackwardFn<T>>(d, x, y, new(T.CreateTruncating(a)), op); break;
            case BinaryOp.SigmoidBackward: CpuElementwise.Binary<T, T, SigmoidBackwardFn<T>>(d, x, y, default, op); break;
            case BinaryOp.TanhBackward: CpuElementwise.Binary<T, T, TanhBackwardFn<T>>(d, x, y, default, op); break;
            case BinaryOp.SiluBackward: CpuElementwise.Binary<T, T, SiluBackwardFn<T>>(d, x, y, default, op); break;
            case BinaryOp.GeluBackward: CpuElementwise.Binary<T, T, GeluBackwardFn<T>>(d, x, y, default, op); break;
            case BinaryOp.HardsigmoidBackward: CpuElementwise.Binary<T, T, HardsigmoidBackwardFn<T>>(d, x, y, default, op); break;
            case BinaryOp.HardswishBackward: CpuElementwise.Binary<T, T, HardswishBackwardFn<T>>(d, x, y, default, op); break;
            case BinaryOp.SoftsignBackward: CpuElementwise.Binary<T, T, SoftsignBackwardFn<T>>(d, x, y, default, op); break;
            default: Run<T>(); break;
        }
    }
}
