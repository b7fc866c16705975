namespace Engine.Kernels.Ptx;

internal sealed partial class PtxCompiler
{
    /// <summary>The dotted modifiers of one instruction; each is taken by the rule that understands it, and any left over is an error.</summary>
    private sealed class Mods
    {
        private readonly List<string> _list;
        private readonly InstructionSyntax _ins;

        public Mods(InstructionSyntax ins)
        {
            _ins = ins;
            _list = [.. ins.Modifiers];
            foreach (var m in _list)
                if (PtxTypes.IsUnsupportedType(m)) throw Fail(ins, $"type '{m}' is not supported by the emulator");
        }

        public bool Take(string m)
        {
            int i = _list.IndexOf(m);
            if (i < 0) return false;
            _list.RemoveAt(i);
            if (_list.Contains(m)) throw Fail(_ins, $"modifier '{m}' is repeated");
            return true;
        }

        public string? TakeOne(params string[] options)
        {
            string? found = null;
            for (int i = 0; i < _list.Count; i++)
            {
                if (!options.Contains(_list[i])) continue;
                if (found != null) throw Fail(_ins, $"modifiers '{found}' and '{_list[i]}' conflict");
                found = _list[i];
                _list.RemoveAt(i);
                i--;
            }
            return found;
        }

        public PtxType? TryType()
        {
            for (int i = 0; i < _list.Count; i++)
            {
                var t = PtxTypes.Parse(_list[i]);
                if (t == null) continue;
                _list.RemoveAt(i);
                return t;
            }
            return null;
        }

        public PtxType Type() => TryType() ?? throw Fail(_ins, "missing type modifier (such as .u32 or .f32)");

        public Rnd Rounding() => TakeOne(".rn", ".rz", ".rm", ".rp", ".rni", ".rzi", ".rmi", ".rpi") switch
        {
            ".rn" => Rnd.Rn, ".rz" => Rnd.Rz, ".rm" => Rnd.Rm, ".rp" => Rnd.Rp,
            ".rni" => Rnd.Rni, ".rzi" => Rnd.Rzi, ".rmi" => Rnd.Rmi, ".rpi" => Rnd.Rpi,
            _ => Rnd.None,
        };

        public void Done()
        {
            if (_list.Count > 0)
                throw Fail(_ins, $"modifier '{_list[0]}' is not supported on '{_ins.Mnemonic}' by the emulator");
        }
    }

    private static readonly HashSet<string> Mnemonics =
    [
        "mov", "selp", "add", "sub", "mul", "mad", "fma", "div", "rem", "min", "max", "abs", "neg",
        "rcp", "sqrt", "rsqrt", "ex2", "lg2", "sin", "cos", "and", "or", "xor", "not", "shl", "shr",
        "setp", "cvt", "cvta", "ld", "st", "atom", "red", "bra", "call", "ret", "exit", "bar", "barrier", "shfl", "vote",
    ];

    /// <summary>Whether the emulator implements instructions named <paramref name="mnemonic"/> (some of their forms may still be rejected).</summary>
    public static bool IsSupportedMnemonic(string mnemonic) => Mnemonics.Contains(mnemonic);

    private void CompileInstruction(InstructionSyntax ins)
    {
        _curWrites.Clear();
        var mods = new Mods(ins);
        Instr ix = ins.Mnemonic switch
        {
            "mov" => CompileMov(ins, mods),
            "selp" => CompileSelp(ins, mods),
            "add" or "sub" or "mul" or "mad" or "fma" or "div" or "rem" or "min" or "max" or "abs" or "neg" => CompileArith(ins, mods),
            "rcp" or "sqrt" or "rsqrt" or "ex2" or "lg2" or "sin" or "cos" => CompileFloatUnary(ins, mods),
            "and" or "or" or "xor" or "not" => CompileLogic(ins, mods),
            "shl" or "shr" => CompileShift(ins, mods),
            "setp" => CompileSetp(ins, mods),
            "cvt" => CompileCvt(ins, mods),
            "cvta" => CompileCvta(ins, mods),
            "ld" => CompileLdSt(ins, mods, load: true),
            "st" => CompileLdSt(ins, mods, load: false),
            "atom" => CompileAtom(ins, mods, red: false),
            "red" => CompileAtom(ins, mods, red: true),
            "bra" => CompileBra(ins, mods),
            "call" => CompileCall(ins, mods),
            "ret" => CompileRetExit(ins, mods, Op.Ret),
            "exit" => CompileRetExit(ins, mods, Op.Exit),
            "bar" or "barrier" => CompileBar(ins, mods),
            "shfl" => CompileShfl(ins, mods),
            "vote" => CompileVote(ins, mods),
            _ => throw Fail(ins, $"unsupported instruction '{ins.Opcode}'"),
        };
        if (ins.Guard != null)
        {
            var g = Lookup(ins.Guard);
            if (g == null || g.Kind != SymKind.Reg || g.Type != PtxType.Pred)
                throw new PtxException(ins.GuardLine, ins.GuardCol, ins.Opcode, $"guard '{ins.Guard}' is not a declared .pred register");
            if (ix.Op is Op.Shfl or Op.Vote)
            {
                ix.Flags |= IFlags.SyncGuard | (ins.GuardNegated ? IFlags.SyncGuardNeg : 0);
                ix.Imm = g.Slot;
            }
            else
            {
                ix.Guard = g.Slot;
                if (ins.GuardNegated) ix.Flags |= IFlags.GuardNeg;
            }
        }
        Emit(ix, ins.Line, ins.Text);
    }

    // ---------------------------------------------------------------- moves

    private Instr CompileMov(InstructionSyntax ins, Mods mods)
    {
        var ty = mods.Type();
        mods.Done();
        Count(ins, 2);
        var d = ins.Operands[0];
        var a = ins.Operands[1];
        int size = PtxTypes.Size(ty);
        if (d.Kind == OperandKind.Vector || a.Kind == OperandKind.Vector)
        {
            bool pack = a.Kind == OperandKind.Vector;
            var vecOp = pack ? a : d;
            if (ty is not (PtxType.B64 or PtxType.B32 or PtxType.U64 or PtxType.U32 or PtxType.S64 or PtxType.S32 or PtxType.F64 or PtxType.F32))
                throw Fail(ins, "vector mov needs a 32- or 64-bit type");
            int n = vecOp.Elements.Length;
            if (n is not (2 or 4) || size % n != 0 || size / n < 2)
                throw Fail(vecOp, ins, $"cannot split {PtxTypes.Name(ty)} into {n} parts");
            var elemTy = (size / n) switch { 2 => PtxType.B16, 4 => PtxType.B32, _ => PtxType.B64 };
            var ix = New(pack ? Op.MovPack : Op.MovUnpack);
            ix.Size = (byte)(size / n);
            ix.B = _vec.Count;
            ix.C = n;
            foreach (var e in vecOp.Elements)
                _vec.Add(pack ? Src(e, elemTy, ins) : Dst(e, elemTy, ins));
            if (pack) ix.D = Dst(d, ty, ins);
            else ix.A = Src(a, ty, ins);
            return ix;
        }
        int dst = Dst(d, ty, ins);
        if (a.Kind == OperandKind.Name && !a.Negated)
        {
            var s = Resolve(a, ins);
            switch (s.Kind)
            {
                case SymKind.Special:
                {
                    if (ty is PtxType.Pred || PtxTypes.IsFloat(ty) || size is not (2 or 4))
                        throw Fail(a, ins, $"special register '{a.Name}' is a .u32 and cannot be moved as {PtxTypes.Name(ty)}");
                    var m = New(size == 4 ? Op.Mov : Op.MovMask);
                    m.D = dst;
                    m.A = s.Slot;
                    m.Imm = (long)Mask(size);
                    return m;
                }
                case SymKind.Global:
                case SymKind.Shared:
                case SymKind.Local:
                case SymKind.KParam:
                case SymKind.SParam:
                {
                    if (size < 4 || PtxTypes.IsFloat(ty) || ty == PtxType.Pred)
                        throw Fail(a, ins, $"the address of '{a.Name}' needs a .u64 (or .u32) destination");
                    if (size == 4 && s.Kind is SymKind.Global)
                        throw Fail(a, ins, $"the address of global variable '{a.Name}' needs 64 bits");
                    var m = New(Op.Mov);
                    m.D = dst;
                    m.A = SymbolAddress(s, generic: false, a, ins);
                    return m;
                }
                case SymKind.Func:
                    throw Fail(a, ins, "function addresses are not supported");
            }
        }
        var mv = New(Op.Mov);
        mv.D = dst;
        mv.A = Src(a, ty, ins);
        return mv;
    }

    private Instr CompileSelp(InstructionSyntax ins, Mods mods)
    {
        var ty = mods.Type();
        mods.Done();
        if (ty == PtxType.Pred || PtxTypes.Size(ty) < 2) throw Fail(ins, $"selp does not take {PtxTypes.Name(ty)}");
        Count(ins, 4);
        var ix = New(Op.Selp);
        ix.D = Dst(ins.Operands[0], ty, ins);
        ix.A = Src(ins.Operands[1], ty, ins);
        ix.B = Src(ins.Operands[2], ty, ins);
        ix.C = Pred(ins.Operands[3], ins, out bool neg, allowNeg: false);
        if (neg) throw Fail(ins.Operands[3], ins, "selp does not take a negated predicate");
        return ix;
    }

    // ---------------------------------------------------------------- arithmetic

    private Instr CompileArith(InstructionSyntax ins, Mods mods)
    {
        string mn = ins.Mnemonic;
        bool sat = mods.Take(".sat"), ftz = mods.Take(".ftz");
        string? part = mn is "mul" or "mad" ? mods.TakeOne(".lo", ".hi", ".wide") : null;
        string? precision = mn == "div" ? mods.TakeOne(".approx", ".full") : null;
        bool nan = mn is "min" or "max" && mods.Take(".NaN");
        var rnd = mods.Rounding();
        var ty = mods.Type();
        mods.Done();
        int nsrc = mn switch { "abs" or "neg" => 1, "mad" or "fma" => 3, _ => 2 };
        Count(ins, 1 + nsrc);

        if (PtxTypes.IsFloat(ty))
        {
            if (part != null) throw Fail(ins, $"'{part}' applies to integer {mn} only");
            return CompileFloatArith(ins, mn, ty, rnd, ftz, sat, precision, nan);
        }
        if (mn == "fma") throw Fail(ins, "fma takes .f32 or .f64");
        if (ftz || nan || precision != null || rnd != Rnd.None)
            throw Fail(ins, $"floating-point modifiers do not apply to {PtxTypes.Name(ty)}");
        if (ty == PtxType.Pred || PtxTypes.Size(ty) < 2)
            throw Fail(ins, $"{mn} does not take {PtxTypes.Name(ty)}");
        if (PtxTypes.IsBits(ty)) throw Fail(ins, $"{mn} takes .u or .s types, not {PtxTypes.Name(ty)}");
        bool signed = PtxTypes.IsSigned(ty);
        if (mn is "abs" or "neg" && !signed) throw Fail(ins, $"{mn} takes a signed integer type");
        if (sat && !(mn is "add" or "sub" && ty == PtxType.S32)) throw Fail(ins, $"'.sat' applies to {mn}.s32 only (add and sub)");
        if (mn is "mul" or "mad" && part == null) throw Fail(ins, $"integer {mn} needs .lo, .hi or .wide");
        bool wide = part == ".wide";
        int size = PtxTypes.Size(ty);
        if (wide && size == 8) throw Fail(ins, ".wide takes a 16- or 32-bit type");
        var wideTy = size == 2 ? (signed ? PtxType.S32 : PtxType.U32) : (signed ? PtxType.S64 : PtxType.U64);
        var dTy = wide ? wideTy : ty;

        var ix = New(Op.Nop);
        ix.D = Dst(ins.Operands[0], dTy, ins);
        ix.A = Src(ins.Operands[1], ty, ins);
        if (nsrc >= 2) ix.B = Src(ins.Operands[2], ty, ins);
        if (nsrc == 3) ix.C = Src(ins.Operands[3], wide ? wideTy : ty, ins);
        IntOp iop = mn switch
        {
            "add" => sat ? IntOp.AddSat : IntOp.Add,
            "sub" => sat ? IntOp.SubSat : IntOp.Sub,
            "mul" => part == ".lo" ? IntOp.MulLo : part == ".hi" ? IntOp.MulHi : IntOp.MulWide,
            "mad" => part == ".lo" ? IntOp.MadLo : part == ".hi" ? IntOp.MadHi : IntOp.MadWide,
            "div" => IntOp.Div,
            "rem" => IntOp.Rem,
            "min" => IntOp.Min,
            "max" => IntOp.Max,
            "abs" => IntOp.Abs,
            _ => IntOp.Neg,
        };
        if (size == 2)
        {
            ix.Op = Op.Int16;
            ix.Mode = (byte)iop;
            if (signed) ix.Flags |= IFlags.Signed;
            return ix;
        }
        bool s = signed;
        ix.Op = size == 4
            ? iop switch
            {
                IntOp.Add => Op.Add32, IntOp.Sub => Op.Sub32, IntOp.AddSat => Op.AddSatS32, IntOp.SubSat => Op.SubSatS32,
                IntOp.MulLo => Op.MulLo32, IntOp.MulHi => s ? Op.MulHiS32 : Op.MulHiU32, IntOp.MulWide => s ? Op.MulWideS32 : Op.MulWideU32,
                IntOp.MadLo => Op.MadLo32, IntOp.MadHi => s ? Op.MadHiS32 : Op.MadHiU32, IntOp.MadWide => s ? Op.MadWideS32 : Op.MadWideU32,
                IntOp.Div => s ? Op.DivS32 : Op.DivU32, IntOp.Rem => s ? Op.RemS32 : Op.RemU32,
                IntOp.Min => s ? Op.MinS32 : Op.MinU32, IntOp.Max => s ? Op.MaxS32 : Op.MaxU32,
                IntOp.Abs => Op.AbsS32, _ => Op.Neg32,
            }
            : iop switch
            {
                IntOp.Add => Op.Add64, IntOp.Sub => Op.Sub64,
                IntOp.MulLo => Op.MulLo64, IntOp.MulHi => s ? Op.MulHiS64 : Op.MulHiU64,
                IntOp.MadLo => Op.MadLo64, IntOp.MadHi => s ? Op.MadHiS64 : Op.MadHiU64,
                IntOp.Div => s ? Op.DivS64 : Op.DivU64, IntOp.Rem => s ? Op.RemS64 : Op.RemU64,
                IntOp.Min => s ? Op.MinS64 : Op.MinU64, IntOp.Max => s ? Op.MaxS64 : Op.MaxU64,
                IntOp.Abs => Op.AbsS64, _ => Op.Neg64,
            };
        return ix;
    }

    private Instr CompileFloatArith(InstructionSyntax ins, string mn, PtxType ty, Rnd rnd, bool ftz, bool sat, string? precision, bool nan)
    {
        bool f32 = ty == PtxType.F32;
        if (mn == "rem") throw Fail(ins, "rem takes an integer type");
        if ((ftz || sat) && !f32) throw Fail(ins, "'.ftz' and '.sat' apply to .f32 only");
        if (rnd is Rnd.Rni or Rnd.Rzi or Rnd.Rmi or Rnd.Rpi) throw Fail(ins, $"{mn} does not take an integer rounding modifier");
        switch (mn)
        {
            case "mad":
            case "fma":
                if (rnd == Rnd.None) throw Fail(ins, $"{mn}.{(f32 ? "f32" : "f64")} needs a rounding modifier (.rn, .rz, .rm or .rp)");
                break;
            case "div":
                if (f32 && (precision == null) == (rnd == Rnd.None))
                    throw Fail(ins, "div.f32 needs exactly one of .approx, .full or a rounding modifier");
                if (!f32 && (precision != null || rnd == Rnd.None)) throw Fail(ins, "div.f64 needs a rounding modifier");
                break;
            case "min":
            case "max":
            case "abs":
            case "neg":
                if (rnd != Rnd.None) throw Fail(ins, $"{mn} does not take a rounding modifier");
                if (sat) throw Fail(ins, $"{mn} does not take .sat");
                if (nan && !f32) throw Fail(ins, ".NaN applies to .f32 here");
                break;
        }
        var fop = mn switch
        {
            "add" => FloatOp.Add, "sub" => FloatOp.Sub, "mul" => FloatOp.Mul, "mad" or "fma" => FloatOp.Fma, "div" => FloatOp.Div,
            "min" => nan ? FloatOp.MinNaN : FloatOp.Min, "max" => nan ? FloatOp.MaxNaN : FloatOp.Max,
            "abs" => FloatOp.Abs, _ => FloatOp.Neg,
        };
        var ix = New(Op.Nop);
        ix.D = Dst(ins.Operands[0], ty, ins);
        ix.A = Src(ins.Operands[1], ty, ins);
        if (ins.Operands.Count > 2) ix.B = Src(ins.Operands[2], ty, ins);
        if (ins.Operands.Count > 3) ix.C = Src(ins.Operands[3], ty, ins);
        SetFloatOp(ref ix, fop, f32, rnd, ftz, sat);
        return ix;
    }

    private static void SetFloatOp(ref Instr ix, FloatOp fop, bool f32, Rnd rnd, bool ftz, bool sat)
    {
        bool fast = !ftz && !sat && rnd is Rnd.None or Rnd.Rn && fop is not (FloatOp.MinNaN or FloatOp.MaxNaN);
        if (fast)
        {
            ix.Op = f32
                ? fop switch
                {
                    FloatOp.Add => Op.AddF32, FloatOp.Sub => Op.SubF32, FloatOp.Mul => Op.MulF32, FloatOp.Fma => Op.FmaF32,
                    FloatOp.Div => Op.DivF32, FloatOp.Min => Op.MinF32, FloatOp.Max => Op.MaxF32, FloatOp.Abs => Op.AbsF32,
                    FloatOp.Neg => Op.NegF32, FloatOp.Rcp => Op.RcpF32, FloatOp.Sqrt => Op.SqrtF32, FloatOp.Rsqrt => Op.RsqrtF32,
                    FloatOp.Ex2 => Op.Ex2F32, FloatOp.Lg2 => Op.Lg2F32, FloatOp.Sin => Op.SinF32, _ => Op.CosF32,
                }
                : fop switch
                {
                    FloatOp.Add => Op.AddF64, FloatOp.Sub => Op.SubF64, FloatOp.Mul => Op.MulF64, FloatOp.Fma => Op.FmaF64,
                    FloatOp.Div => Op.DivF64, FloatOp.Min => Op.MinF64, FloatOp.Max => Op.MaxF64, FloatOp.Abs => Op.AbsF64,
                    FloatOp.Neg => Op.NegF64, FloatOp.Rcp => Op.RcpF64, FloatOp.Sqrt => Op.SqrtF64, _ => Op.RsqrtF64,
                };
            return;
        }
        ix.Op = Op.FloatSlow;
        ix.Mode = (byte)fop;
        ix.Size = (byte)(f32 ? 4 : 8);
        ix.Size2 = (byte)(rnd == Rnd.None ? Rnd.Rn : rnd);
        if (ftz) ix.Flags |= IFlags.Ftz;
        if (sat) ix.Flags |= IFlags.Sat;
    }

    private Instr CompileFloatUnary(InstructionSyntax ins, Mods mods)
    {
        string mn = ins.Mnemonic;
        bool approx = mods.Take(".approx");
        bool ftz = mods.Take(".ftz");
        var rnd = mods.Rounding();
        var ty = mods.Type();
        mods.Done();
        Count(ins, 2);
        if (!PtxTypes.IsFloat(ty)) throw Fail(ins, $"{mn} takes .f32 or .f64");
        bool f32 = ty == PtxType.F32;
        if (rnd is Rnd.Rni or Rnd.Rzi or Rnd.Rmi or Rnd.Rpi) throw Fail(ins, $"{mn} does not take an integer rounding modifier");
        switch (mn)
        {
            case "rcp":
            case "sqrt":
                if (approx == (rnd != Rnd.None)) throw Fail(ins, $"{mn} needs exactly one of .approx or a rounding modifier (.rn, .rz, .rm, .rp)");
                if (!f32 && approx && !(mn == "rcp" && ftz)) throw Fail(ins, $"{mn}.approx.f64 is not a PTX instruction (rcp.approx.ftz.f64 is)");
                if (!f32 && ftz && !approx) throw Fail(ins, "'.ftz' applies to .f32 only");
                break;
            case "rsqrt":
                if (!approx || rnd != Rnd.None) throw Fail(ins, "rsqrt needs .approx");
                break;
            default:
                if (!approx || rnd != Rnd.None) throw Fail(ins, $"{mn} needs .approx");
                if (!f32) throw Fail(ins, $"{mn} takes .f32 only");
                break;
        }
        var fop = mn switch
        {
            "rcp" => FloatOp.Rcp, "sqrt" => FloatOp.Sqrt, "rsqrt" => FloatOp.Rsqrt, "ex2" => FloatOp.Ex2,
            "lg2" => FloatOp.Lg2, "sin" => FloatOp.Sin, _ => FloatOp.Cos,
        };
        var ix = New(Op.Nop);
        ix.D = Dst(ins.Operands[0], ty, ins);
        ix.A = Src(ins.Operands[1], ty, ins);
        SetFloatOp(ref ix, fop, f32, rnd, ftz && f32, sat: false);
        return ix;
    }

    // ---------------------------------------------------------------- logic and shifts

    private Instr CompileLogic(InstructionSyntax ins, Mods mods)
    {
        var ty = mods.Type();
        mods.Done();
        if (!(ty == PtxType.Pred || (PtxTypes.IsBits(ty) && PtxTypes.Size(ty) >= 2)))
            throw Fail(ins, $"{ins.Mnemonic} takes .pred, .b16, .b32 or .b64, not {PtxTypes.Name(ty)}");
        bool not = ins.Mnemonic == "not";
        Count(ins, not ? 2 : 3);
        var ix = New(ins.Mnemonic switch { "and" => Op.And, "or" => Op.Or, "xor" => Op.Xor, _ => Op.Not });
        ix.D = Dst(ins.Operands[0], ty, ins);
        ix.A = Src(ins.Operands[1], ty, ins);
        if (!not) ix.B = Src(ins.Operands[2], ty, ins);
        else ix.Imm = ty == PtxType.Pred ? 1 : (long)Mask(PtxTypes.Size(ty));
        return ix;
    }

    private Instr CompileShift(InstructionSyntax ins, Mods mods)
    {
        var ty = mods.Type();
        mods.Done();
        Count(ins, 3);
        bool shl = ins.Mnemonic == "shl";
        int size = PtxTypes.Size(ty);
        if (ty == PtxType.Pred || PtxTypes.IsFloat(ty) || size < 2 || (shl && !PtxTypes.IsBits(ty)))
            throw Fail(ins, $"{ins.Mnemonic} does not take {PtxTypes.Name(ty)}");
        bool signed = PtxTypes.IsSigned(ty);
        var ix = New(Op.Nop);
        ix.D = Dst(ins.Operands[0], ty, ins);
        ix.A = Src(ins.Operands[1], ty, ins);
        ix.B = Src(ins.Operands[2], PtxType.U32, ins);
        if (size == 2)
        {
            ix.Op = Op.Int16;
            ix.Mode = (byte)(shl ? IntOp.Shl : IntOp.Shr);
            if (signed) ix.Flags |= IFlags.Signed;
        }
        else if (size == 4) ix.Op = shl ? Op.Shl32 : signed ? Op.ShrS32 : Op.ShrU32;
        else ix.Op = shl ? Op.Shl64 : signed ? Op.ShrS64 : Op.ShrU64;
        return ix;
    }

    // ---------------------------------------------------------------- comparisons

    private Instr CompileSetp(InstructionSyntax ins, Mods mods)
    {
        string? c = mods.TakeOne(".eq", ".ne", ".lt", ".le", ".gt", ".ge", ".lo", ".ls", ".hi", ".hs",
            ".equ", ".neu", ".ltu", ".leu", ".gtu", ".geu", ".num", ".nan");
        if (c == null) throw Fail(ins, "setp needs a comparison (.eq, .lt, ...)");
        string? b = mods.TakeOne(".and", ".or", ".xor");
        bool ftz = mods.Take(".ftz");
        var ty = mods.Type();
        mods.Done();
        var cmp = Enum.Parse<Cmp>(c[1..], ignoreCase: true);
        bool isFloat = PtxTypes.IsFloat(ty);
        if (ty == PtxType.Pred || PtxTypes.Size(ty) < 2) throw Fail(ins, $"setp does not take {PtxTypes.Name(ty)}");
        if (ftz && ty != PtxType.F32) throw Fail(ins, "'.ftz' applies to .f32 only");
        if (isFloat && cmp is Cmp.Lo or Cmp.Ls or Cmp.Hi or Cmp.Hs) throw Fail(ins, $"'{c}' is an unsigned integer comparison");
        if (!isFloat && cmp >= Cmp.Equ) throw Fail(ins, $"'{c}' is a floating-point comparison");
        if (PtxTypes.IsBits(ty) && cmp is not (Cmp.Eq or Cmp.Ne))
            throw Fail(ins, $"'{c}' is not defined for bit-size type {PtxTypes.Name(ty)}; use a .u or .s type");
        if (PtxTypes.IsUnsigned(ty))
            cmp = cmp switch { Cmp.Lt => Cmp.Lo, Cmp.Le => Cmp.Ls, Cmp.Gt => Cmp.Hi, Cmp.Ge => Cmp.Hs, _ => cmp };
        if (PtxTypes.IsSigned(ty) && cmp is Cmp.Lo or Cmp.Ls or Cmp.Hi or Cmp.Hs)
            throw Fail(ins, $"'{c}' is an unsigned comparison; {PtxTypes.Name(ty)} is signed");
        Count(ins, b == null ? 3 : 4);
        var ix = New(ty switch
        {
            PtxType.F32 => Op.SetpF32,
            PtxType.F64 => Op.SetpF64,
            _ => PtxTypes.Size(ty) switch { 2 => Op.SetpI16, 4 => Op.SetpI32, _ => Op.SetpI64 },
        });
        ix.Mode = (byte)cmp;
        if (PtxTypes.IsSigned(ty)) ix.Flags |= IFlags.Signed;
        if (ftz) ix.Flags |= IFlags.Ftz;
        var d = ins.Operands[0];
        if (d.Kind == OperandKind.Pair)
        {
            ix.D = Dst(d.Elements[0], PtxType.Pred, ins);
            ix.E = Dst(d.Elements[1], PtxType.Pred, ins);
        }
        else ix.D = Dst(d, PtxType.Pred, ins);
        ix.A = Src(ins.Operands[1], ty, ins);
        ix.B = Src(ins.Operands[2], ty, ins);
        if (b != null)
        {
            ix.Bool = b switch { ".and" => BoolOp.And, ".or" => BoolOp.Or, _ => BoolOp.Xor };
            ix.C = Pred(ins.Operands[3], ins, out bool neg, allowNeg: true);
            if (neg) ix.Flags |= IFlags.NegC;
        }
        return ix;
    }

    // ---------------------------------------------------------------- conversions

    private Instr CompileCvt(InstructionSyntax ins, Mods mods)
    {
        var rnd = mods.Rounding();
        bool ftz = mods.Take(".ftz"), sat = mods.Take(".sat");
        var dt = mods.Type();
        var st = mods.TryType() ?? throw Fail(ins, "cvt needs a destination and a source type, e.g. cvt.rn.f32.s32");
        mods.Done();
        Count(ins, 2);
        if (dt == PtxType.Pred || st == PtxType.Pred) throw Fail(ins, "cvt does not convert predicates; use selp or setp");
        bool df = PtxTypes.IsFloat(dt), sf = PtxTypes.IsFloat(st);
        bool intRnd = rnd is Rnd.Rni or Rnd.Rzi or Rnd.Rmi or Rnd.Rpi, fltRnd = rnd is Rnd.Rn or Rnd.Rz or Rnd.Rm or Rnd.Rp;
        if (df && !sf && !fltRnd) throw Fail(ins, "integer-to-float cvt needs a rounding modifier (.rn, .rz, .rm or .rp)");
        if (!df && sf && !intRnd) throw Fail(ins, "float-to-integer cvt needs an integer rounding modifier (.rni, .rzi, .rmi or .rpi)");
        if (!df && !sf && rnd != Rnd.None) throw Fail(ins, "integer-to-integer cvt takes no rounding modifier");
        if (df && sf)
        {
            if (dt == st && fltRnd) throw Fail(ins, "a same-size float cvt takes only an integer rounding modifier (.rni, ...)");
            if (dt != st && intRnd) throw Fail(ins, "an integer rounding modifier needs the same source and destination type");
            if (dt == PtxType.F64 && st == PtxType.F32 && rnd != Rnd.None) throw Fail(ins, "cvt.f64.f32 is exact and takes no rounding modifier");
            if (dt == PtxType.F32 && st == PtxType.F64 && !fltRnd) throw Fail(ins, "cvt.f32.f64 needs a rounding modifier (.rn, .rz, .rm or .rp)");
        }
        if (ftz && dt != PtxType.F32 && st != PtxType.F32) throw Fail(ins, "'.ftz' applies when a .f32 is involved");
        var ix = New(Op.Cvt);
        ix.D = Dst(ins.Operands[0], dt, ins, wider: true);
        ix.A = Src(ins.Operands[1], st, ins, wider: true, allowSpecial: true);
        int dsz = PtxTypes.Size(dt), ssz = PtxTypes.Size(st);
        if (!df && !sf && !sat && rnd == Rnd.None)
        {
            if (dsz == 8 && ssz == 4) { ix.Op = PtxTypes.IsSigned(st) ? Op.CvtS64S32 : Op.CvtU64U32; return ix; }
            if (dsz == 4 && ssz == 8 && RegSize(ins.Operands[0], ins) == 4) { ix.Op = Op.CvtTrunc32; return ix; }
        }
        ix.Size = (byte)dt;
        ix.Size2 = (byte)st;
        ix.Mode = (byte)(rnd == Rnd.None ? Rnd.Rn : rnd);
        ix.E = RegSize(ins.Operands[0], ins);
        if (sat) ix.Flags |= IFlags.Sat;
        if (ftz) ix.Flags |= IFlags.Ftz;
        return ix;
    }

    private Instr CompileCvta(InstructionSyntax ins, Mods mods)
    {
        bool to = mods.Take(".to");
        string? sp = mods.TakeOne(".global", ".shared", ".shared::cta", ".local", ".const", ".param");
        var ty = mods.Type();
        mods.Done();
        Count(ins, 2);
        if (sp == null) throw Fail(ins, "cvta needs a state space (.global, .shared, .local or .const)");
        if (sp == ".param") throw Fail(ins, "cvta.param is not supported");
        if (ty is not (PtxType.U64 or PtxType.U32)) throw Fail(ins, "cvta takes .u32 or .u64");
        var space = sp switch { ".global" => CvtaSpace.Global, ".local" => CvtaSpace.Local, ".const" => CvtaSpace.Const, _ => CvtaSpace.Shared };
        if (!to && ty == PtxType.U32) throw Fail(ins, "a generic address needs 64 bits (cvta...u64) with .address_size 64");
        if (to && ty == PtxType.U32 && space is CvtaSpace.Global or CvtaSpace.Const) throw Fail(ins, "a global address needs 64 bits");
        var ix = New(to ? Op.CvtaFromGeneric : Op.CvtaToGeneric);
        ix.Mode = (byte)space;
        ix.D = Dst(ins.Operands[0], ty, ins);
        ix.Imm = (long)Mask(PtxTypes.Size(ty));
        var a = ins.Operands[1];
        if (a.Kind == OperandKind.Name && Resolve(a, ins) is { Kind: SymKind.Global or SymKind.Shared or SymKind.Local } s)
        {
            bool match = s.Kind switch
            {
                SymKind.Global => space is CvtaSpace.Global or CvtaSpace.Const && _globals[s.Var].Space == (space == CvtaSpace.Const ? StateSpace.Const : StateSpace.Global),
                SymKind.Shared => space == CvtaSpace.Shared,
                _ => space == CvtaSpace.Local,
            };
            if (!match) throw Fail(a, ins, $"'{a.Name}' is not in the {sp} state space");
            if (to) throw Fail(a, ins, "cvta.to takes a generic address in a register");
            ix.Op = Op.Mov;
            ix.A = SymbolAddress(s, generic: true, a, ins);
            return ix;
        }
        ix.A = Src(a, to ? PtxType.U64 : ty, ins);
        return ix;
    }
}
