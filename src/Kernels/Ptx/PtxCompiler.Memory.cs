namespace Engine.Kernels.Ptx;

internal sealed partial class PtxCompiler
{
    private enum Space : byte { Generic, ParamK, ParamS, Global, Shared, Local }

    private static void TakeMemoryOrdering(Mods mods, InstructionSyntax ins)
    {
        mods.Take(".weak");
        mods.Take(".volatile");
        mods.TakeOne(".relaxed", ".acquire", ".release", ".acq_rel");
        if (mods.TakeOne(".cta", ".gpu", ".sys", ".cluster") == ".cluster") throw Fail(ins, "the .cluster scope is not supported");
    }

    /// <summary>Reads an address operand: returns the base slot (a register, or a constant holding a variable's address) and the offset.</summary>
    private (int Slot, long Offset, Space Space) Address(Operand o, InstructionSyntax ins, string? space)
    {
        if (o.Kind != OperandKind.Address) throw Fail(o, ins, "expected an address such as [%rd1+4]");
        Space sp = space switch
        {
            null => Space.Generic,
            ".param" => _isEntry ? Space.ParamK : Space.ParamS,
            ".global" or ".const" => Space.Global,
            ".shared" or ".shared::cta" => Space.Shared,
            ".local" => Space.Local,
            _ => throw Fail(ins, $"state space '{space}' is not supported"),
        };
        if (o.Base == null) return (ConstValue(0), o.IntValue, sp);
        var s = Resolve(o.Base, ins);
        switch (s.Kind)
        {
            case SymKind.Reg:
                if (s.Type == PtxType.Pred || PtxTypes.IsFloat(s.Type) || PtxTypes.Size(s.Type) < 4)
                    throw Fail(o.Base, ins, $"register '{s.Name}' cannot hold an address");
                if (PtxTypes.Size(s.Type) == 4 && sp is Space.Generic or Space.Global)
                    throw Fail(o.Base, ins, $"a {(sp == Space.Global ? "global" : "generic")} address needs a 64-bit register");
                return (s.Slot, o.IntValue, sp);
            case SymKind.KParam:
                if (sp != Space.ParamK) throw Fail(o.Base, ins, $"'{s.Name}' is a kernel parameter; access it with ld.param");
                return (SymbolAddress(s, false, o.Base, ins), o.IntValue, sp);
            case SymKind.SParam:
                if (sp is not (Space.ParamK or Space.ParamS)) throw Fail(o.Base, ins, $"'{s.Name}' is a .param variable; access it with ld.param/st.param");
                return (SymbolAddress(s, false, o.Base, ins), o.IntValue, Space.ParamS);
            case SymKind.Global:
            {
                var want = _globals[s.Var].Space == StateSpace.Const ? ".const" : ".global";
                if (sp == Space.Generic) return (SymbolAddress(s, true, o.Base, ins), o.IntValue, sp);
                if (sp != Space.Global || space != want) throw Fail(o.Base, ins, $"'{s.Name}' is in {want}, not {space}");
                return (SymbolAddress(s, false, o.Base, ins), o.IntValue, sp);
            }
            case SymKind.Shared:
                if (sp == Space.Generic) return (SymbolAddress(s, true, o.Base, ins), o.IntValue, sp);
                if (sp != Space.Shared) throw Fail(o.Base, ins, $"'{s.Name}' is in .shared, not {space}");
                return (SymbolAddress(s, false, o.Base, ins), o.IntValue, sp);
            case SymKind.Local:
                if (sp == Space.Generic) return (SymbolAddress(s, true, o.Base, ins), o.IntValue, sp);
                if (sp != Space.Local) throw Fail(o.Base, ins, $"'{s.Name}' is in .local, not {space}");
                return (SymbolAddress(s, false, o.Base, ins), o.IntValue, sp);
            default:
                throw Fail(o.Base, ins, $"'{s.Name}' cannot be used as an address");
        }
    }

    private Instr CompileLdSt(InstructionSyntax ins, Mods mods, bool load)
    {
        TakeMemoryOrdering(mods, ins);
        mods.TakeOne(load ? [".ca", ".cg", ".cs", ".lu", ".cv"] : [".wb", ".cg", ".cs", ".wt"]);
        bool nc = load && mods.Take(".nc");
        string? space = mods.TakeOne(".param", ".global", ".const", ".shared", ".shared::cta", ".local");
        if (nc && space != ".global") throw Fail(ins, ".nc applies to ld.global only");
        string? v = mods.TakeOne(".v2", ".v4");
        var ty = mods.Type();
        mods.Done();
        Count(ins, 2);
        if (!load && space == ".const") throw Fail(ins, "constant memory is read-only");
        if (ty == PtxType.Pred) throw Fail(ins, $"{ins.Mnemonic} does not take .pred");
        int n = v == ".v2" ? 2 : v == ".v4" ? 4 : 1;
        int size = PtxTypes.Size(ty);
        if (n * size > 16) throw Fail(ins, $"a {v}{PtxTypes.Name(ty)} access is wider than 16 bytes");
        var addrOp = load ? ins.Operands[1] : ins.Operands[0];
        var valOp = load ? ins.Operands[0] : ins.Operands[1];
        var (slot, off, sp) = Address(addrOp, ins, space);
        if (!load && sp == Space.ParamK) throw Fail(ins, "kernel parameters are read-only");
        var ix = New(Op.Nop);
        ix.A = slot;
        ix.Imm = off;
        ix.Size = (byte)size;
        if (PtxTypes.IsSigned(ty)) ix.Flags |= IFlags.Signed;
        if (n == 1)
        {
            if (valOp.Kind == OperandKind.Vector) throw Fail(valOp, ins, "a vector operand needs .v2 or .v4");
            if (load)
            {
                ix.D = Dst(valOp, ty, ins, wider: true);
                ix.Size2 = (byte)RegSize(valOp, ins);
            }
            else ix.B = Src(valOp, ty, ins, wider: true);
            ix.Op = (load, sp) switch
            {
                (true, Space.ParamK) => Op.LdParamK, (true, Space.ParamS) => Op.LdParamS, (true, Space.Local) => Op.LdLocal,
                (true, Space.Shared) => Op.LdShared, (true, Space.Global) => Op.LdGlobal, (true, _) => Op.LdGeneric,
                (false, Space.ParamS) => Op.StParamS, (false, Space.Local) => Op.StLocal, (false, Space.Shared) => Op.StShared,
                (false, Space.Global) => Op.StGlobal, _ => Op.StGeneric,
            };
            return ix;
        }
        if (valOp.Kind != OperandKind.Vector || valOp.Elements.Length != n)
            throw Fail(valOp, ins, $"{v} needs a vector of {n} registers such as {{%f1, %f2{(n == 4 ? ", %f3, %f4" : "")}}}");
        ix.B = _vec.Count;
        ix.C = n;
        int regSize = 0;
        foreach (var e in valOp.Elements)
        {
            if (e.Kind == OperandKind.Sink)
            {
                if (!load) throw Fail(e, ins, "'_' is allowed only in a load's destination vector");
                _vec.Add(-1);
                continue;
            }
            if (load)
            {
                _vec.Add(Dst(e, ty, ins, wider: true));
                regSize = Math.Max(regSize, RegSize(e, ins));
            }
            else _vec.Add(Src(e, ty, ins, wider: true));
        }
        ix.Size2 = (byte)Math.Max(regSize, size);
        ix.Op = (load, sp) switch
        {
            (true, Space.ParamK) => Op.LdVParamK, (true, Space.ParamS) => Op.LdVParamS, (true, Space.Local) => Op.LdVLocal,
            (true, Space.Shared) => Op.LdVShared, (true, Space.Global) => Op.LdVGlobal, (true, _) => Op.LdVGeneric,
            (false, Space.ParamS) => Op.StVParamS, (false, Space.Local) => Op.StVLocal, (false, Space.Shared) => Op.StVShared,
            (false, Space.Global) => Op.StVGlobal, _ => Op.StVGeneric,
        };
        return ix;
    }

    private Instr CompileAtom(InstructionSyntax ins, Mods mods, bool red)
    {
        TakeMemoryOrdering(mods, ins);
        string? space = mods.TakeOne(".global", ".shared", ".shared::cta");
        string? op = mods.TakeOne(".add", ".min", ".max", ".exch", ".cas", ".and", ".or", ".xor", ".inc", ".dec");
        var ty = mods.Type();
        mods.Done();
        string mn = ins.Mnemonic;
        if (op == null) throw Fail(ins, $"{mn} needs an operation (.add, .min, .max, .exch, .cas, .and, .or, .xor, .inc, .dec)");
        if (red && op is ".exch" or ".cas") throw Fail(ins, $"red does not take {op}; use atom");
        int size = PtxTypes.Size(ty);
        bool ok = op switch
        {
            ".add" => ty is PtxType.U32 or PtxType.S32 or PtxType.U64 or PtxType.F32 or PtxType.F64,
            ".min" or ".max" => ty is PtxType.U32 or PtxType.S32 or PtxType.U64 or PtxType.S64,
            ".exch" or ".cas" or ".and" or ".or" or ".xor" => ty is PtxType.B32 or PtxType.B64,
            _ => ty == PtxType.U32,
        };
        if (!ok) throw Fail(ins, $"{mn}{op} does not take {PtxTypes.Name(ty)}");
        int nops = op == ".cas" ? 2 : 1;
        Count(ins, (red ? 1 : 2) + nops);
        int k = 0;
        var ix = New(Op.Nop);
        if (!red) ix.D = Dst(ins.Operands[k++], ty, ins);
        var (slot, off, sp) = Address(ins.Operands[k++], ins, space);
        ix.A = slot;
        ix.Imm = off;
        ix.B = Src(ins.Operands[k++], ty, ins);
        if (nops == 2) ix.C = Src(ins.Operands[k], ty, ins);
        ix.Mode = (byte)Enum.Parse<AtomOp>(op[1..], ignoreCase: true);
        ix.Size = (byte)size;
        ix.Size2 = (byte)(PtxTypes.IsFloat(ty) ? AtomType.F : PtxTypes.IsSigned(ty) ? AtomType.S : PtxTypes.IsBits(ty) ? AtomType.B : AtomType.U);
        ix.Op = sp switch { Space.Shared => Op.AtomShared, Space.Global => Op.AtomGlobal, _ => Op.AtomGeneric };
        if (ix.Op != Op.AtomShared) _globalAtomics = true;
        return ix;
    }

    // ---------------------------------------------------------------- control

    private Instr CompileBra(InstructionSyntax ins, Mods mods)
    {
        mods.Take(".uni");
        mods.Done();
        Count(ins, 1);
        var t = ins.Operands[0];
        if (t.Kind != OperandKind.Name || t.Negated) throw Fail(t, ins, "bra needs a label");
        if (!_labels.TryGetValue(t.Name, out int pc)) throw Fail(t, ins, $"label '{t.Name}' is not defined in '{_f.Name}'");
        var ix = New(Op.Bra);
        ix.Imm = pc;
        return ix;
    }

    private Instr CompileRetExit(InstructionSyntax ins, Mods mods, Op op)
    {
        if (op == Op.Ret) mods.Take(".uni");
        mods.Done();
        Count(ins, 0);
        return New(op);
    }

    private Instr CompileCall(InstructionSyntax ins, Mods mods)
    {
        mods.Take(".uni");
        mods.Done();
        var ops = ins.Operands;
        int k = 0;
        Operand? rets = null, args = null;
        if (k < ops.Count && ops[k].Kind == OperandKind.Vector && ops[k].Name == "(") rets = ops[k++];
        if (k >= ops.Count || ops[k].Kind != OperandKind.Name) throw Fail(ins, "call needs a function name");
        var fnOp = ops[k++];
        if (k < ops.Count && ops[k].Kind == OperandKind.Vector && ops[k].Name == "(") args = ops[k++];
        if (k != ops.Count) throw Fail(ops[k], ins, "unexpected operand; indirect calls and prototypes are not supported");
        if (!_sym.Funcs.TryGetValue(fnOp.Name, out var decl))
        {
            if (Lookup(fnOp.Name) is { Kind: SymKind.Reg }) throw Fail(fnOp, ins, "indirect calls are not supported");
            throw Fail(fnOp, ins, $"function '{fnOp.Name}' is not declared");
        }
        if (!decl.HasBody) throw Fail(fnOp, ins, $"function '{fnOp.Name}' has no body in this module (external functions are not supported)");
        var callee = _funcs[fnOp.Name];     // every defined function the program calls is in it
        var f = callee.Syntax;
        var retOps = rets?.Elements ?? [];
        var argOps = args?.Elements ?? [];
        if (retOps.Length != f.Returns.Count) throw Fail(fnOp, ins, $"'{f.Name}' returns {f.Returns.Count} value(s) but the call takes {retOps.Length}");
        if (argOps.Length != f.Params.Count) throw Fail(fnOp, ins, $"'{f.Name}' takes {f.Params.Count} parameter(s) but the call passes {argOps.Length}");
        var site = new CallSite { ReturnPc = _code.Count + 1 };
        site.Args = new ArgMove[argOps.Length];
        for (int i = 0; i < argOps.Length; i++)
        {
            var p = f.Params[i];
            int size = (int)p.ByteSize;
            var a = argOps[i];
            if (a.Kind == OperandKind.Name && Resolve(a, ins) is { Kind: SymKind.SParam } ps)
            {
                if (ps.Size < size) throw Fail(a, ins, $"'{a.Name}' has {ps.Size} bytes but parameter '{p.Name}' needs {size}");
                site.Args[i] = new ArgMove(-1, (int)ps.Offset, -1, (int)callee.ParamOffsets[i], size, 0);
            }
            else
            {
                if (p.Dims.Length > 0) throw Fail(a, ins, $"parameter '{p.Name}' is an array; pass a .param variable");
                site.Args[i] = new ArgMove(Src(a, p.Type, ins), 0, -1, (int)callee.ParamOffsets[i], size, 0);
            }
        }
        site.Rets = new ArgMove[retOps.Length];
        for (int i = 0; i < retOps.Length; i++)
        {
            var p = f.Returns[i];
            int size = (int)p.ByteSize;
            var r = retOps[i];
            if (r.Kind != OperandKind.Name) throw Fail(r, ins, "a return value goes to a .param variable or a register");
            var rs = Resolve(r, ins);
            if (rs.Kind == SymKind.SParam)
            {
                if (rs.Size < size) throw Fail(r, ins, $"'{r.Name}' has {rs.Size} bytes but the return value needs {size}");
                site.Rets[i] = new ArgMove(-1, (int)callee.RetOffsets[i], -1, (int)rs.Offset, size, 0);
            }
            else
            {
                int slot = Dst(r, p.Type, ins);
                site.Rets[i] = new ArgMove(-1, (int)callee.RetOffsets[i], slot, 0, size, PtxTypes.Size(rs.Type));
            }
        }
        _calls.Add(site);
        _callFixups.Add((site, callee));
        var ix = New(Op.Call);
        ix.Imm = _calls.Count - 1;
        return ix;
    }

    private Instr CompileBar(InstructionSyntax ins, Mods mods)
    {
        mods.Take(".cta");
        if (mods.TakeOne(".arrive", ".red") is string other) throw Fail(ins, $"{ins.Mnemonic}{other} is not supported");
        if (ins.Mnemonic == "bar" && mods.Take(".warp")) throw Fail(ins, "bar.warp.sync is not supported");
        if (!mods.Take(".sync")) throw Fail(ins, $"{ins.Mnemonic} needs .sync");
        if (ins.Mnemonic == "barrier") mods.Take(".aligned");
        mods.Done();
        if (ins.Operands.Count == 2) throw Fail(ins.Operands[1], ins, "a barrier thread count is not supported; all threads of the block take part");
        Count(ins, 1);
        // The barrier number is checked but not otherwise used: every barrier waits for all threads of the block.
        var a = ins.Operands[0];
        if (a.Kind == OperandKind.Name) Src(a, PtxType.U32, ins);
        else if (a.Kind != OperandKind.Int || a.IntValue is < 0 or > 15) throw Fail(a, ins, "the barrier number must be 0..15");
        return New(Op.Bar);
    }

    private Instr CompileShfl(InstructionSyntax ins, Mods mods)
    {
        if (!mods.Take(".sync")) throw Fail(ins, "shfl without .sync is not supported (deprecated); use shfl.sync");
        string? m = mods.TakeOne(".up", ".down", ".bfly", ".idx");
        var ty = mods.Type();
        mods.Done();
        if (m == null) throw Fail(ins, "shfl.sync needs a mode (.up, .down, .bfly or .idx)");
        if (ty != PtxType.B32) throw Fail(ins, "shfl.sync takes .b32");
        Count(ins, 5);
        var ix = New(Op.Shfl);
        ix.Mode = (byte)(m switch { ".up" => ShflMode.Up, ".down" => ShflMode.Down, ".bfly" => ShflMode.Bfly, _ => ShflMode.Idx });
        var d = ins.Operands[0];
        if (d.Kind == OperandKind.Pair)
        {
            ix.D = Dst(d.Elements[0], PtxType.B32, ins);
            ix.E = Dst(d.Elements[1], PtxType.Pred, ins);
        }
        else ix.D = Dst(d, PtxType.B32, ins);
        ix.A = Src(ins.Operands[1], PtxType.B32, ins);
        ix.B = Src(ins.Operands[2], PtxType.B32, ins);
        ix.C = Src(ins.Operands[3], PtxType.B32, ins);
        ix.F = Src(ins.Operands[4], PtxType.B32, ins);
        return ix;
    }

    private Instr CompileVote(InstructionSyntax ins, Mods mods)
    {
        if (!mods.Take(".sync")) throw Fail(ins, "vote without .sync is not supported (deprecated); use vote.sync");
        string? m = mods.TakeOne(".all", ".any", ".uni", ".ballot");
        var ty = mods.Type();
        mods.Done();
        if (m == null) throw Fail(ins, "vote.sync needs a mode (.all, .any, .uni or .ballot)");
        var mode = m switch { ".all" => VoteMode.All, ".any" => VoteMode.Any, ".uni" => VoteMode.Uni, _ => VoteMode.Ballot };
        if (mode == VoteMode.Ballot ? ty != PtxType.B32 : ty != PtxType.Pred)
            throw Fail(ins, mode == VoteMode.Ballot ? "vote.sync.ballot takes .b32" : $"vote.sync{m} takes .pred");
        Count(ins, 3);
        var ix = New(Op.Vote);
        ix.Mode = (byte)mode;
        ix.D = Dst(ins.Operands[0], ty, ins);
        ix.A = Pred(ins.Operands[1], ins, out bool neg, allowNeg: true);
        if (neg) ix.Flags |= IFlags.NegA;
        ix.F = Src(ins.Operands[2], PtxType.B32, ins);
        return ix;
    }
}
