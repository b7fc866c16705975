namespace Engine.Kernels.Gpu;

/// <summary>
/// The table of elementwise PTX bodies: for each unary and binary op and element type, the instructions that compute
/// one output from the loaded operands (<see cref="PtxGen"/> wraps a body in the strided, broadcasting kernel), and the
/// f64 helpers they share (widening, one rounding, C's pow with its special cases). A new elementwise op is one row
/// here, one case in the CPU backend's kernel struct and its enum value.
/// </summary>
internal static class ElementwisePtx
{
    /// <summary>The body of float unary <paramref name="op"/> for element type <paramref name="t"/>, or null when it has none.</summary>
    internal static Func<PtxWriter, string[], string[], string>? Unary(UnaryOp op, ElemType t)
    {
        string f = PtxGen.TypeSuffix(t);
        string Z = PtxGen.Immediate(t, 0), One = PtxGen.Immediate(t, 1);
        // f32 transcendental functions are computed in f64 and rounded once
        Func<PtxWriter, string[], string[], string> ViaF64(Func<PtxWriter, string, string> f64) =>
            (w, v, _) => Narrow(w, t, f64(w, Widen(w, t, v[0])));
        return op switch
        {
            UnaryOp.Neg => (w, v, _) => { string o = w.Reg(t); w.Emit($"neg.{f} {o}, {v[0]}"); return o; },
            UnaryOp.Abs => (w, v, _) => { string o = w.Reg(t); w.Emit($"abs.{f} {o}, {v[0]}"); return o; },
            UnaryOp.Square => (w, v, _) => { string o = w.Reg(t); w.Emit($"mul.rn.{f} {o}, {v[0]}, {v[0]}"); return o; },
            UnaryOp.Sqrt => (w, v, _) => { string o = w.Reg(t); w.Emit($"sqrt.rn.{f} {o}, {v[0]}"); return o; },
            UnaryOp.Rsqrt => (w, v, _) => { string o = w.Reg(t); w.Emit($"sqrt.rn.{f} {o}, {v[0]}"); w.Emit($"div.rn.{f} {o}, {One}, {o}"); return o; },
            UnaryOp.ScalarDiv => (w, v, s) => { string o = w.Reg(t); w.Emit($"div.rn.{f} {o}, {s[0]}, {v[0]}"); return o; },
            UnaryOp.Affine => (w, v, s) => { string o = w.Reg(t); w.Emit($"mul.rn.{f} {o}, {v[0]}, {s[0]}"); w.Emit($"add.rn.{f} {o}, {o}, {s[1]}"); return o; },
            UnaryOp.Relu => (w, v, _) =>
            {   // x > 0 or NaN ? x : 0
                string o = w.Reg(t), p = w.Reg("p");
                w.Emit($"setp.gtu.{f} {p}, {v[0]}, {Z}");
                w.Emit($"selp.{f} {o}, {v[0]}, {Z}, {p}");
                return o;
            },
            UnaryOp.Relu6 => (w, v, _) => Clamp(w, v[0], Z, PtxGen.Immediate(t, 6)),
            UnaryOp.Clamp => (w, v, s) => Clamp(w, v[0], s[0], s[1]),
            UnaryOp.LeakyRelu => (w, v, s) =>
            {
                string o = w.Reg(t), m = w.Reg(t), p = w.Reg("p");
                w.Emit($"mul.rn.{f} {m}, {v[0]}, {s[0]}");
                w.Emit($"setp.gt.{f} {p}, {v[0]}, {Z}");
                w.Emit($"selp.{f} {o}, {v[0]}, {m}, {p}");
                return o;
            },
            UnaryOp.Sign => (w, v, _) =>
            {
                string o = w.Reg(t), p = w.Reg("p");
                w.Emit($"mov.{f} {o}, {Z}");
                w.Emit($"setp.gt.{f} {p}, {v[0]}, {Z}");
                w.Emit($"@{p} mov.{f} {o}, {One}");
                w.Emit($"setp.lt.{f} {p}, {v[0]}, {Z}");
                w.Emit($"@{p} mov.{f} {o}, {PtxGen.Immediate(t, -1)}");
                w.Emit($"setp.nan.{f} {p}, {v[0]}, {v[0]}");
                w.Emit($"@{p} mov.{f} {o}, {v[0]}");
                return o;
            },
            UnaryOp.Exp => ViaF64((w, x) => PtxGen.Exp64(w, x)),
            UnaryOp.Log => ViaF64(PtxGen.Log64),
            UnaryOp.Tanh => ViaF64(PtxGen.Tanh64),
            UnaryOp.Sigmoid => ViaF64(PtxGen.Sigmoid64),
            // exact GELU x·Φ(x) with Φ from the erf of PtxGen.Erf64 (the CPU's series / continued fraction)
            UnaryOp.Gelu => ViaF64((w, x) => { string c = PtxGen.NormalCdf64(w, x), o = w.Reg("fd"); w.Emit($"mul.rn.f64 {o}, {x}, {c}"); return o; }),
            UnaryOp.Silu => ViaF64((w, x) => { string s = PtxGen.Sigmoid64(w, x), o = w.Reg("fd"); w.Emit($"mul.rn.f64 {o}, {x}, {s}"); return o; }),
            UnaryOp.Hardsigmoid => (w, v, _) => Hardsigmoid(w, v[0]),
            UnaryOp.Hardswish => (w, v, _) => { string hs = Hardsigmoid(w, v[0]), o = w.Reg(t); w.Emit($"mul.rn.{f} {o}, {v[0]}, {hs}"); return o; },
            UnaryOp.Softsign => (w, v, _) =>
            {   // x / (1 + |x|)
                string d = w.Reg(t), o = w.Reg(t);
                w.Emit($"abs.{f} {d}, {v[0]}");
                w.Emit($"add.rn.{f} {d}, {d}, {One}");
                w.Emit($"div.rn.{f} {o}, {v[0]}, {d}");
                return o;
            },
            // x^p and p^x in f64 (rounded once for float32), with C's pow special cases
            UnaryOp.PowScalar => (w, v, s) => Narrow(w, t, Pow64(w, Widen(w, t, v[0]), Widen(w, t, s[0]))),
            UnaryOp.ScalarPow => (w, v, s) => Narrow(w, t, Pow64(w, Widen(w, t, s[0]), Widen(w, t, v[0]))),
            _ => null,
        };

        string Hardsigmoid(PtxWriter w, string x)
        {   // clamp(x + 3, 0, 6) / 6 in the element type, NaN stays NaN
            string u = w.Reg(t), o = w.Reg(t);
            w.Emit($"add.rn.{f} {u}, {x}, {PtxGen.Immediate(t, 3)}");
            string c = Clamp(w, u, Z, PtxGen.Immediate(t, 6));
            w.Emit($"div.rn.{f} {o}, {c}, {PtxGen.Immediate(t, 6)}");
            return o;
        }

        string Clamp(PtxWriter w, string x, string lo, string hi)
        {   // x < lo ? lo : x > hi ? hi : x (NaN stays NaN)
            string o = w.Reg(t), p = w.Reg("p");
            w.Emit($"setp.gt.{f} {p}, {x}, {hi}");
            w.Emit($"selp.{f} {o}, {hi}, {x}, {p}");
            w.Emit($"setp.lt.{f} {p}, {x}, {lo}");
            w.Emit($"selp.{f} {o}, {lo}, {o}, {p}");
            return o;
        }
    }

    // Integer forms of the unary ops the CPU backend also has for int64/int32 (wrapping arithmetic, as .NET's).
    internal static Func<PtxWriter, string[], string[], string>? IntUnary(UnaryOp op, ElemType t)
    {
        string f = PtxGen.TypeSuffix(t), Z = PtxGen.Immediate(t, 0);
        return op switch
        {
            UnaryOp.Neg => (w, v, _) => { string o = w.Reg(t); w.Emit($"neg.{f} {o}, {v[0]}"); return o; },
            UnaryOp.Abs => (w, v, _) => { string o = w.Reg(t); w.Emit($"abs.{f} {o}, {v[0]}"); return o; },
            UnaryOp.Square => (w, v, _) => { string o = w.Reg(t); w.Emit($"mul.lo.{f} {o}, {v[0]}, {v[0]}"); return o; },
            UnaryOp.Affine => (w, v, s) => { string o = w.Reg(t); w.Emit($"mad.lo.{f} {o}, {v[0]}, {s[0]}, {s[1]}"); return o; },
            UnaryOp.Relu => (w, v, _) => { string o = w.Reg(t); w.Emit($"max.{f} {o}, {v[0]}, {Z}"); return o; },
            UnaryOp.Relu6 => (w, v, _) => { string o = w.Reg(t); w.Emit($"max.{f} {o}, {v[0]}, {Z}"); w.Emit($"min.{f} {o}, {o}, {PtxGen.Immediate(t, 6)}"); return o; },
            UnaryOp.Clamp => (w, v, s) =>
            {   // x < lo ? lo : x > hi ? hi : x, in the CPU's order (lo wins when lo > hi)
                string o = w.Reg(t), p = w.Reg("p");
                w.Emit($"setp.gt.{f} {p}, {v[0]}, {s[1]}");
                w.Emit($"selp.{f} {o}, {s[1]}, {v[0]}, {p}");
                w.Emit($"setp.lt.{f} {p}, {v[0]}, {s[0]}");
                w.Emit($"selp.{f} {o}, {s[0]}, {o}, {p}");
                return o;
            },
            UnaryOp.Sign => (w, v, _) =>
            {
                string o = w.Reg(t), p = w.Reg("p");
                w.Emit($"setp.gt.{f} {p}, {v[0]}, 0");
                w.Emit($"selp.{f} {o}, 1, 0, {p}");
                w.Emit($"setp.lt.{f} {p}, {v[0]}, 0");
                w.Emit($"selp.{f} {o}, -1, {o}, {p}");
                return o;
            },
            _ => null,
        };
    }

    // A float32 value widened to f64 for the f64 math helpers, and an f64 result rounded once to the element type
    // (both the identity for float64).
    private static string Widen(PtxWriter w, ElemType t, string x)
    {
        if (t == ElemType.F64) return x;
        string o = w.Reg("fd");
        w.Emit($"cvt.f64.f32 {o}, {x}");
        return o;
    }

    private static string Narrow(PtxWriter w, ElemType t, string xd)
    {
        if (t == ElemType.F64) return xd;
        string o = w.Reg("f");
        w.Emit($"cvt.rn.f32.f64 {o}, {xd}");
        return o;
    }

    /// <summary>
    /// f64 x^y as C's pow: 1 when y = 0 or x = 1 (also for NaN operands) or x = −1 and y = ±∞; NaN for finite x &lt; 0 with a
    /// non-integer y; otherwise ±e^(y·ln|x|), negative for x &lt; 0 (including −0) and an odd integer y. ln 0 = −∞ and
    /// ln ∞ = ∞ give the zero and infinite cases. Accurate to a few ulps of f64 (enough to round float32 correctly).
    /// </summary>
    private static string Pow64(PtxWriter w, string x, string y)
    {
        string ax = w.Reg("fd"), prod = w.Reg("fd");
        w.Emit($"abs.f64 {ax}, {x}");
        string ln = PtxGen.Log64(w, ax);
        w.Emit($"mul.rn.f64 {prod}, {y}, {ln}");
        string mag = PtxGen.Exp64(w, prod);
        // integer and odd tests of y: floor(y) == y; odd when floor(y / 2) * 2 != y
        string fl = w.Reg("fd"), half = w.Reg("fd"), pint = w.Reg("p"), podd = w.Reg("p"), pneg = w.Reg("p"), p = w.Reg("p"), res = w.Reg("fd"), neg = w.Reg("fd");
        w.Emit($"cvt.rmi.f64.f64 {fl}, {y}");
        w.Emit($"setp.eq.f64 {pint}, {fl}, {y}");
        w.Emit($"mul.rn.f64 {half}, {y}, 0d3FE0000000000000");
        w.Emit($"cvt.rmi.f64.f64 {half}, {half}");
        w.Emit($"add.rn.f64 {half}, {half}, {half}");
        w.Emit($"setp.neu.f64 {podd}, {half}, {y}");
        w.Emit($"and.pred {podd}, {podd}, {pint}");
        // sign bit of x (−0 counts as negative)
        string bits = w.Reg("rd");
        w.Emit($"mov.b64 {bits}, {x}");
        w.Emit($"setp.lt.s64 {pneg}, {bits}, 0");
        w.Emit($"neg.f64 {neg}, {mag}");
        w.Emit($"and.pred {p}, {pneg}, {podd}");
        w.Emit($"selp.f64 {res}, {neg}, {mag}, {p}");
        // x < 0 (not −0, not NaN) and y not an integer (NaN y counts as not an integer): NaN
        string pxneg = w.Reg("p"), pnan = w.Reg("p");
        w.Emit($"setp.lt.f64 {pxneg}, {x}, 0d0000000000000000");
        w.Emit($"setp.gt.and.f64 {pxneg}, {x}, 0dFFF0000000000000, {pxneg}");   // (−∞)^y is ±∞ or ±0, never NaN
        w.Emit($"not.pred {pnan}, {pint}");
        w.Emit($"and.pred {pnan}, {pnan}, {pxneg}");
        w.Emit($"selp.f64 {res}, 0dFFF8000000000000, {res}, {pnan}");
        // x = −1 and y = ±∞: 1
        string pm1 = w.Reg("p"), pinf = w.Reg("p"), ay = w.Reg("fd");
        w.Emit($"setp.eq.f64 {pm1}, {x}, 0dBFF0000000000000");
        w.Emit($"abs.f64 {ay}, {y}");
        w.Emit($"setp.eq.f64 {pinf}, {ay}, 0d7FF0000000000000");
        w.Emit($"and.pred {pm1}, {pm1}, {pinf}");
        w.Emit($"selp.f64 {res}, 0d3FF0000000000000, {res}, {pm1}");
        // y = 0 or x = 1: 1 (even when the other operand is NaN)
        string pone = w.Reg("p");
        w.Emit($"setp.eq.f64 {pone}, {y}, 0d0000000000000000");
        w.Emit($"setp.eq.or.f64 {pone}, {x}, 0d3FF0000000000000, {pone}");
        w.Emit($"selp.f64 {res}, 0d3FF0000000000000, {res}, {pone}");
        return res;
    }

    /// <summary>The body of binary <paramref name="op"/> for element type <paramref name="t"/>, or null when it has none.</summary>
    internal static Func<PtxWriter, string[], string[], string>? Binary(BinaryOp op, ElemType t)
    {
        bool fl = PtxGen.IsFloat(t);
        string f = PtxGen.TypeSuffix(t), rn = fl ? ".rn" : "", lo = fl ? "" : ".lo", Z = PtxGen.Immediate(t, 0);
        Func<PtxWriter, string[], string[], string> Arith(string ins) => (w, v, _) => { string o = w.Reg(t); w.Emit($"{ins}.{f} {o}, {v[0]}, {v[1]}"); return o; };
        Func<PtxWriter, string[], string[], string> Cmp(string c) => (w, v, _) =>
        {
            string p = w.Reg("p"), h = w.Reg("h");
            w.Emit($"setp.{c}.{f} {p}, {v[0]}, {v[1]}");
            w.Emit($"selp.u16 {h}, 1, 0, {p}");
            return h;
        };
        Func<PtxWriter, string[], string[], string> MinMax(string cmp) => (w, v, _) =>
        {   // NaN-propagating, first operand on ties: x cmp y ? x : y, then NaN of y, then NaN of x
            string o = w.Reg(t), p = w.Reg("p");
            w.Emit($"setp.{cmp}.{f} {p}, {v[0]}, {v[1]}");
            w.Emit($"selp.{f} {o}, {v[0]}, {v[1]}, {p}");
            if (fl)
            {
                w.Emit($"setp.nan.{f} {p}, {v[1]}, {v[1]}");
                w.Emit($"selp.{f} {o}, {v[1]}, {o}, {p}");
                w.Emit($"setp.nan.{f} {p}, {v[0]}, {v[0]}");
                w.Emit($"selp.{f} {o}, {v[0]}, {o}, {p}");
            }
            return o;
        };
        return op switch
        {
            BinaryOp.Add => Arith("add" + rn),
            BinaryOp.Sub => Arith("sub" + rn),
            BinaryOp.Mul => Arith("mul" + rn + lo),
            BinaryOp.Div when fl => Arith("div.rn"),
            BinaryOp.Maximum => MinMax("ge"),
            BinaryOp.Minimum => MinMax("le"),
            BinaryOp.Eq => Cmp("eq"),
            BinaryOp.Ne => Cmp(fl ? "neu" : "ne"),
            BinaryOp.Lt => Cmp("lt"),
            BinaryOp.Le => Cmp("le"),
            BinaryOp.Gt => Cmp("gt"),
            BinaryOp.Ge => Cmp("ge"),
            BinaryOp.ReluBackward => (w, v, _) =>
            {
                string o = w.Reg(t), p = w.Reg("p");
                w.Emit($"setp.gt.{f} {p}, {v[1]}, {Z}");
                w.Emit($"selp.{f} {o}, {v[0]}, {Z}, {p}");
                return o;
            },
            BinaryOp.Relu6Backward => (w, v, _) =>
            {   // g where 0 < x < 6
                string o = w.Reg(t), p = w.Reg("p");
                w.Emit($"setp.gt.{f} {p}, {v[1]}, {Z}");
                w.Emit($"setp.lt.and.{f} {p}, {v[1]}, {PtxGen.Immediate(t, 6)}, {p}");
                w.Emit($"selp.{f} {o}, {v[0]}, {Z}, {p}");
                return o;
            },
            BinaryOp.LeakyReluBackward => (w, v, s) =>
            {   // x > 0 ? g : g·slope
                string o = w.Reg(t), m = w.Reg(t), p = w.Reg("p");
                w.Emit($"mul{rn}{lo}.{f} {m}, {v[0]}, {s[0]}");
                w.Emit($"setp.gt.{f} {p}, {v[1]}, {Z}");
                w.Emit($"selp.{f} {o}, {v[0]}, {m}, {p}");
                return o;
            },
            BinaryOp.ClampBackward => (w, v, s) =>
            {   // g where lo ≤ x ≤ hi
                string o = w.Reg(t), p = w.Reg("p");
                w.Emit($"setp.ge.{f} {p}, {v[1]}, {s[0]}");
                w.Emit($"setp.le.and.{f} {p}, {v[1]}, {s[1]}, {p}");
                w.Emit($"selp.{f} {o}, {v[0]}, {Z}, {p}");
                return o;
            },
            BinaryOp.AbsBackward => (w, v, _) =>
            {   // g·sign(x), sign(NaN) = NaN
                string sg = w.Reg(t), o = w.Reg(t), p = w.Reg("p");
                w.Emit($"mov.{f} {sg}, {Z}");
                w.Emit($"setp.gt.{f} {p}, {v[1]}, {Z}");
                w.Emit($"@{p} mov.{f} {sg}, {PtxGen.Immediate(t, 1)}");
                w.Emit($"setp.lt.{f} {p}, {v[1]}, {Z}");
                w.Emit($"@{p} mov.{f} {sg}, {PtxGen.Immediate(t, -1)}");
                if (fl)
                {
                    w.Emit($"setp.nan.{f} {p}, {v[1]}, {v[1]}");
                    w.Emit($"@{p} mov.{f} {sg}, {v[1]}");
                }
                w.Emit($"mul{rn}{lo}.{f} {o}, {v[0]}, {sg}");
                return o;
            },
            _ when !fl => null,
            BinaryOp.Pow => (w, v, _) => Narrow(w, t, Pow64(w, Widen(w, t, v[0]), Widen(w, t, v[1]))),
            BinaryOp.PowScalarBackward => (w, v, s) =>
            {   // p = 0 ? 0 : (g·p)·x^(p − 1), each product rounded in the element type as on the CPU
                string pm1 = w.Reg(t), gp = w.Reg(t), o = w.Reg(t), pz = w.Reg("p");
                w.Emit($"sub.rn.{f} {pm1}, {s[0]}, {PtxGen.Immediate(t, 1)}");
                string pw = Narrow(w, t, Pow64(w, Widen(w, t, v[1]), Widen(w, t, pm1)));
                w.Emit($"mul.rn.{f} {gp}, {v[0]}, {s[0]}");
                w.Emit($"mul.rn.{f} {o}, {gp}, {pw}");
                w.Emit($"setp.eq.{f} {pz}, {s[0]}, {Z}");
                w.Emit($"selp.{f} {o}, {Z}, {o}, {pz}");
                return o;
            },
            BinaryOp.SigmoidBackward => (w, v, _) =>
            {   // (g·y)·(1 − y)
                string gy = w.Reg(t), om = w.Reg(t), o = w.Reg(t);
                w.Emit($"mul.rn.{f} {gy}, {v[0]}, {v[1]}");
                w.Emit($"sub.rn.{f} {om}, {PtxGen.Immediate(t, 1)}, {v[1]}");
                w.Emit($"mul.rn.{f} {o}, {gy}, {om}");
                return o;
            },
            BinaryOp.TanhBackward => (w, v, _) =>
            {   // g·(1 − y²)
                string yy = w.Reg(t), om = w.Reg(t), o = w.Reg(t);
                w.Emit($"mul.rn.{f} {yy}, {v[1]}, {v[1]}");
                w.Emit($"sub.rn.{f} {om}, {PtxGen.Immediate(t, 1)}, {yy}");
                w.Emit($"mul.rn.{f} {o}, {v[0]}, {om}");
                return o;
            },
            BinaryOp.GeluBackward => (w, v, _) =>
            {   // g·(Φ(x) + x·φ(x)), the bracket in f64 (unfused, as the CPU) and rounded to the element type
                string xd = Widen(w, t, v[1]), xp = w.Reg("fd"), s = w.Reg("fd"), o = w.Reg(t);
                string cdf = PtxGen.NormalCdf64(w, xd), pdf = PtxGen.NormalPdf64(w, xd);
                w.Emit($"mul.rn.f64 {xp}, {xd}, {pdf}");
                w.Emit($"add.rn.f64 {s}, {cdf}, {xp}");
                w.Emit($"mul.rn.{f} {o}, {v[0]}, {Narrow(w, t, s)}");
                return o;
            },
            BinaryOp.SiluBackward => (w, v, _) =>
            {   // (g·s)·(1 + x·(1 − s)), s = sigmoid(x) computed in f64 and rounded to the element type
                string sg = Narrow(w, t, PtxGen.Sigmoid64(w, Widen(w, t, v[1])));
                string gs = w.Reg(t), om = w.Reg(t), xm = w.Reg(t), o = w.Reg(t);
                w.Emit($"mul.rn.{f} {gs}, {v[0]}, {sg}");
                w.Emit($"sub.rn.{f} {om}, {PtxGen.Immediate(t, 1)}, {sg}");
                w.Emit($"mul.rn.{f} {xm}, {v[1]}, {om}");
                w.Emit($"add.rn.{f} {xm}, {PtxGen.Immediate(t, 1)}, {xm}");
                w.Emit($"mul.rn.{f} {o}, {gs}, {xm}");
                return o;
            },
            BinaryOp.HardsigmoidBackward => (w, v, _) =>
            {   // g / 6 where −3 < x < 3
                string o = w.Reg(t), d = w.Reg(t), p = w.Reg("p");
                w.Emit($"div.rn.{f} {d}, {v[0]}, {PtxGen.Immediate(t, 6)}");
                w.Emit($"setp.gt.{f} {p}, {v[1]}, {PtxGen.Immediate(t, -3)}");
                w.Emit($"setp.lt.and.{f} {p}, {v[1]}, {PtxGen.Immediate(t, 3)}, {p}");
                w.Emit($"selp.{f} {o}, {d}, {Z}, {p}");
                return o;
            },
            BinaryOp.HardswishBackward => (w, v, _) =>
            {   // x < −3 ? 0 : x > 3 ? g : g·(x/3 + 1/2)
                string q = w.Reg(t), m = w.Reg(t), o = w.Reg(t), p = w.Reg("p");
                w.Emit($"div.rn.{f} {q}, {v[1]}, {PtxGen.Immediate(t, 3)}");
                w.Emit($"add.rn.{f} {q}, {q}, {PtxGen.Immediate(t, 0.5)}");
                w.Emit($"mul.rn.{f} {m}, {v[0]}, {q}");
                w.Emit($"setp.gt.{f} {p}, {v[1]}, {PtxGen.Immediate(t, 3)}");
                w.Emit($"selp.{f} {o}, {v[0]}, {m}, {p}");
                w.Emit($"setp.lt.{f} {p}, {v[1]}, {PtxGen.Immediate(t, -3)}");
                w.Emit($"selp.{f} {o}, {Z}, {o}, {p}");
                return o;
            },
            BinaryOp.SoftsignBackward => (w, v, _) =>
            {   // g / (1 + |x|)²
                string d = w.Reg(t), o = w.Reg(t);
                w.Emit($"abs.{f} {d}, {v[1]}");
                w.Emit($"add.rn.{f} {d}, {d}, {PtxGen.Immediate(t, 1)}");
                w.Emit($"mul.rn.{f} {d}, {d}, {d}");
                w.Emit($"div.rn.{f} {o}, {v[0]}, {d}");
                return o;
            },
            _ => null,
        };
    }
}
