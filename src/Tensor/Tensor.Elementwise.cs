using Engine.Kernels;

namespace Engine;

// Elementwise ops: forward through IBackend.Unary/Binary, backward next to each forward. Binary ops broadcast
// (NumPy rules); their gradients are summed back to each input's shape (SumTo).
public sealed partial class Tensor
{
    internal static Tensor BinaryKernel(string op, BinaryOp kind, Tensor x, Tensor y, DType? outType = null, double a = 0, double b = 0)
    {
        x.StorageOf(op); y.StorageOf(op);
        Checks.SameDevice(op, x, y);
        Checks.SameDType(op, x, y);
        if (outType != DType.Bool) Checks.Numeric(op, x); // comparisons are defined on bool too
        var shape = Checks.Broadcast(op, x._shape, y._shape);
        var r = Empty(shape, outType ?? x.DType, x.Device, op: op);
        x.Backend.Binary(kind, r.View(op), x.ViewAs(op, shape), y.ViewAs(op, shape), a, b);
        return r;
    }

    internal static Tensor UnaryKernel(string op, UnaryOp kind, Tensor x, double a = 0, double b = 0)
    {
        x.StorageOf(op);
        Checks.Numeric(op, x);
        var r = Empty(x._shape, x.DType, x.Device, op: op);
        x.Backend.Unary(kind, r.View(op), x.View(op), a, b);
        return r;
    }

    private Tensor FloatUnary(string op, UnaryOp kind, double a = 0, double b = 0)
    {
        Checks.Float(op, this);
        return UnaryKernel(op, kind, this, a, b);
    }

    /// <summary>A 0-dim tensor of this tensor's dtype and device.</summary>
    internal Tensor ScalarLike(double v) => Full([], v, DType, Device);

    /// <summary>Sums a broadcast gradient back to <paramref name="shape"/>.</summary>
    internal Tensor SumTo(long[] shape)
    {
        if (ShapeSpan.SequenceEqual(shape)) return this;
        int lead = Rank - shape.Length;
        var dims = new List<int>();
        for (int i = 0; i < Rank; i++)
            if (i < lead || (shape[i - lead] == 1 && _shape[i] != 1)) dims.Add(i);
        return Sum([.. dims], keepDim: true).Reshape(shape);
    }

    // ---- arithmetic -------------------------------------------------------------------------------------

    /// <summary>this + other, broadcasting.</summary>
    public Tensor Add(Tensor other)
    {
        var r = BinaryKernel("add", BinaryOp.Add, this, other);
        long[] sa = _shape, sb = other._shape;
        return Autograd.Record(r, "add", [this, other], (g, n) => [n[0] ? g.SumTo(sa) : null, n[1] ? g.SumTo(sb) : null]);
    }

    /// <summary>this + alpha·other.</summary>
    public Tensor Add(Tensor other, double alpha) => alpha == 1 ? Add(other) : Add(other.Mul(alpha));

    /// <summary>this − other, broadcasting.</summary>
    public Tensor Sub(Tensor other)
    {
        var r = BinaryKernel("sub", BinaryOp.Sub, this, other);
        long[] sa = _shape, sb = other._shape;
        return Autograd.Record(r, "sub", [this, other], (g, n) => [n[0] ? g.SumTo(sa) : null, n[1] ? g.Neg().SumTo(sb) : null]);
    }

    /// <summary>this · other elementwise, broadcasting.</summary>
    public Tensor Mul(Tensor other)
    {
        var r = BinaryKernel("mul", BinaryOp.Mul, this, other);
        Tensor x = this, y = other;
        return Autograd.Record(r, "mul", [this, other], (g, n) => [n[0] ? g.Mul(y).SumTo(x._shape) : null, n[1] ? g.Mul(x).SumTo(y._shape) : null],
            saved: [other.RequiresGrad ? x : null, RequiresGrad ? y : null]);
    }

    /// <summary>this / other elementwise (floating point), broadcasting.</summary>
    public Tensor Div(Tensor other)
    {
        Checks.Float("div", this);
        var r = BinaryKernel("div", BinaryOp.Div, this, other);
        Tensor x = this, y = other;
        return Autograd.Record(r, "div", [this, other], (g, n) =>
            [n[0] ? g.Div(y).SumTo(x._shape) : null, n[1] ? g.Mul(r).Div(y).Neg().SumTo(y._shape) : null], saved: [y, other.RequiresGrad ? r : null]);
    }

    /// <summary>this ^ exponent elementwise (floating point), broadcasting.</summary>
    public Tensor Pow(Tensor exponent)
    {
        Checks.Float("pow", this);
        var r = BinaryKernel("pow", BinaryOp.Pow, this, exponent);
        Tensor x = this, y = exponent;
        return Autograd.Record(r, "pow", [this, exponent], (g, n) =>
            [n[0] ? g.Mul(y).Mul(x.Pow(y.Sub(1.0))).SumTo(x._shape) : null,
             n[1] ? g.Mul(r).Mul(x.Log()).SumTo(y._shape) : null], saved: [x, y, exponent.RequiresGrad ? r : null]);
    }

    /// <summary>Elementwise maximum, broadcasting; NaN propagates. Ties split the gradient evenly.</summary>
    public Tensor Maximum(Tensor other) => MinMax("maximum", BinaryOp.Maximum, BinaryOp.Gt, other);

    /// <summary>Elementwise minimum, broadcasting; NaN propagates. Ties split the gradient evenly.</summary>
    public Tensor Minimum(Tensor other) => MinMax("minimum", BinaryOp.Minimum, BinaryOp.Lt, other);

    private Tensor MinMax(string op, BinaryOp kind, BinaryOp wins, Tensor other)
    {
        var r = BinaryKernel(op, kind, this, other);
        Tensor x = this, y = other;
        return Autograd.Record(r, op, [this, other], (g, n) =>
        {
            // weight of x: 1 where it wins, 1/2 on ties, 0 where it loses
            var w = BinaryKernel(op, wins, x, y, DType.Bool).To(g.DType).Add(BinaryKernel(op, BinaryOp.Eq, x, y, DType.Bool).To(g.DType).Mul(0.5));
            return [n[0] ? g.Mul(w).SumTo(x._shape) : null, n[1] ? g.Mul(w.RSub(1.0)).SumTo(y._shape) : null];
        }, saved: [x, y]);
    }

    /// <summary>this + s.</summary>
    public Tensor Add(double s) => Affine("add", 1, s);

    /// <summary>this − s.</summary>
    public Tensor Sub(double s) => Affine("sub", 1, -s);

    /// <summary>s − this.</summary>
    public Tensor RSub(double s) => Affine("rsub", -1, s);

    /// <summary>this · s.</summary>
    public Tensor Mul(double s) => Affine("mul", s, 0);

    /// <summary>this / s (floating point).</summary>
    public Tensor Div(double s)
    {
        Checks.Float("div", this);
        return Affine("div", 1.0 / s, 0);
    }

    private Tensor Affine(string op, double scale, double shift)
    {
        var r = UnaryKernel(op, UnaryOp.Affine, this, scale, shift);
        Autograd.Record(r, op, [this], (g, _) => [g.Mul(scale)]);
        if (OpTrace.IsActive) OpTrace.Annotate(r, ("scale", scale), ("shift", shift));
        return r;
    }

    /// <summary>s / this (floating point).</summary>
    public Tensor RDiv(double s)
    {
        var r = FloatUnary("rdiv", UnaryOp.ScalarDiv, s);
        Autograd.Record(r, "rdiv", [this], (g, _) => [g.Mul(r).Mul(r).Mul(-1.0 / s)], saved: [r]);
        if (OpTrace.IsActive) OpTrace.Annotate(r, ("numerator", s));
        return r;
    }

    /// <summary>1 / this.</summary>
    public Tensor Reciprocal() => RDiv(1.0);

    /// <summary>this ^ p (floating point).</summary>
    public Tensor Pow(double p)
    {
        var r = FloatUnary("pow", UnaryOp.PowScalar, p);
        Tensor x = this;
        Autograd.Record(r, "pow", [this], (g, _) => [BinaryKernel("pow_backward", BinaryOp.PowScalarBackward, g, x, a: p)], saved: [x]);
        if (OpTrace.IsActive) OpTrace.Annotate(r, ("exponent", p));
        return r;
    }

    /// <summary>−this.</summary>
    public Tensor Neg()
    {
        var r = UnaryKernel("neg", UnaryOp.Neg, this);
        return Autograd.Record(r, "neg", [this], (g, _) => [g.Neg()]);
    }

    /// <summary>|this|.</summary>
    public Tensor Abs()
    {
        var r = UnaryKernel("abs", UnaryOp.Abs, this);
        Tensor x = this;
        return Autograd.Record(r, "abs", [this], (g, _) => [BinaryKernel("abs_backward", BinaryOp.AbsBackward, g, x)], saved: [x]);
    }

    /// <summary>this².</summary>
    public Tensor Square()
    {
        var r = UnaryKernel("square", UnaryOp.Square, this);
        Tensor x = this;
        return Autograd.Record(r, "square", [this], (g, _) => [g.Mul(x).Mul(2.0)], saved: [x]);
    }

    /// <summary>−1, 0 or 1 by the sign of each element (no gradient).</summary>
    public Tensor Sign() => UnaryKernel("sign", UnaryOp.Sign, this);

    /// <summary>e^this.</summary>
    public Tensor Exp()
    {
        var r = FloatUnary("exp", UnaryOp.Exp);
        return Autograd.Record(r, "exp", [this], (g, _) => [g.Mul(r)], saved: [r]);
    }

    /// <summary>Natural log.</summary>
    public Tensor Log()
    {
        var r = FloatUnary("log", UnaryOp.Log);
        Tensor x = this;
        return Autograd.Record(r, "log", [this], (g, _) => [g.Div(x)], saved: [x]);
    }

    /// <summary>Square root.</summary>
    public Tensor Sqrt()
    {
        var r = FloatUnary("sqrt", UnaryOp.Sqrt);
        return Autograd.Record(r, "sqrt", [this], (g, _) => [g.Div(r).Mul(0.5)], saved: [r]);
    }

    /// <summary>1/√this.</summary>
    public Tensor Rsqrt()
    {
        var r = FloatUnary("rsqrt", UnaryOp.Rsqrt);
        return Autograd.Record(r, "rsqrt", [this], (g, _) => [g.Mul(r.Pow(3.0)).Mul(-0.5)], saved: [r]);
    }

    /// <summary>Clamps into [min, max]; either bound may be null. Gradient passes where min ≤ x ≤ max.</summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        if (min is null && max is null) throw new ArgumentValueException("clamp", "at least one of min and max must be given");
        double lo = min ?? double.NegativeInfinity, hi = max ?? double.PositiveInfinity;
        if (!DType.IsFloatingPoint())
        {
            lo = Math.Max(lo, DType == DType.Int32 ? int.MinValue : DType == DType.UInt8 ? 0 : long.MinValue);
            hi = Math.Min(hi, DType == DType.Int32 ? int.MaxValue : DType == DType.UInt8 ? 255 : long.MaxValue);
        }
        var r = UnaryKernel("clamp", UnaryOp.Clamp, this, lo, hi);
        Tensor x = this;
        Autograd.Record(r, "clamp", [this], (g, _) => [BinaryKernel("clamp_backward", BinaryOp.ClampBackward, g, x, a: lo, b: hi)], saved: [x]);
        if (OpTrace.IsActive) OpTrace.Annotate(r, ("min", lo), ("max", hi));
        return r;
    }

    // ---- activations --------------------------------------------------------------------------------------

    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Apply(UnaryOp.Relu);

    /// <summary>min(max(x, 0), 6).</summary>
    public Tensor Relu6() => Apply(UnaryOp.Relu6);

    /// <summary>x for x &gt; 0, slope·x otherwise.</summary>
    public Tensor LeakyRelu(double negativeSlope = 0.01) => Apply(UnaryOp.LeakyRelu, negativeSlope);

    /// <summary>1 / (1 + e^−x).</summary>
    public Tensor Sigmoid() => Apply(UnaryOp.Sigmoid);

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Apply(UnaryOp.Tanh);

    /// <summary>x · sigmoid(x) (SiLU, swish).</summary>
    public Tensor Silu() => Apply(UnaryOp.Silu);

    /// <summary>x · Φ(x), the exact GELU.</summary>
    public Tensor Gelu() => Apply(UnaryOp.Gelu);

    /// <summary>relu6(x + 3) / 6 (MobileNetV3).</summary>
    public Tensor Hardsigmoid() => Apply(UnaryOp.Hardsigmoid);

    /// <summary>x · relu6(x + 3) / 6 (MobileNetV3).</summary>
    public Tensor Hardswish() => Apply(UnaryOp.Hardswish);

    /// <summary>
    /// Applies the activation <paramref name="op"/> (one with an <see cref="ActivationSpec"/> row, e.g.
    /// <see cref="UnaryOp.Softsign"/>) and records its backward (the row's gradient kernel);
    /// <paramref name="parameter"/> is the op's scalar (the negative slope of <see cref="UnaryOp.LeakyRelu"/>).
    /// Any activation is reachable this way, with or without a named method.
    /// </summary>
    /// <exception cref="ArgumentValueException"><paramref name="op"/> is not an activation (use its method, e.g. <c>Exp()</c>).</exception>
    public Tensor Apply(UnaryOp op, double parameter = 0)
    {
        var spec = ActivationSpec.Of(op)
            ?? throw new ArgumentValueException("apply", $"{op} is not an activation (it has no ActivationSpec row); call its tensor method");
        if (spec.FloatOnly) Checks.Float(spec.Name, this);
        var r = UnaryKernel(spec.Name, op, this, parameter);
        Tensor saved = spec.SavesOutput ? r : this;
        Autograd.Record(r, spec.Name, [this], (g, _) => [BinaryKernel(spec.Name + "_backward", spec.Backward, g, saved, a: parameter)], saved: [saved]);
        if (OpTrace.IsActive) OpTrace.Annotate(r, ("parameter", parameter));
        return r;
    }

    // ---- comparisons (bool results, no gradient) ------------------------------------------------------------

    /// <summary>this == other.</summary>
    public Tensor Eq(Tensor other) => BinaryKernel("eq", BinaryOp.Eq, this, other, DType.Bool);
    /// <summary>this != other.</summary>
    public Tensor Ne(Tensor other) => BinaryKernel("ne", BinaryOp.Ne, this, other, DType.Bool);
    /// <summary>this &lt; other.</summary>
    public Tensor Lt(Tensor other) => BinaryKernel("lt", BinaryOp.Lt, this, other, DType.Bool);
    /// <summary>this &lt;= other.</summary>
    public Tensor Le(Tensor other) => BinaryKernel("le", BinaryOp.Le, this, other, DType.Bool);
    /// <summary>this &gt; other.</summary>
    public Tensor Gt(Tensor other) => BinaryKernel("gt", BinaryOp.Gt, this, other, DType.Bool);
    /// <summary>this &gt;= other.</summary>
    public Tensor Ge(Tensor other) => BinaryKernel("ge", BinaryOp.Ge, this, other, DType.Bool);

    private Tensor CompareScalar(string op, BinaryOp kind, double s)
    {
        using var t = ScalarLike(s);
        return BinaryKernel(op, kind, this, t, DType.Bool);
    }

    /// <summary>this == s.</summary>
    public Tensor Eq(double s) => CompareScalar("eq", BinaryOp.Eq, s);
    /// <summary>this != s.</summary>
    public Tensor Ne(double s) => CompareScalar("ne", BinaryOp.Ne, s);
    /// <summary>this &lt; s.</summary>
    public Tensor Lt(double s) => CompareScalar("lt", BinaryOp.Lt, s);
    /// <summary>this &lt;= s.</summary>
    public Tensor Le(double s) => CompareScalar("le", BinaryOp.Le, s);
    /// <summary>this &gt; s.</summary>
    public Tensor Gt(double s) => CompareScalar("gt", BinaryOp.Gt, s);
    /// <summary>this &gt;= s.</summary>
    public Tensor Ge(double s) => CompareScalar("ge", BinaryOp.Ge, s);

    // ---- in place (no graph; used by optimizers and gradient accumulation) ----------------------------------

    /// <summary>this += other (broadcast into this shape), in place.</summary>
    public Tensor AddInPlace(Tensor other, double alpha = 1)
    {
        CheckInPlace("add_");
        return AddInPlaceUnchecked(other, alpha);
    }

    internal Tensor AddInPlaceUnchecked(Tensor other, double alpha = 1)
    {
        Checks.SameDevice("add_", this, other);
        Checks.SameDType("add_", this, other);
        var shape = Checks.Broadcast("add_", _shape, other._shape);
        if (!shape.AsSpan().SequenceEqual(_shape))
            throw new ShapeException("add_", $"cannot add shape {ShapeUtil.Format(other._shape)} into {ShapeUtil.Format(_shape)} in place");
        using var _ = GradMode.Disable();
        if (alpha == 1) Backend.Binary(BinaryOp.Add, WriteView("add_"), View("add_"), other.ViewAs("add_", _shape), 0, 0);
        else
        {
            using var scaled = other.Mul(alpha);
            Backend.Binary(BinaryOp.Add, WriteView("add_"), View("add_"), scaled.ViewAs("add_", _shape), 0, 0);
        }
        return this;
    }

    /// <summary>this ·= s, in place.</summary>
    public Tensor MulInPlace(double s)
    {
        CheckInPlace("mul_");
        Backend.Unary(UnaryOp.Affine, WriteView("mul_"), View("mul_"), s, 0);
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/>, in place.</summary>
    public Tensor FillInPlace(double value)
    {
        CheckInPlace("fill_");
        Backend.Fill(WriteView("fill_"), value);
        return this;
    }

    /// <summary>Sets every element to zero, in place.</summary>
    public Tensor ZeroInPlace() => FillInPlace(0);
}
