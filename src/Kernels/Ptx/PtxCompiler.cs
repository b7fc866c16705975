namespace Engine.Kernels.Ptx;

/// <summary>
/// Decodes one .entry (with every .func of its module appended) into a <see cref="PtxProgram"/>: resolves names
/// through the declaration scopes, checks operand types, picks one opcode per operation and width, and lays out
/// shared, local and parameter memory. Everything outside the supported subset raises <see cref="PtxException"/>.
/// </summary>
internal sealed partial class PtxCompiler
{
    /// <summary>Generic-address windows of the shared and local state spaces (global addresses are used as they are).</summary>
    public const ulong SharedWindow = 0x0000_7E00_0000_0000, LocalWindow = 0x0000_7D00_0000_0000, WindowSize = 1UL << 32;

    private const int ConstFlag = 1 << 29;

    private enum SymKind : byte { Reg, Special, KParam, SParam, Shared, Local, Global, Func }

    private sealed record Sym(SymKind Kind, PtxType Type, int Slot, long Offset, int Var, long Size, bool Dynamic, string Name, int Align);

    private sealed class FuncLayout
    {
        public FunctionSyntax Syntax = null!;
        public int EntryPc = -1;
        public long[] ParamOffsets = [];
        public long[] RetOffsets = [];
    }

    private readonly ModuleSymbols _sym;
    private readonly PtxLimits _limits;
    private readonly IReadOnlyList<VarDecl> _globals;
    private readonly Dictionary<string, int> _globalIndex;
    private readonly Dictionary<string, VarDecl> _moduleShared;
    private readonly Dictionary<string, FuncLayout> _funcs = [];    // the defined functions this program contains
    private string _programName = "";

    private readonly List<Instr> _code = [];
    private readonly List<int> _lines = [];
    private readonly List<string> _texts = [];
    private readonly List<(int, PtxType)[]> _writes = [];
    private readonly List<int> _vec = [];
    private readonly List<CallSite> _calls = [];
    private readonly List<(CallSite Site, FuncLayout Callee)> _callFixups = [];
    private readonly List<string> _regNames = [];
    private readonly List<ConstEntry> _consts = [];
    private readonly Dictionary<ConstEntry, int> _constIndex = [];
    private readonly Dictionary<string, long> _moduleSharedOffsets = [];
    private readonly List<SharedSymbol> _sharedSymbols = [];
    private long _staticShared;
    private int _dynAlign = 16;
    private long _localBytes, _scratchBytes;
    private bool _globalAtomics;
    private int _statements;

    // Current function.
    private FunctionSyntax _f = null!;
    private bool _isEntry;
    private readonly List<Dictionary<string, Sym>> _scopes = [];
    private Dictionary<string, int> _labels = [];
    private readonly List<(int, PtxType)> _curWrites = [];

    private PtxCompiler(ModuleSymbols sym)
    {
        _sym = sym;
        _limits = sym.Limits;
        _globals = sym.Globals;
        _globalIndex = sym.GlobalIndex;
        _moduleShared = sym.Shared;
    }

    /// <summary>Decodes the kernel <paramref name="entry"/> with the functions it calls, directly or not.</summary>
    public static PtxProgram Compile(ModuleSymbols sym, FunctionSyntax entry) =>
        new PtxCompiler(sym).Run(entry, sym.CalleesOf(entry));

    /// <summary>
    /// Decodes the defined functions no kernel calls, once, so that their errors are reported as they would be in a
    /// kernel; null when there are none.
    /// </summary>
    public static PtxProgram? CheckUncalledFunctions(ModuleSymbols sym)
    {
        var roots = sym.Unreached();
        return roots.Count == 0 ? null : new PtxCompiler(sym).Run(null, roots);
    }

    private PtxProgram Run(FunctionSyntax? entry, List<string> roots)
    {
        _programName = entry?.Name ?? "(functions no kernel calls)";
        // Lay out the parameters of every function the program contains in the per-thread call scratch.
        foreach (var f in _sym.Closure(roots))
        {
            var lay = new FuncLayout { Syntax = f };
            lay.RetOffsets = f.Returns.Select(AllocScratch).ToArray();
            lay.ParamOffsets = f.Params.Select(AllocScratch).ToArray();
            _funcs[f.Name] = lay;
        }

        var prog = new PtxProgram { Name = _programName };
        if (entry != null)
        {
            (prog.Params, prog.ParamBytes) = LayoutKernelParams(entry);
            CompileFunction(entry, isEntry: true, prog.Params);
        }
        foreach (var lay in _funcs.Values)
        {
            lay.EntryPc = _code.Count;
            CompileFunction(lay.Syntax, isEntry: false, null);
        }
        foreach (var (site, callee) in _callFixups)
            site.Target = callee.EntryPc;

        // Final layout: [special registers][registers][constants].
        int constBase = PtxProgram.SpecialCount + _regNames.Count;
        var code = _code.ToArray();
        for (int i = 0; i < code.Length; i++)
        {
            ref var c = ref code[i];
            c.Guard = Fix(c.Guard, constBase);
            c.D = Fix(c.D, constBase);
            c.A = Fix(c.A, constBase);
            c.B = c.Op is Op.MovPack or Op.MovUnpack || IsVectorMemory(c.Op) ? c.B : Fix(c.B, constBase);
            c.C = c.Op is Op.MovPack or Op.MovUnpack || IsVectorMemory(c.Op) ? c.C : Fix(c.C, constBase);
            c.E = Fix(c.E, constBase);
            c.F = Fix(c.F, constBase);
            if ((c.Flags & IFlags.SyncGuard) != 0) c.Imm = Fix((int)c.Imm, constBase);
        }
        var vec = _vec.ToArray();
        for (int i = 0; i < vec.Length; i++) vec[i] = Fix(vec[i], constBase);
        foreach (var cs in _calls)
        {
            for (int i = 0; i < cs.Args.Length; i++) cs.Args[i] = cs.Args[i] with { FromSlot = Fix(cs.Args[i].FromSlot, constBase) };
            for (int i = 0; i < cs.Rets.Length; i++) cs.Rets[i] = cs.Rets[i] with { ToSlot = Fix(cs.Rets[i].ToSlot, constBase) };
        }
        var writes = _writes.Select(w => w.Select(x => (Fix(x.Item1, constBase), x.Item2)).ToArray()).ToArray();

        long dynOffset = AlignUp(_staticShared, _dynAlign);
        var consts = _consts.Select(c => c.Kind == ConstKind.DynShared ? new ConstEntry(ConstKind.Value, c.Value + (ulong)dynOffset, 0) : c).ToArray();

        var names = new string[constBase + consts.Length];
        string[] sp = ["%tid.x", "%tid.y", "%tid.z", "%ntid.x", "%ntid.y", "%ntid.z", "%ctaid.x", "%ctaid.y", "%ctaid.z",
            "%nctaid.x", "%nctaid.y", "%nctaid.z", "%laneid", "%warpid", "%nwarpid", "%lanemask_eq", "%lanemask_lt", "%lanemask_le", "%lanemask_gt", "%lanemask_ge"];
        sp.CopyTo(names, 0);
        for (int i = 0; i < _regNames.Count; i++) names[PtxProgram.SpecialCount + i] = _regNames[i];
        for (int i = 0; i < consts.Length; i++) names[constBase + i] = "const";

        prog.Code = code;
        prog.Lines = [.. _lines];
        prog.Texts = [.. _texts];
        prog.Writes = writes;
        prog.VecSlots = vec;
        prog.Calls = [.. _calls];
        prog.RegCount = _regNames.Count;
        prog.SpecialBase = 0;
        prog.ConstBase = constBase;
        prog.SlotCount = constBase + consts.Length;
        prog.Consts = consts;
        prog.SlotNames = names;
        prog.StaticSharedBytes = _staticShared;
        prog.DynamicSharedOffset = dynOffset;
        prog.SharedSymbols = _sharedSymbols.Select(s => s.Dynamic ? s with { Offset = dynOffset } : s).ToArray();
        prog.LocalBytes = checked((int)_localBytes);
        prog.LocalStride = checked((int)(AlignUp(_localBytes, 16) + AlignUp(_scratchBytes, 16)));
        prog.UsesGlobalAtomics = _globalAtomics;
        prog.Statements = _statements;
        return prog;
    }

    private static bool IsVectorMemory(Op op) => op is >= Op.LdVParamK and <= Op.StVGeneric;

    private static int Fix(int slot, int constBase) =>
        slot >= 0 && (slot & ConstFlag) != 0 ? constBase + (slot & ~ConstFlag) : slot;

    private static long AlignUp(long x, long a) => (x + a - 1) / a * a;

    /// <summary>Places a call parameter or return value (or a function's .param variable) in the per-thread scratch.</summary>
    private long AllocScratch(VarDecl p)
    {
        _scratchBytes = AlignUp(_scratchBytes, Math.Max(p.Alignment, 1));
        long off = _scratchBytes;
        _scratchBytes += Math.Max(p.ByteSize, 1);
        CheckLocal(p, ".param");
        return off;
    }

    /// <summary>Local memory and call scratch together must fit <see cref="PtxLimits.MaxLocalBytesPerThread"/>.</summary>
    private void CheckLocal(Statement at, string instruction)
    {
        if (_localBytes + _scratchBytes > _limits.MaxLocalBytesPerThread)
            throw Limit(at, instruction, nameof(PtxLimits.MaxLocalBytesPerThread), _limits.MaxLocalBytesPerThread,
                $"'{_programName}' needs {_localBytes} bytes of .local memory and {_scratchBytes} bytes of call parameters per thread");
    }

    private static PtxLimitException Limit(Statement at, string instruction, string limit, long value, string message) =>
        new(at.Line, at.Col, instruction, limit, value, message);

    private static (PtxParameter[], int) LayoutKernelParams(FunctionSyntax f)
    {
        const int maxBytes = 4096;     // CUDA's limit for kernel parameters
        var list = new PtxParameter[f.Params.Count];
        long off = 0;
        for (int i = 0; i < list.Length; i++)
        {
            var p = f.Params[i];
            off = AlignUp(off, p.Alignment);
            if (off + p.ByteSize > maxBytes)
                throw new PtxException(p.Line, p.Col, ".entry", $"kernel parameters of '{f.Name}' take {off + p.ByteSize} bytes or more with '{p.Name}'; the limit is {maxBytes}");
            list[i] = new PtxParameter(p.Name, PtxTypes.Name(p.Type), (int)off, (int)p.ByteSize, p.Alignment, p.Dims.Length > 0);
            off += p.ByteSize;
        }
        return (list, (int)off);
    }

    // ---------------------------------------------------------------- functions and declarations

    private void CompileFunction(FunctionSyntax f, bool isEntry, PtxParameter[]? kernelParams)
    {
        _statements += f.Body.Count + 1;
        _f = f;
        _isEntry = isEntry;
        _scopes.Clear();
        _scopes.Add([]);
        if (isEntry)
        {
            for (int i = 0; i < f.Params.Count; i++)
            {
                var p = f.Params[i];
                Declare(p, new Sym(SymKind.KParam, p.Type, -1, kernelParams![i].Offset, -1, p.ByteSize, false, p.Name, p.Alignment));
            }
        }
        else
        {
            var lay = _funcs[f.Name];
            for (int i = 0; i < f.Returns.Count; i++)
            {
                var p = f.Returns[i];
                Declare(p, new Sym(SymKind.SParam, p.Type, -1, lay.RetOffsets[i], -1, p.ByteSize, false, p.Name, p.Alignment));
            }
            for (int i = 0; i < f.Params.Count; i++)
            {
                var p = f.Params[i];
                Declare(p, new Sym(SymKind.SParam, p.Type, -1, lay.ParamOffsets[i], -1, p.ByteSize, false, p.Name, p.Alignment));
            }
        }

        // Pass 1: labels (each instruction decodes to exactly one Instr).
        _labels = [];
        int pc = _code.Count;
        foreach (var st in f.Body)
        {
            if (st is LabelStatement l)
            {
                if (!_labels.TryAdd(l.Name, pc)) throw new PtxException(l.Line, l.Col, "", $"label '{l.Name}' is defined twice");
            }
            else if (st is InstructionSyntax) pc++;
        }

        // Pass 2: declarations in scope order, then instructions.
        bool lastIsTerminator = false;
        foreach (var st in f.Body)
        {
            switch (st)
            {
                case ScopeStatement s:
                    if (s.Open) _scopes.Add([]);
                    else _scopes.RemoveAt(_scopes.Count - 1);
                    break;
                case VarDecl d:
                    DeclareLocal(d);
                    break;
                case InstructionSyntax ins:
                    CompileInstruction(ins);
                    lastIsTerminator = ins.Guard == null && ins.Mnemonic is "ret" or "exit" or "bra";
                    break;
            }
        }
        // Falling off the end of a function behaves as ret.
        if (!lastIsTerminator || _labels.ContainsValue(_code.Count))
        {
            Emit(new Instr { Op = Op.Ret, Guard = -1, D = -1, A = -1, B = -1, C = -1, E = -1, F = -1 }, f.Line, "ret; // end of " + f.Name);
        }
    }

    private void Declare(Statement at, Sym sym)
    {
        var scope = _scopes[^1];
        if (!scope.TryAdd(sym.Name, sym))
            throw new PtxException(at.Line, at.Col, "", $"'{sym.Name}' is declared twice in the same scope");
    }

    private void DeclareLocal(VarDecl d)
    {
        switch (d.Space)
        {
            case StateSpace.Reg:
                if (d.Type == PtxType.None) throw new PtxException(d.Line, d.Col, ".reg", "register without a type");
                if (_regNames.Count + Math.Max(d.RangeCount, 1) > _limits.MaxRegistersPerKernel)
                    throw Limit(d, ".reg", nameof(PtxLimits.MaxRegistersPerKernel), _limits.MaxRegistersPerKernel,
                        $"'{_programName}' declares more registers (with the functions it calls) at '{d.Name}{(d.RangeCount >= 0 ? $"<{d.RangeCount}>" : "")}'");
                if (d.RangeCount >= 0)
                {
                    for (int i = 0; i < d.RangeCount; i++) DeclareReg(d, d.Name + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                else DeclareReg(d, d.Name);
                break;
            case StateSpace.Param:
                Declare(d, new Sym(SymKind.SParam, d.Type, -1, AllocScratch(d), -1, d.ByteSize, false, d.Name, d.Alignment));
                break;
            case StateSpace.Local:
            {
                _localBytes = AlignUp(_localBytes, d.Alignment);
                long off = _localBytes;
                _localBytes += d.ByteSize;
                CheckLocal(d, ".local");
                Declare(d, new Sym(SymKind.Local, d.Type, -1, off, -1, d.ByteSize, false, d.Name, d.Alignment));
                break;
            }
            case StateSpace.Shared:
                Declare(d, SharedSym(d));
                break;
            default:
                throw new PtxException(d.Line, d.Col, "." + d.Space.ToString().ToLowerInvariant(), "global and constant variables must be declared at module scope");
        }
    }

    private void DeclareReg(VarDecl d, string name)
    {
        int slot = PtxProgram.SpecialCount + _regNames.Count;
        _regNames.Add(name);
        Declare(d, new Sym(SymKind.Reg, d.Type, slot, 0, -1, PtxTypes.Size(d.Type), false, name, 0));
    }

    private Sym SharedSym(VarDecl d)
    {
        if (d.IsExtern)
        {
            _dynAlign = Math.Max(_dynAlign, d.Alignment);
            if (!_sharedSymbols.Any(s => s.Dynamic)) _sharedSymbols.Add(new SharedSymbol(d.Name, 0, 0, true));
            return new Sym(SymKind.Shared, d.Type, -1, 0, -1, 0, true, d.Name, d.Alignment);
        }
        _staticShared = AlignUp(_staticShared, d.Alignment);
        long off = _staticShared;
        _staticShared += d.ByteSize;
        if (_staticShared > _limits.MaxStaticSharedBytes)
            throw Limit(d, ".shared", nameof(PtxLimits.MaxStaticSharedBytes), _limits.MaxStaticSharedBytes,
                $"'{_programName}' declares {_staticShared} bytes of shared memory with '{d.Name}'");
        _sharedSymbols.Add(new SharedSymbol(d.Name, off, d.ByteSize, false));
        return new Sym(SymKind.Shared, d.Type, -1, off, -1, d.ByteSize, false, d.Name, d.Alignment);
    }

    private Sym? Lookup(string name)
    {
        for (int i = _scopes.Count - 1; i >= 0; i--)
            if (_scopes[i].TryGetValue(name, out var s)) return s;
        if (SpecialIndex(name) is int sp) return new Sym(SymKind.Special, PtxType.U32, sp, 0, -1, 4, false, name, 0);
        if (_globalIndex.TryGetValue(name, out int gi))
        {
            var g = _globals[gi];
            return new Sym(SymKind.Global, g.Type, -1, 0, gi, g.ByteSize, false, name, g.Alignment);
        }
        if (_moduleShared.TryGetValue(name, out var sh))
        {
            if (sh.IsExtern) return SharedSym(sh);
            if (!_moduleSharedOffsets.TryGetValue(name, out long off))
            {
                var s = SharedSym(sh);
                _moduleSharedOffsets[name] = s.Offset;
                return s;
            }
            return new Sym(SymKind.Shared, sh.Type, -1, off, -1, sh.ByteSize, false, name, sh.Alignment);
        }
        if (_sym.Funcs.ContainsKey(name)) return new Sym(SymKind.Func, PtxType.None, -1, 0, -1, 0, false, name, 0);
        return null;
    }

    private static int? SpecialIndex(string name) => name switch
    {
        "%tid.x" => PtxProgram.SpTid, "%tid.y" => PtxProgram.SpTid + 1, "%tid.z" => PtxProgram.SpTid + 2,
        "%ntid.x" => PtxProgram.SpNtid, "%ntid.y" => PtxProgram.SpNtid + 1, "%ntid.z" => PtxProgram.SpNtid + 2,
        "%ctaid.x" => PtxProgram.SpCtaid, "%ctaid.y" => PtxProgram.SpCtaid + 1, "%ctaid.z" => PtxProgram.SpCtaid + 2,
        "%nctaid.x" => PtxProgram.SpNctaid, "%nctaid.y" => PtxProgram.SpNctaid + 1, "%nctaid.z" => PtxProgram.SpNctaid + 2,
        "%laneid" => PtxProgram.SpLaneId, "%warpid" => PtxProgram.SpWarpId, "%nwarpid" => PtxProgram.SpNwarpId,
        "%lanemask_eq" => PtxProgram.SpLaneMaskEq, "%lanemask_lt" => PtxProgram.SpLaneMaskLt, "%lanemask_le" => PtxProgram.SpLaneMaskLe,
        "%lanemask_gt" => PtxProgram.SpLaneMaskGt, "%lanemask_ge" => PtxProgram.SpLaneMaskGe,
        _ => null,
    };

    // ---------------------------------------------------------------- constants and operands

    private int Const(ConstEntry e)
    {
        if (!_constIndex.TryGetValue(e, out int i))
        {
            i = _consts.Count;
            _consts.Add(e);
            _constIndex[e] = i;
        }
        return ConstFlag | i;
    }

    private int ConstValue(ulong v) => Const(new ConstEntry(ConstKind.Value, v, 0));

    /// <summary>The address of a variable in its own state space (or its generic address).</summary>
    private int SymbolAddress(Sym s, bool generic, Operand at, InstructionSyntax ins)
    {
        switch (s.Kind)
        {
            case SymKind.Global:
                return Const(new ConstEntry(ConstKind.GlobalVar, 0, s.Var));
            case SymKind.Shared:
                ulong w = generic ? SharedWindow : 0;
                return s.Dynamic ? Const(new ConstEntry(ConstKind.DynShared, w, 0)) : ConstValue(w + (ulong)s.Offset);
            case SymKind.Local:
                return ConstValue((generic ? LocalWindow : 0) + (ulong)s.Offset);
            case SymKind.KParam:
            case SymKind.SParam:
                if (generic) throw Fail(at, ins, $"the generic address of parameter '{s.Name}' is not supported");
                return ConstValue((ulong)s.Offset);
            default:
                throw Fail(at, ins, $"'{s.Name}' is not a variable");
        }
    }

    private static PtxException Fail(InstructionSyntax ins, string message) => new(ins.Line, ins.Col, ins.Opcode, message);

    private static PtxException Fail(Operand o, InstructionSyntax ins, string message) => new(o.Line, o.Col, ins.Opcode, message);

    private Sym Resolve(Operand o, InstructionSyntax ins)
    {
        var s = Lookup(o.Name);
        if (s != null) return s;
        if (o.Name.StartsWith("%clock", StringComparison.Ordinal) || o.Name.StartsWith("%globaltimer", StringComparison.Ordinal))
            throw Fail(o, ins, $"special register '{o.Name}' is not supported (it is not deterministic)");
        if (o.Name.StartsWith('%') && o.Name.Contains('.') || o.Name is "%tid" or "%ntid" or "%ctaid" or "%nctaid" or "%smid" or "%nsmid" or "%gridid" or "%pm0")
            throw Fail(o, ins, $"special register '{o.Name}' is not supported");
        throw Fail(o, ins, $"'{o.Name}' is not declared");
    }

    /// <summary>Whether a register of type <paramref name="reg"/> may hold an operand of instruction type <paramref name="ty"/>.</summary>
    private static bool Compatible(PtxType reg, PtxType ty, bool wider)
    {
        if (reg == PtxType.Pred || ty == PtxType.Pred) return reg == ty;
        int rs = PtxTypes.Size(reg), ts = PtxTypes.Size(ty);
        if (PtxTypes.IsFloat(ty)) return reg == ty || (PtxTypes.IsBits(reg) && rs == ts);
        if (PtxTypes.IsBits(ty)) return wider ? rs >= ts : rs == ts;
        return !PtxTypes.IsFloat(reg) && (wider ? rs >= ts : rs == ts);
    }

    /// <summary>A source operand of type <paramref name="ty"/>: register, special register, or immediate.</summary>
    private int Src(Operand o, PtxType ty, InstructionSyntax ins, bool wider = false, bool allowNeg = false, bool allowSpecial = false)
    {
        switch (o.Kind)
        {
            case OperandKind.Name:
            {
                if (o.Negated && !allowNeg) throw Fail(o, ins, "'!' is allowed only on a predicate operand that accepts it");
                var s = Resolve(o, ins);
                if (s.Kind == SymKind.Special)
                {
                    if (!allowSpecial) throw Fail(o, ins, $"special register '{o.Name}' may be read only by mov and cvt");
                    if (ty == PtxType.Pred || PtxTypes.IsFloat(ty) || PtxTypes.Size(ty) != 4)
                        throw Fail(o, ins, $"special register '{o.Name}' is a .u32 and cannot be used as {PtxTypes.Name(ty)}");
                    return s.Slot;
                }
                if (s.Kind != SymKind.Reg) throw Fail(o, ins, $"'{o.Name}' is not a register here");
                if (!Compatible(s.Type, ty, wider))
                    throw Fail(o, ins, $"register '{o.Name}' is {PtxTypes.Name(s.Type)}, which does not fit {PtxTypes.Name(ty)}");
                return s.Slot;
            }
            case OperandKind.Int:
            case OperandKind.Float:
                return ConstValue(ImmBits(o, ty, ins));
            case OperandKind.Sink:
                throw Fail(o, ins, "'_' is not allowed here");
            default:
                throw Fail(o, ins, $"expected a register or an immediate of type {PtxTypes.Name(ty)}");
        }
    }

    private static ulong Mask(int size) => size >= 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    private static ulong ImmBits(Operand o, PtxType ty, InstructionSyntax ins)
    {
        int size = PtxTypes.Size(ty);
        if (o.Kind == OperandKind.Int)
        {
            if (PtxTypes.IsFloat(ty)) throw Fail(o, ins, $"an integer literal cannot be a {PtxTypes.Name(ty)} operand; write e.g. 1.0 or 0f3F800000");
            if (ty == PtxType.Pred) return o.IntValue != 0 ? 1UL : 0UL;
            return (ulong)o.IntValue & Mask(size);
        }
        double dv = o.FloatWidth switch
        {
            4 => BitConverter.UInt32BitsToSingle((uint)o.FloatBits),
            8 => BitConverter.UInt64BitsToDouble(o.FloatBits),
            _ => o.FloatDecimal,
        };
        if (ty == PtxType.F32 || (ty == PtxType.B32 && o.FloatWidth == 4))
            return o.FloatWidth == 4 ? o.FloatBits : BitConverter.SingleToUInt32Bits((float)dv);
        if (ty == PtxType.F64 || (ty == PtxType.B64 && o.FloatWidth == 8))
            return o.FloatWidth == 8 ? o.FloatBits : BitConverter.DoubleToUInt64Bits(dv);
        throw Fail(o, ins, $"a floating-point literal cannot be a {PtxTypes.Name(ty)} operand");
    }

    /// <summary>A destination register of type <paramref name="ty"/>.</summary>
    private int Dst(Operand o, PtxType ty, InstructionSyntax ins, bool wider = false)
    {
        if (o.Kind != OperandKind.Name || o.Negated) throw Fail(o, ins, "expected a destination register");
        var s = Resolve(o, ins);
        if (s.Kind != SymKind.Reg) throw Fail(o, ins, $"'{o.Name}' is not a writable register");
        if (!Compatible(s.Type, ty, wider))
            throw Fail(o, ins, $"register '{o.Name}' is {PtxTypes.Name(s.Type)}, which does not fit {PtxTypes.Name(ty)}");
        _curWrites.Add((s.Slot, s.Type));
        return s.Slot;
    }

    private int RegSize(Operand o, InstructionSyntax ins)
    {
        if (o.Kind != OperandKind.Name) return 8;
        var s = Resolve(o, ins);
        return s.Kind == SymKind.Reg ? PtxTypes.Size(s.Type) : 4;
    }

    private int Pred(Operand o, InstructionSyntax ins, out bool negated, bool allowNeg)
    {
        negated = o.Negated;
        if (o.Kind == OperandKind.Int) return ConstValue(o.IntValue != 0 ? 1UL : 0UL);
        return Src(o, PtxType.Pred, ins, allowNeg: allowNeg);
    }

    private void Emit(Instr i, int line, string text)
    {
        if (_code.Count >= _limits.MaxInstructionsPerKernel)
            throw new PtxLimitException(line, 1, "", nameof(PtxLimits.MaxInstructionsPerKernel), _limits.MaxInstructionsPerKernel,
                $"'{_programName}' has more instructions (with the functions it calls)");
        _code.Add(i);
        _lines.Add(line);
        _texts.Add(text);
        _writes.Add([.. _curWrites]);
        _curWrites.Clear();
    }

    private static Instr New(Op op) => new() { Op = op, Guard = -1, D = -1, A = -1, B = -1, C = -1, E = -1, F = -1 };

    private static void Count(InstructionSyntax ins, int n)
    {
        if (ins.Operands.Count != n)
            throw Fail(ins, $"expects {n} operand{(n == 1 ? "" : "s")} but has {ins.Operands.Count}");
    }
}
