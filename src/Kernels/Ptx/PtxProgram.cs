namespace Engine.Kernels.Ptx;

/// <summary>Decoded opcodes. Each names one operation at one width, so the interpreter never looks at text.</summary>
internal enum Op : ushort
{
    Nop,
    // Moves and selection. Registers hold values zero-extended to 64 bits (predicates 0 or 1).
    Mov, MovMask, MovPack, MovUnpack, Selp,
    // 32-bit integers (wrap around).
    Add32, Sub32, MulLo32, MulHiS32, MulHiU32, MulWideS32, MulWideU32,
    MadLo32, MadHiS32, MadHiU32, MadWideS32, MadWideU32,
    DivS32, DivU32, RemS32, RemU32, MinS32, MinU32, MaxS32, MaxU32, AbsS32, Neg32, AddSatS32, SubSatS32,
    Shl32, ShrU32, ShrS32,
    // 64-bit integers.
    Add64, Sub64, MulLo64, MulHiS64, MulHiU64, MadLo64, MadHiS64, MadHiU64,
    DivS64, DivU64, RemS64, RemU64, MinS64, MinU64, MaxS64, MaxU64, AbsS64, Neg64,
    Shl64, ShrU64, ShrS64,
    // 16-bit integers: Mode is an IntOp, Flags.Signed the signedness.
    Int16,
    // Bitwise on any width (Not masks with Imm).
    And, Or, Xor, Not,
    // Floats without modifiers (IEEE round-to-nearest-even).
    AddF32, SubF32, MulF32, FmaF32, DivF32, MinF32, MaxF32, AbsF32, NegF32,
    RcpF32, SqrtF32, RsqrtF32, Ex2F32, Lg2F32, SinF32, CosF32,
    AddF64, SubF64, MulF64, FmaF64, DivF64, MinF64, MaxF64, AbsF64, NegF64, RcpF64, SqrtF64, RsqrtF64,
    // Floats with .ftz, .sat, directed rounding or .NaN: Mode is a FloatOp, Size 4 or 8, Size2 the rounding.
    FloatSlow,
    // Comparisons: Mode is a Cmp; Bool the combining BoolOp with predicate C (Flags.NegC); E the complement destination.
    SetpI16, SetpI32, SetpI64, SetpF32, SetpF64,
    // Conversions.
    CvtU64U32, CvtS64S32, CvtTrunc32, Cvt, CvtaToGeneric, CvtaFromGeneric,
    // Memory: address = R[A] + Imm; Size the access size; Size2 the register size (sign extension); Flags.Signed.
    // Vector forms take their registers from VecSlots[B .. B+C).
    LdParamK, LdParamS, LdLocal, LdShared, LdGlobal, LdGeneric,
    StParamS, StLocal, StShared, StGlobal, StGeneric,
    LdVParamK, LdVParamS, LdVLocal, LdVShared, LdVGlobal, LdVGeneric,
    StVParamS, StVLocal, StVShared, StVGlobal, StVGeneric,
    // Atomics: Mode an AtomOp, Size 4 or 8, Size2 an AtomType; D (or -1 for red), address R[A]+Imm, operands B, C.
    AtomShared, AtomGlobal, AtomGeneric,
    // Control.
    Bra, Call, Ret, Exit, Bar, Shfl, Vote,
}

internal enum IntOp : byte { Add, Sub, MulLo, MulHi, MulWide, MadLo, MadHi, MadWide, Div, Rem, Min, Max, Abs, Neg, Shl, Shr, AddSat, SubSat }

internal enum FloatOp : byte { Add, Sub, Mul, Fma, Div, Min, Max, MinNaN, MaxNaN, Abs, Neg, Rcp, Sqrt, Rsqrt, Ex2, Lg2, Sin, Cos }

/// <summary>Rounding modifiers. Rn is the default; the *i forms round to an integer.</summary>
internal enum Rnd : byte { None, Rn, Rz, Rm, Rp, Rni, Rzi, Rmi, Rpi }

internal enum Cmp : byte { Eq, Ne, Lt, Le, Gt, Ge, Lo, Ls, Hi, Hs, Equ, Neu, Ltu, Leu, Gtu, Geu, Num, Nan }

internal enum BoolOp : byte { None, And, Or, Xor }

internal enum AtomOp : byte { Add, Min, Max, Exch, Cas, And, Or, Xor, Inc, Dec }

internal enum AtomType : byte { U, S, F, B }

internal enum ShflMode : byte { Up, Down, Bfly, Idx }

internal enum VoteMode : byte { All, Any, Uni, Ballot }

internal enum CvtaSpace : byte { Global, Shared, Local, Const }

[Flags]
internal enum IFlags : byte
{
    None = 0,
    GuardNeg = 1,
    Signed = 2,
    Ftz = 4,
    Sat = 8,
    NegC = 16,
    /// <summary>shfl/vote: the guard is held in Imm and evaluated by the instruction (the thread still arrives).</summary>
    SyncGuard = 32,
    /// <summary>Negated source predicate (vote) or guard of a warp-synchronous instruction (with SyncGuard).</summary>
    NegA = 64,
    SyncGuardNeg = 128,
}

/// <summary>One decoded instruction. Operands are slots of the thread's register file; immediates, addresses of
/// variables and special registers are slots too, filled when a thread starts.</summary>
internal struct Instr
{
    public Op Op;
    public byte Mode;
    public byte Size;
    public byte Size2;
    public IFlags Flags;
    public BoolOp Bool;
    public int Guard;
    public int D, A, B, C, E, F;
    public long Imm;
}

/// <summary>How a call moves one argument or return value.</summary>
internal readonly record struct ArgMove(int FromSlot, int FromOffset, int ToSlot, int ToOffset, int Size, int RegSize);

internal sealed class CallSite
{
    public int Target;
    public int ReturnPc;
    public ArgMove[] Args = [];
    public ArgMove[] Rets = [];
}

internal enum ConstKind : byte { Value, GlobalVar, DynShared }

/// <summary>A constant slot: a literal value, or the device address of a module variable (resolved per device).</summary>
internal readonly record struct ConstEntry(ConstKind Kind, ulong Value, int Var);

/// <summary>A shared variable's place in the block's shared memory (for diagnostics).</summary>
internal readonly record struct SharedSymbol(string Name, long Offset, long Size, bool Dynamic);

/// <summary>A decoded kernel (.entry plus every .func of its module) ready to run.</summary>
internal sealed class PtxProgram
{
    public const int MaxCallDepth = 64;

    // Special register slots, relative to SpecialBase.
    public const int SpTid = 0, SpNtid = 3, SpCtaid = 6, SpNctaid = 9, SpLaneId = 12, SpWarpId = 13, SpNwarpId = 14,
        SpLaneMaskEq = 15, SpLaneMaskLt = 16, SpLaneMaskLe = 17, SpLaneMaskGt = 18, SpLaneMaskGe = 19, SpecialCount = 20;

    public string Name = "";
    public Instr[] Code = [];
    public int[] Lines = [];
    public string[] Texts = [];
    /// <summary>For traces: the slots an instruction writes and their types.</summary>
    public (int Slot, PtxType Type)[][] Writes = [];
    public int[] VecSlots = [];
    public CallSite[] Calls = [];
    public int RegCount;
    public int SpecialBase;
    public int ConstBase;
    public int SlotCount;
    public ConstEntry[] Consts = [];
    public string[] SlotNames = [];
    public long StaticSharedBytes;
    public long DynamicSharedOffset;
    public SharedSymbol[] SharedSymbols = [];
    public int LocalBytes;      // addressable .local bytes per thread
    public int LocalStride;     // .local plus call-parameter scratch per thread
    public PtxParameter[] Params = [];
    public int ParamBytes;
    public bool UsesGlobalAtomics;
    /// <summary>Statements decoded to build the program (its functions' bodies, plus one per function): the work of loading it.</summary>
    public int Statements;
}
