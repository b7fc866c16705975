namespace Engine.Kernels.Ptx;

/// <summary>PTX fundamental types (the emulator's subset; .f16/.bf16 are rejected).</summary>
internal enum PtxType : byte { None, B8, B16, B32, B64, U8, U16, U32, U64, S8, S16, S32, S64, F32, F64, Pred }

internal static class PtxTypes
{
    public static PtxType? Parse(string mod) => mod switch
    {
        ".b8" => PtxType.B8, ".b16" => PtxType.B16, ".b32" => PtxType.B32, ".b64" => PtxType.B64,
        ".u8" => PtxType.U8, ".u16" => PtxType.U16, ".u32" => PtxType.U32, ".u64" => PtxType.U64,
        ".s8" => PtxType.S8, ".s16" => PtxType.S16, ".s32" => PtxType.S32, ".s64" => PtxType.S64,
        ".f32" => PtxType.F32, ".f64" => PtxType.F64, ".pred" => PtxType.Pred,
        _ => null,
    };

    /// <summary>Types PTX has but the emulator does not implement.</summary>
    public static bool IsUnsupportedType(string mod) => mod is ".f16" or ".f16x2" or ".bf16" or ".bf16x2" or ".tf32" or ".e4m3" or ".e5m2" or ".b128" or ".u16x2" or ".s16x2" or ".e4m3x2" or ".e5m2x2";

    public static int Size(PtxType t) => t switch
    {
        PtxType.B8 or PtxType.U8 or PtxType.S8 => 1,
        PtxType.B16 or PtxType.U16 or PtxType.S16 => 2,
        PtxType.B32 or PtxType.U32 or PtxType.S32 or PtxType.F32 => 4,
        PtxType.B64 or PtxType.U64 or PtxType.S64 or PtxType.F64 => 8,
        PtxType.Pred => 1,
        _ => 0,
    };

    public static bool IsFloat(PtxType t) => t is PtxType.F32 or PtxType.F64;
    public static bool IsSigned(PtxType t) => t is PtxType.S8 or PtxType.S16 or PtxType.S32 or PtxType.S64;
    public static bool IsUnsigned(PtxType t) => t is PtxType.U8 or PtxType.U16 or PtxType.U32 or PtxType.U64;
    public static bool IsBits(PtxType t) => t is PtxType.B8 or PtxType.B16 or PtxType.B32 or PtxType.B64;
    public static bool IsInt(PtxType t) => IsSigned(t) || IsUnsigned(t) || IsBits(t);

    public static string Name(PtxType t) => "." + t.ToString().ToLowerInvariant();
}

internal enum OperandKind : byte { Name, Int, Float, Address, Vector, Pair, Sink }

/// <summary>One instruction operand as written.</summary>
internal sealed class Operand
{
    public OperandKind Kind;
    public string Name = "";            // Name: register, special register, variable, label or function
    public bool Negated;                // !%p
    public long IntValue;               // Int; Address offset
    public ulong FloatBits;             // Float: raw bits (see FloatWidth)
    public int FloatWidth;              // 4: 0f literal, 8: 0d literal, 0: decimal literal (FloatDecimal)
    public double FloatDecimal;
    public Operand? Base;               // Address: register/variable, or null for an absolute address
    public Operand[] Elements = [];     // Vector ({a, b}), Pair (d|p), parenthesised call lists
    public int Line, Col;

    public override string ToString() => Kind switch
    {
        OperandKind.Name => (Negated ? "!" : "") + Name,
        OperandKind.Int => IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        OperandKind.Float => FloatWidth == 0 ? FloatDecimal.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : $"0x{FloatBits:X}",
        OperandKind.Address => $"[{Base?.ToString() ?? ""}{(IntValue != 0 || Base == null ? "+" + IntValue : "")}]",
        OperandKind.Vector => "{" + string.Join(", ", Elements.Select(e => e.ToString())) + "}",
        OperandKind.Pair => string.Join("|", Elements.Select(e => e.ToString())),
        _ => "_",
    };
}

internal abstract class Statement
{
    public int Line, Col;
}

/// <summary>An instruction with its guard predicate, dotted opcode and operands.</summary>
internal sealed class InstructionSyntax : Statement
{
    public string Opcode = "";          // full dotted text, e.g. ld.global.v4.f32
    public string Mnemonic = "";        // before the first dot, e.g. ld
    public List<string> Modifiers = []; // each with its leading dot
    public string? Guard;
    public bool GuardNegated;
    public int GuardLine, GuardCol;
    public List<Operand> Operands = [];
    public string Text = "";            // source text for traces
}

internal sealed class LabelStatement : Statement
{
    public string Name = "";
}

internal sealed class ScopeStatement : Statement
{
    public bool Open;
}

internal enum StateSpace : byte { Reg, Param, Global, Const, Shared, Local }

/// <summary>A variable or register declaration (.reg, .param, .global, .const, .shared, .local).</summary>
internal sealed class VarDecl : Statement
{
    public StateSpace Space;
    public PtxType Type;
    public string Name = "";
    public int RangeCount = -1;         // %r<32>: 32 registers %r0..%r31
    public long[] Dims = [];            // array dimensions; 0 for an unsized [] (extern shared)
    public int Align;                   // 0: natural alignment
    public bool IsExtern;
    public List<Operand>? Init;         // initializer values, flattened

    public int ElementSize => PtxTypes.Size(Type);

    public long ByteSize
    {
        get
        {
            long n = ElementSize;
            foreach (var d in Dims) n *= d;
            return n;
        }
    }

    public int Alignment => Align > 0 ? Align : Math.Max(1, ElementSize);
}

internal sealed class FunctionSyntax
{
    public string Name = "";
    public bool IsEntry;
    public bool HasBody;
    public int Line, Col;
    public List<VarDecl> Params = [];
    public List<VarDecl> Returns = [];
    public List<Statement> Body = [];
}

internal sealed class ModuleSyntax
{
    public string Version = "";
    public string Target = "";
    public int AddressSize = 64;
    public List<FunctionSyntax> Functions = [];
    public List<VarDecl> Variables = [];
}
