using System.Runtime.CompilerServices;

namespace Engine.Kernels.Ptx;

/// <summary>
/// Floating-point and conversion semantics of PTX: IEEE single and double precision with round-to-nearest-even
/// by default, directed rounding (.rz, .rm, .rp) derived exactly from the round-to-nearest result and the sign of
/// its error, flush-to-zero (.ftz), saturation (.sat), and NaN results canonicalised to the bit pattern the GPU
/// produces (0x7FFFFFFF for .f32).
/// </summary>
internal static class PtxMath
{
    public const uint CanonicalNaN32 = 0x7FFF_FFFF;
    public const ulong CanonicalNaN64 = 0x7FFF_FFFF_FFFF_FFFF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F(ulong s) => BitConverter.UInt32BitsToSingle((uint)s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double D(ulong s) => BitConverter.UInt64BitsToDouble(s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Bits(float f) => float.IsNaN(f) ? CanonicalNaN32 : BitConverter.SingleToUInt32Bits(f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Bits(double d) => double.IsNaN(d) ? CanonicalNaN64 : BitConverter.DoubleToUInt64Bits(d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Ftz(float x) => float.IsSubnormal(x) ? (float.IsNegative(x) ? -0f : 0f) : x;

    /// <summary>PTX min/max: a NaN operand is ignored (both NaN give NaN); -0 counts as less than +0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Min(float a, float b) => float.MinNumber(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(float a, float b) => float.MaxNumber(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Min(double a, double b) => double.MinNumber(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Max(double a, double b) => double.MaxNumber(a, b);

    public static float Ex2(float a) => (float)Math.Pow(2.0, a);

    public static float Lg2(float a) => (float)Math.Log2(a);

    public static float Rsqrt(float a) => (float)(1.0 / Math.Sqrt(a));

    // ------------------------------------------------------------ directed rounding

    /// <summary>Moves the round-to-nearest result <paramref name="f"/> to the directed rounding of the exact value,
    /// given <paramref name="s"/> = sign(exact − f).</summary>
    private static float Direct(float f, int s, Rnd r)
    {
        if (s == 0) return f;
        return r switch
        {
            Rnd.Rz => (s < 0 && f > 0) || (s > 0 && f < 0) ? (f > 0 ? MathF.BitDecrement(f) : MathF.BitIncrement(f)) : f,
            Rnd.Rm => s < 0 ? MathF.BitDecrement(f) : f,
            Rnd.Rp => s > 0 ? MathF.BitIncrement(f) : f,
            _ => f,
        };
    }

    private static double Direct(double f, int s, Rnd r)
    {
        if (s == 0) return f;
        return r switch
        {
            Rnd.Rz => (s < 0 && f > 0) || (s > 0 && f < 0) ? (f > 0 ? Math.BitDecrement(f) : Math.BitIncrement(f)) : f,
            Rnd.Rm => s < 0 ? Math.BitDecrement(f) : f,
            Rnd.Rp => s > 0 ? Math.BitIncrement(f) : f,
            _ => f,
        };
    }

    /// <summary>Error of a + b rounded to s (Knuth's TwoSum).</summary>
    private static double TwoSumErr(double a, double b, double s)
    {
        double bv = s - a;
        double av = s - bv;
        return (a - av) + (b - bv);
    }

    private static int OverflowSign(float f) => float.IsPositiveInfinity(f) ? -1 : 1;
    private static int OverflowSign(double f) => double.IsPositiveInfinity(f) ? -1 : 1;

    public static float Add(float x, float y, Rnd r)
    {
        float f = x + y;
        if (r is Rnd.Rn or Rnd.None || !float.IsFinite(x) || !float.IsFinite(y)) return f;
        int s;
        if (float.IsInfinity(f)) s = OverflowSign(f);
        else
        {
            double hi = (double)x + y;
            double lo = TwoSumErr(x, y, hi);
            s = Math.Sign((hi - f) + lo);
        }
        f = Direct(f, s, r);
        if (f == 0 && s == 0 && r == Rnd.Rm && !(IsPositiveZero(x) && IsPositiveZero(y))) f = -0f;
        return f;
    }

    private static bool IsPositiveZero(float x) => x == 0 && !float.IsNegative(x);
    private static bool IsPositiveZero(double x) => x == 0 && !double.IsNegative(x);

    public static float Mul(float x, float y, Rnd r)
    {
        float f = x * y;
        if (r is Rnd.Rn or Rnd.None || !float.IsFinite(x) || !float.IsFinite(y)) return f;
        int s = float.IsInfinity(f) ? OverflowSign(f) : Math.Sign((double)x * y - f);
        return Direct(f, s, r);
    }

    public static float Fma(float x, float y, float z, Rnd r)
    {
        float f = MathF.FusedMultiplyAdd(x, y, z);
        if (r is Rnd.Rn or Rnd.None || !float.IsFinite(x) || !float.IsFinite(y) || !float.IsFinite(z)) return f;
        int s;
        if (float.IsInfinity(f)) s = OverflowSign(f);
        else
        {
            double p = (double)x * y;
            double hi = p + z;
            double lo = TwoSumErr(p, z, hi);
            s = Math.Sign((hi - f) + lo);
        }
        f = Direct(f, s, r);
        if (f == 0 && s == 0 && r == Rnd.Rm && !(IsPositiveZero((double)x * y) && IsPositiveZero(z))) f = -0f;
        return f;
    }

    public static float Div(float x, float y, Rnd r)
    {
        float f = x / y;
        if (r is Rnd.Rn or Rnd.None || !float.IsFinite(x) || !float.IsFinite(y) || y == 0 || float.IsNaN(f)) return f;
        int s = float.IsInfinity(f) ? OverflowSign(f) : Math.Sign(Math.FusedMultiplyAdd(-(double)f, y, x)) * Math.Sign(y);
        return Direct(f, s, r);
    }

    public static float Sqrt(float x, Rnd r)
    {
        float f = MathF.Sqrt(x);
        if (r is Rnd.Rn or Rnd.None || !float.IsFinite(f) || x <= 0) return f;
        return Direct(f, Math.Sign(Math.FusedMultiplyAdd(-(double)f, f, x)), r);
    }

    public static double Add(double x, double y, Rnd r)
    {
        double f = x + y;
        if (r is Rnd.Rn or Rnd.None || !double.IsFinite(x) || !double.IsFinite(y)) return f;
        int s = double.IsInfinity(f) ? OverflowSign(f) : Math.Sign(TwoSumErr(x, y, f));
        f = Direct(f, s, r);
        if (f == 0 && s == 0 && r == Rnd.Rm && !(IsPositiveZero(x) && IsPositiveZero(y))) f = -0.0;
        return f;
    }

    public static double Mul(double x, double y, Rnd r)
    {
        double f = x * y;
        if (r is Rnd.Rn or Rnd.None || !double.IsFinite(x) || !double.IsFinite(y)) return f;
        int s = double.IsInfinity(f) ? OverflowSign(f) : Math.Sign(Math.FusedMultiplyAdd(x, y, -f));
        return Direct(f, s, r);
    }

    public static double Fma(double x, double y, double z, Rnd r)
    {
        double f = Math.FusedMultiplyAdd(x, y, z);
        if (r is Rnd.Rn or Rnd.None || !double.IsFinite(x) || !double.IsFinite(y) || !double.IsFinite(z)) return f;
        int s;
        if (double.IsInfinity(f)) s = OverflowSign(f);
        else
        {
            double ph = x * y, pl = Math.FusedMultiplyAdd(x, y, -ph);
            double hi = ph + z, lo = TwoSumErr(ph, z, hi);
            s = Math.Sign(((hi - f) + lo) + pl);
        }
        f = Direct(f, s, r);
        if (f == 0 && s == 0 && r == Rnd.Rm && !(IsPositiveZero(x * y) && IsPositiveZero(z))) f = -0.0;
        return f;
    }

    public static double Div(double x, double y, Rnd r)
    {
        double f = x / y;
        if (r is Rnd.Rn or Rnd.None || !double.IsFinite(x) || !double.IsFinite(y) || y == 0 || double.IsNaN(f)) return f;
        int s = double.IsInfinity(f) ? OverflowSign(f) : Math.Sign(Math.FusedMultiplyAdd(-f, y, x)) * Math.Sign(y);
        return Direct(f, s, r);
    }

    public static double Sqrt(double x, Rnd r)
    {
        double f = Math.Sqrt(x);
        if (r is Rnd.Rn or Rnd.None || !double.IsFinite(f) || x <= 0) return f;
        return Direct(f, Math.Sign(Math.FusedMultiplyAdd(-f, f, x)), r);
    }

    // ------------------------------------------------------------ instructions with modifiers

    /// <summary>A float instruction with .ftz, .sat, directed rounding or .NaN (the slow path).</summary>
    public static ulong FloatSlow(FloatOp op, int size, Rnd r, bool ftz, bool sat, ulong a, ulong b, ulong c)
    {
        if (size == 4)
        {
            float x = F(a), y = F(b), z = F(c);
            if (op == FloatOp.Abs) return (ftz ? BitConverter.SingleToUInt32Bits(Ftz(x)) : (uint)a) & 0x7FFF_FFFF;
            if (op == FloatOp.Neg) return (ftz ? BitConverter.SingleToUInt32Bits(Ftz(x)) : (uint)a) ^ 0x8000_0000;
            if (ftz) { x = Ftz(x); y = Ftz(y); z = Ftz(z); }
            float f = op switch
            {
                FloatOp.Add => Add(x, y, r),
                FloatOp.Sub => Add(x, -y, r),
                FloatOp.Mul => Mul(x, y, r),
                FloatOp.Fma => Fma(x, y, z, r),
                FloatOp.Div => Div(x, y, r),
                FloatOp.Min => Min(x, y),
                FloatOp.Max => Max(x, y),
                FloatOp.MinNaN => float.IsNaN(x) || float.IsNaN(y) ? float.NaN : Min(x, y),
                FloatOp.MaxNaN => float.IsNaN(x) || float.IsNaN(y) ? float.NaN : Max(x, y),
                FloatOp.Rcp => Div(1f, x, r),
                FloatOp.Sqrt => Sqrt(x, r),
                FloatOp.Rsqrt => Rsqrt(x),
                FloatOp.Ex2 => Ex2(x),
                FloatOp.Lg2 => Lg2(x),
                FloatOp.Sin => (float)Math.Sin(x),
                _ => (float)Math.Cos(x),
            };
            if (ftz) f = Ftz(f);
            if (sat) f = float.IsNaN(f) ? 0f : Math.Clamp(f, 0f, 1f);
            return Bits(f);
        }
        else
        {
            double x = D(a), y = D(b), z = D(c);
            if (op == FloatOp.Abs) return a & 0x7FFF_FFFF_FFFF_FFFF;
            if (op == FloatOp.Neg) return a ^ 0x8000_0000_0000_0000;
            double f = op switch
            {
                FloatOp.Add => Add(x, y, r),
                FloatOp.Sub => Add(x, -y, r),
                FloatOp.Mul => Mul(x, y, r),
                FloatOp.Fma => Fma(x, y, z, r),
                FloatOp.Div => Div(x, y, r),
                FloatOp.Min => Min(x, y),
                FloatOp.Max => Max(x, y),
                FloatOp.Rcp => Div(1.0, x, r),
                FloatOp.Sqrt => Sqrt(x, r),
                _ => 1.0 / Math.Sqrt(x),
            };
            return Bits(f);
        }
    }

    // ------------------------------------------------------------ cvt

    private static ulong Mask(int size) => size >= 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    private static Int128 IntMin(PtxType t) => PtxTypes.IsSigned(t) ? -((Int128)1 << (PtxTypes.Size(t) * 8 - 1)) : 0;

    private static Int128 IntMax(PtxType t) =>
        PtxTypes.IsSigned(t) ? ((Int128)1 << (PtxTypes.Size(t) * 8 - 1)) - 1 : ((Int128)1 << (PtxTypes.Size(t) * 8)) - 1;

    private static double RoundInt(double v, Rnd r) => r switch
    {
        Rnd.Rni => Math.Round(v, MidpointRounding.ToEven),
        Rnd.Rzi => Math.Truncate(v),
        Rnd.Rmi => Math.Floor(v),
        Rnd.Rpi => Math.Ceiling(v),
        _ => v,
    };

    /// <summary>Truncates <paramref name="v"/> to type <paramref name="t"/>, then sign- or zero-extends it to the register.</summary>
    private static ulong IntResult(PtxType t, Int128 v, int regSize)
    {
        int size = PtxTypes.Size(t);
        ulong bits = (ulong)(v & ulong.MaxValue) & Mask(size);
        if (PtxTypes.IsSigned(t) && regSize > size && size < 8 && (bits >> (size * 8 - 1) & 1) != 0) bits |= ~Mask(size);
        return bits & Mask(Math.Max(regSize, size));
    }

    private static float ToFloat(Int128 v)
    {
        if (v >= long.MinValue && v <= long.MaxValue) return (long)v;
        ulong u = (ulong)v;
        return (long)((u >> 1) | (u & 1)) * 2f;
    }

    private static double ToDouble(Int128 v)
    {
        if (v >= long.MinValue && v <= long.MaxValue) return (long)v;
        ulong u = (ulong)v;
        return (long)((u >> 1) | (u & 1)) * 2.0;
    }

    /// <summary>cvt: converts source bits of type <paramref name="st"/> to type <paramref name="dt"/> in a register of <paramref name="regSize"/> bytes.</summary>
    public static ulong Convert(ulong a, PtxType dt, PtxType st, Rnd r, bool sat, bool ftz, int regSize)
    {
        int ssz = PtxTypes.Size(st);
        if (PtxTypes.IsFloat(st))
        {
            double v;
            if (st == PtxType.F32)
            {
                float x = F(a);
                v = ftz ? Ftz(x) : x;
            }
            else v = D(a);
            if (PtxTypes.IsFloat(dt))
            {
                if (r is Rnd.Rni or Rnd.Rzi or Rnd.Rmi or Rnd.Rpi) v = RoundInt(v, r);
                if (dt == PtxType.F32)
                {
                    float f = (float)v;
                    if (st == PtxType.F64 && double.IsFinite(v) && r is Rnd.Rz or Rnd.Rm or Rnd.Rp)
                        f = Direct(f, float.IsInfinity(f) ? OverflowSign(f) : v.CompareTo((double)f), r);
                    if (ftz) f = Ftz(f);
                    if (sat) f = float.IsNaN(f) ? 0f : Math.Clamp(f, 0f, 1f);
                    return Bits(f);
                }
                if (sat) v = double.IsNaN(v) ? 0 : Math.Clamp(v, 0, 1);
                return Bits(v);
            }
            // Float to integer: rounds, then saturates to the destination range; NaN gives 0.
            if (double.IsNaN(v)) return 0;
            double rv = RoundInt(v, r);
            Int128 lo = IntMin(dt), hi = IntMax(dt);
            Int128 iv = rv <= (double)lo ? lo : rv >= (double)hi ? hi : (Int128)rv;
            return IntResult(dt, iv, regSize);
        }
        ulong raw = a & Mask(ssz);
        Int128 val = PtxTypes.IsSigned(st) && ssz < 8 && (raw >> (ssz * 8 - 1) & 1) != 0 ? (Int128)(long)(raw | ~Mask(ssz))
            : PtxTypes.IsSigned(st) ? (Int128)(long)raw : (Int128)raw;
        if (PtxTypes.IsFloat(dt))
        {
            if (dt == PtxType.F32)
            {
                float f = ToFloat(val);
                if (r is Rnd.Rz or Rnd.Rm or Rnd.Rp) f = Direct(f, val.CompareTo((Int128)f), r);
                if (sat) f = Math.Clamp(f, 0f, 1f);
                return Bits(f);
            }
            double d = ToDouble(val);
            if (r is Rnd.Rz or Rnd.Rm or Rnd.Rp) d = Direct(d, val.CompareTo((Int128)d), r);
            if (sat) d = Math.Clamp(d, 0, 1);
            return Bits(d);
        }
        if (sat) val = Int128.Clamp(val, IntMin(dt), IntMax(dt));
        return IntResult(dt, val, regSize);
    }
}
