using System.Globalization;

namespace Engine.Kernels.Ptx;

/// <summary>
/// Reads PTX text into a syntax tree: module directives, variables, functions with their parameter lists and
/// bodies (declarations, labels, scopes, predicated instructions). Instruction semantics are checked later by
/// <see cref="PtxCompiler"/>; this stage rejects what is not PTX syntax or not a supported directive.
/// </summary>
internal sealed class PtxParser
{
    /// <summary>Largest byte size of one variable: far above any limit, small enough that sums of a few cannot overflow.</summary>
    private const long MaxVariableBytes = 1L << 48;

    private readonly string _text;
    private readonly List<Token> _toks;
    private readonly PtxLimits _limits;
    private int _p;
    private int _depth;     // braces and parentheses open in the initialiser or operand being read

    private PtxParser(string text, PtxLimits limits)
    {
        _text = text;
        _limits = limits;
        _toks = PtxLexer.Lex(text);
    }

    public static ModuleSyntax Parse(string text, PtxLimits limits) => new PtxParser(text, limits).ParseModule();

    /// <summary>Opens one level of nesting at <paramref name="t"/>; recursion is bounded so that no input can overflow the stack.</summary>
    private void Enter(Token t, string instruction)
    {
        if (++_depth > _limits.MaxNestingDepth)
            throw new PtxLimitException(t.Line, t.Col, instruction, nameof(PtxLimits.MaxNestingDepth), _limits.MaxNestingDepth, "braces or parentheses nested too deeply");
    }

    private Token Peek => _toks[_p];
    private Token PeekAt(int k) => _toks[Math.Min(_p + k, _toks.Count - 1)];
    private Token Next() => _toks[_p < _toks.Count - 1 ? _p++ : _p];

    private static PtxException Error(Token t, string message, string instruction = "") =>
        new(t.Line, t.Col, instruction, message);

    private Token Expect(string punct, string instruction = "")
    {
        var t = Next();
        if (!t.Is(punct)) throw Error(t, $"expected '{punct}' but found {t}", instruction);
        return t;
    }

    private Token ExpectWord(string what, string instruction = "")
    {
        var t = Next();
        if (t.Kind != TokKind.Word) throw Error(t, $"expected {what} but found {t}", instruction);
        return t;
    }

    private long ExpectInt(string what, string instruction = "")
    {
        var t = Next();
        bool neg = false;
        if (t.Is("-")) { neg = true; t = Next(); }
        if (t.Kind != TokKind.Number) throw Error(t, $"expected {what} but found {t}", instruction);
        var op = ParseNumber(t, instruction);
        if (op.Kind != OperandKind.Int) throw Error(t, $"expected an integer {what} but found {t}", instruction);
        return neg ? -op.IntValue : op.IntValue;
    }

    /// <summary>Skips a directive that ends at the end of its line (.loc, .file).</summary>
    private void SkipLine()
    {
        int line = Next().Line;
        while (Peek.Kind != TokKind.End && Peek.Line == line) Next();
    }

    private ModuleSyntax ParseModule()
    {
        var m = new ModuleSyntax();
        bool sawVersion = false, sawTarget = false;
        while (Peek.Kind != TokKind.End)
        {
            var t = Peek;
            if (t.Kind != TokKind.Word) throw Error(t, $"expected a directive but found {t}");
            switch (t.Text)
            {
                case ".version":
                {
                    Next();
                    var v = Next();
                    if (v.Kind != TokKind.Number) throw Error(v, "expected a version number after .version", ".version");
                    m.Version = v.Text;
                    sawVersion = true;
                    break;
                }
                case ".target":
                {
                    Next();
                    var targets = new List<string> { ExpectWord("a target such as sm_80", ".target").Text };
                    while (Peek.Is(",")) { Next(); targets.Add(ExpectWord("a target", ".target").Text); }
                    m.Target = string.Join(",", targets);
                    sawTarget = true;
                    break;
                }
                case ".address_size":
                {
                    Next();
                    long a = ExpectInt("an address size", ".address_size");
                    if (a != 64) throw Error(t, "only .address_size 64 is supported", ".address_size");
                    m.AddressSize = 64;
                    break;
                }
                case ".file":
                case ".loc":
                    SkipLine();
                    break;
                case ".pragma":
                    Next();
                    while (!Peek.Is(";") && Peek.Kind != TokKind.End) Next();
                    Expect(";");
                    break;
                default:
                    ParseModuleItem(m);
                    break;
            }
        }
        if (!sawVersion) throw new PtxException(1, 1, "", "missing .version directive");
        if (!sawTarget) throw new PtxException(1, 1, "", "missing .target directive");
        return m;
    }

    private void ParseModuleItem(ModuleSyntax m)
    {
        bool isExtern = false;
        while (Peek.Kind == TokKind.Word && Peek.Text is ".visible" or ".extern" or ".weak" or ".common")
        {
            if (Peek.Text == ".extern") isExtern = true;
            Next();
        }
        var t = Peek;
        if (t.Kind != TokKind.Word) throw Error(t, $"expected a directive but found {t}");
        switch (t.Text)
        {
            case ".entry":
            case ".func":
                m.Functions.Add(ParseFunction());
                break;
            case ".global":
            case ".const":
            case ".shared":
                foreach (var d in ParseDeclaration(isExtern)) m.Variables.Add(d);
                break;
            default:
                throw Error(t, $"unsupported directive '{t.Text}'", t.Text);
        }
    }

    private FunctionSyntax ParseFunction()
    {
        var kw = Next();
        var f = new FunctionSyntax { IsEntry = kw.Text == ".entry", Line = kw.Line, Col = kw.Col };
        if (!f.IsEntry && Peek.Is("("))
            f.Returns = ParseParamList(kw.Text);
        var name = ExpectWord("a function name", kw.Text);
        if (name.Text.StartsWith('.') || name.Text.StartsWith('%')) throw Error(name, $"bad function name '{name.Text}'", kw.Text);
        f.Name = name.Text;
        if (Peek.Is("(")) f.Params = ParseParamList(kw.Text);
        // Performance-tuning directives and attributes between the header and the body.
        while (Peek.Kind == TokKind.Word)
        {
            var d = Next();
            switch (d.Text)
            {
                case ".maxntid":
                case ".reqntid":
                case ".minnctapersm":
                case ".maxnctapersm":
                case ".maxnreg":
                    ExpectInt("a number", d.Text);
                    while (Peek.Is(",")) { Next(); ExpectInt("a number", d.Text); }
                    break;
                case ".noreturn":
                    break;
                case ".pragma":
                    while (!Peek.Is(";") && Peek.Kind != TokKind.End) Next();
                    Expect(";");
                    break;
                default:
                    throw Error(d, $"unsupported function directive '{d.Text}'", d.Text);
            }
        }
        if (Peek.Is(";")) { Next(); return f; }
        Expect("{", kw.Text);
        f.HasBody = true;
        ParseBody(f);
        return f;
    }

    private List<VarDecl> ParseParamList(string instruction)
    {
        var list = new List<VarDecl>();
        Expect("(", instruction);
        if (Peek.Is(")")) { Next(); return list; }
        while (true)
        {
            var sp = ExpectWord(".param", instruction);
            if (sp.Text != ".param")
                throw Error(sp, $"only .param parameters are supported, not '{sp.Text}'", instruction);
            var d = new VarDecl { Space = StateSpace.Param, Line = sp.Line, Col = sp.Col };
            ParseTypeAndAttributes(d, instruction, allowPtr: true);
            var name = ExpectWord("a parameter name", instruction);
            d.Name = name.Text;
            d.Dims = ParseDims(instruction, allowUnsized: false);
            CheckSize(d, name, instruction);
            list.Add(d);
            if (Peek.Is(",")) { Next(); continue; }
            Expect(")", instruction);
            return list;
        }
    }

    /// <summary>Reads [.align N] [.ptr [.space] [.align N]] .type in any of the orders PTX allows.</summary>
    private void ParseTypeAndAttributes(VarDecl d, string instruction, bool allowPtr)
    {
        while (true)
        {
            var t = Peek;
            if (t.Kind != TokKind.Word) throw Error(t, $"expected a type but found {t}", instruction);
            if (t.Text == ".align")
            {
                Next();
                long a = ExpectInt("an alignment", instruction);
                if (a <= 0 || (a & (a - 1)) != 0) throw Error(t, $"alignment {a} is not a power of two", instruction);
                if (a > _limits.MaxAlignment)
                    throw new PtxLimitException(t.Line, t.Col, instruction, nameof(PtxLimits.MaxAlignment), _limits.MaxAlignment, $"alignment {a} is too large");
                d.Align = (int)a;
                continue;
            }
            if (allowPtr && d.Type != PtxType.None && t.Text is ".ptr" or ".global" or ".shared" or ".const" or ".local")
            {
                Next();
                continue;
            }
            if (t.Text is ".v2" or ".v4" or ".v8")
                throw Error(t, "vector variables are not supported", instruction);
            if (PtxTypes.IsUnsupportedType(t.Text))
                throw Error(t, $"type '{t.Text}' is not supported by the emulator", instruction);
            var ty = PtxTypes.Parse(t.Text);
            if (ty == null)
            {
                if (d.Type != PtxType.None) return;
                throw Error(t, $"expected a type but found '{t.Text}'", instruction);
            }
            if (d.Type != PtxType.None) throw Error(t, "two types in one declaration", instruction);
            Next();
            d.Type = ty.Value;
            if (!allowPtr) return;
            // .param .u64 .ptr .global .align 8 name
            if (Peek.Kind == TokKind.Word && Peek.Text is ".ptr" or ".align") continue;
            return;
        }
    }

    private long[] ParseDims(string instruction, bool allowUnsized)
    {
        if (!Peek.Is("[")) return [];
        var dims = new List<long>();
        while (Peek.Is("["))
        {
            var open = Next();
            if (Peek.Is("]"))
            {
                if (!allowUnsized || dims.Count > 0) throw Error(open, "an array without a size is allowed only for .extern .shared", instruction);
                Next();
                dims.Add(0);
                continue;
            }
            long n = ExpectInt("an array size", instruction);
            if (n <= 0) throw Error(open, $"array size {n} must be positive", instruction);
            dims.Add(n);
            Expect("]", instruction);
        }
        return [.. dims];
    }

    /// <summary>Rejects a variable whose byte size (element size times every dimension) overflows or is absurd.</summary>
    private static void CheckSize(VarDecl d, Token at, string instruction)
    {
        long bytes = Math.Max(1, d.ElementSize);
        foreach (var n in d.Dims)
        {
            if (n == 0) continue;
            if (n > MaxVariableBytes / bytes)
                throw Error(at, $"'{d.Name}' is too large: {PtxTypes.Name(d.Type)}[{string.Join("][", d.Dims)}] is more than {MaxVariableBytes} bytes", instruction);
            bytes *= n;
        }
    }

    /// <summary>Parses <c>.space [.align] .type name[dims] [= init] {, name ...} ;</c> (the space word is next).</summary>
    private List<VarDecl> ParseDeclaration(bool isExtern)
    {
        var sp = Next();
        var space = sp.Text switch
        {
            ".reg" => StateSpace.Reg,
            ".param" => StateSpace.Param,
            ".global" => StateSpace.Global,
            ".const" => StateSpace.Const,
            ".shared" => StateSpace.Shared,
            ".local" => StateSpace.Local,
            _ => throw Error(sp, $"unsupported state space '{sp.Text}'", sp.Text),
        };
        if (isExtern && space != StateSpace.Shared)
            throw Error(sp, $".extern {sp.Text} variables are not supported (only .extern .shared)", sp.Text);
        var proto = new VarDecl { Space = space, IsExtern = isExtern, Line = sp.Line, Col = sp.Col };
        ParseTypeAndAttributes(proto, sp.Text, allowPtr: false);
        var list = new List<VarDecl>();
        while (true)
        {
            var name = ExpectWord("a name", sp.Text);
            if (name.Text.StartsWith('.')) throw Error(name, $"expected a name but found '{name.Text}'", sp.Text);
            var d = new VarDecl
            {
                Space = space, Type = proto.Type, Align = proto.Align, IsExtern = isExtern,
                Name = name.Text, Line = name.Line, Col = name.Col,
            };
            if (Peek.Is("<"))
            {
                if (space != StateSpace.Reg) throw Error(Peek, "a <N> range is allowed only in .reg declarations", sp.Text);
                Next();
                long n = ExpectInt("a register count", sp.Text);
                if (n < 0) throw Error(name, $"register count {n} is negative", sp.Text);
                if (n > _limits.MaxRegistersPerKernel)
                    throw new PtxLimitException(name.Line, name.Col, sp.Text, nameof(PtxLimits.MaxRegistersPerKernel), _limits.MaxRegistersPerKernel, $"'{name.Text}<{n}>' declares {n} registers");
                d.RangeCount = (int)n;
                Expect(">", sp.Text);
            }
            else
            {
                d.Dims = ParseDims(sp.Text, allowUnsized: isExtern);
                if (space == StateSpace.Reg && d.Dims.Length > 0) throw Error(name, "register arrays are not supported", sp.Text);
                if (isExtern && (d.Dims.Length != 1 || d.Dims[0] != 0))
                    throw Error(name, ".extern .shared must be an unsized array, e.g. name[]", sp.Text);
                if (!isExtern && d.Dims.Length > 0 && d.Dims.Contains(0))
                    throw Error(name, "array size missing", sp.Text);
                CheckSize(d, name, sp.Text);
            }
            if (Peek.Is("="))
            {
                var eq = Next();
                if (space is not (StateSpace.Global or StateSpace.Const))
                    throw Error(eq, $"initializers are allowed only on .global and .const variables", sp.Text);
                d.Init = [];
                ParseInitializer(d.Init, sp.Text);
            }
            list.Add(d);
            if (Peek.Is(",")) { Next(); continue; }
            Expect(";", sp.Text);
            return list;
        }
    }

    private void ParseInitializer(List<Operand> into, string instruction)
    {
        if (Peek.Is("{"))
        {
            Enter(Next(), instruction);
            if (!Peek.Is("}"))
            {
                while (true)
                {
                    ParseInitializer(into, instruction);
                    if (Peek.Is(",")) { Next(); continue; }
                    break;
                }
            }
            Expect("}", instruction);
            _depth--;
            return;
        }
        var op = ParseOperand(instruction);
        if (op.Kind is not (OperandKind.Int or OperandKind.Float))
            throw new PtxException(op.Line, op.Col, instruction, "initializers must be numbers");
        into.Add(op);
    }

    private void ParseBody(FunctionSyntax f)
    {
        int depth = 0;
        while (true)
        {
            var t = Peek;
            if (t.Kind == TokKind.End) throw Error(t, $"missing '}}' at the end of '{f.Name}'");
            if (t.Is("{"))
            {
                Next();
                if (++depth >= _limits.MaxNestingDepth)
                    throw new PtxLimitException(t.Line, t.Col, "", nameof(PtxLimits.MaxNestingDepth), _limits.MaxNestingDepth, $"scopes in '{f.Name}' nested too deeply");
                f.Body.Add(new ScopeStatement { Open = true, Line = t.Line, Col = t.Col });
                continue;
            }
            if (t.Is("}"))
            {
                Next();
                if (depth == 0) return;
                depth--;
                f.Body.Add(new ScopeStatement { Open = false, Line = t.Line, Col = t.Col });
                continue;
            }
            if (t.Kind == TokKind.Word && PeekAt(1).Is(":") && !t.Text.StartsWith('.'))
            {
                Next();
                Next();
                f.Body.Add(new LabelStatement { Name = t.Text, Line = t.Line, Col = t.Col });
                continue;
            }
            if (t.Kind == TokKind.Word && t.Text.StartsWith('.'))
            {
                switch (t.Text)
                {
                    case ".reg":
                    case ".local":
                    case ".shared":
                    case ".param":
                    case ".const":
                    case ".global":
                        f.Body.AddRange(ParseDeclaration(isExtern: false));
                        continue;
                    case ".extern":
                        Next();
                        if (!Peek.IsWord(".shared")) throw Error(Peek, "only .extern .shared is supported inside a function", ".extern");
                        f.Body.AddRange(ParseDeclaration(isExtern: true));
                        continue;
                    case ".pragma":
                        Next();
                        while (!Peek.Is(";") && Peek.Kind != TokKind.End) Next();
                        Expect(";");
                        continue;
                    case ".loc":
                    case ".file":
                        SkipLine();
                        continue;
                    default:
                        throw Error(t, $"unsupported directive '{t.Text}'", t.Text);
                }
            }
            f.Body.Add(ParseInstruction());
        }
    }

    private InstructionSyntax ParseInstruction()
    {
        var first = Peek;
        var ins = new InstructionSyntax();
        if (first.Is("@"))
        {
            Next();
            if (Peek.Is("!")) { Next(); ins.GuardNegated = true; }
            var g = ExpectWord("a predicate register after '@'");
            ins.Guard = g.Text;
            ins.GuardLine = g.Line;
            ins.GuardCol = g.Col;
        }
        var op = Next();
        if (op.Kind != TokKind.Word || op.Text.StartsWith('.') || op.Text.StartsWith('%'))
            throw Error(op, $"expected an instruction but found {op}");
        ins.Line = op.Line;
        ins.Col = op.Col;
        ins.Opcode = op.Text;
        int dot = op.Text.IndexOf('.');
        ins.Mnemonic = dot < 0 ? op.Text : op.Text[..dot];
        if (!PtxCompiler.IsSupportedMnemonic(ins.Mnemonic))
            throw Error(op, $"unsupported instruction '{op.Text}'", op.Text);
        if (dot >= 0)
        {
            foreach (var part in op.Text[(dot + 1)..].Split('.'))
            {
                if (part.Length == 0) throw Error(op, "empty modifier in opcode", op.Text);
                ins.Modifiers.Add("." + part);
            }
        }
        if (!Peek.Is(";"))
        {
            while (true)
            {
                ins.Operands.Add(ParseOperand(op.Text));
                if (Peek.Is(",")) { Next(); continue; }
                break;
            }
        }
        var semi = Peek;
        if (!semi.Is(";")) throw Error(semi, $"expected ';' or ',' but found {semi}", op.Text);
        Next();
        ins.Text = _text[first.Start..semi.End];
        return ins;
    }

    private Operand ParseOperand(string instruction)
    {
        var t = Peek;
        if (t.Is("{"))
        {
            Enter(Next(), instruction);
            var elems = new List<Operand>();
            while (true)
            {
                elems.Add(ParseOperand(instruction));
                if (Peek.Is(",")) { Next(); continue; }
                break;
            }
            Expect("}", instruction);
            _depth--;
            return new Operand { Kind = OperandKind.Vector, Elements = [.. elems], Line = t.Line, Col = t.Col };
        }
        if (t.Is("("))
        {
            Enter(Next(), instruction);
            var elems = new List<Operand>();
            if (!Peek.Is(")"))
            {
                while (true)
                {
                    elems.Add(ParseOperand(instruction));
                    if (Peek.Is(",")) { Next(); continue; }
                    break;
                }
            }
            Expect(")", instruction);
            _depth--;
            return new Operand { Kind = OperandKind.Vector, Name = "(", Elements = [.. elems], Line = t.Line, Col = t.Col };
        }
        if (t.Is("["))
        {
            Next();
            var a = new Operand { Kind = OperandKind.Address, Line = t.Line, Col = t.Col };
            var b = Peek;
            if (b.Kind == TokKind.Word)
            {
                Next();
                a.Base = new Operand { Kind = OperandKind.Name, Name = b.Text, Line = b.Line, Col = b.Col };
                if (Peek.Is("+"))
                {
                    Next();
                    a.IntValue = ExpectInt("an offset", instruction);
                }
                else if (Peek.Is("-"))
                {
                    throw Error(Peek, "write a negative offset as '+-N'", instruction);
                }
            }
            else
            {
                a.IntValue = ExpectInt("an address", instruction);
            }
            Expect("]", instruction);
            return a;
        }
        if (t.Is("!"))
        {
            Next();
            var n = ExpectWord("a predicate after '!'", instruction);
            return new Operand { Kind = OperandKind.Name, Name = n.Text, Negated = true, Line = t.Line, Col = t.Col };
        }
        if (t.Is("-") || t.Is("+"))
        {
            Next();
            var num = Next();
            if (num.Kind != TokKind.Number) throw Error(num, $"expected a number after '{t.Text}'", instruction);
            var o = ParseNumber(num, instruction);
            if (t.Text == "-" && o.Kind == OperandKind.Float && o.FloatWidth == 4)
                throw Error(t, "a 0f literal cannot be negated; flip its sign bit instead (e.g. 0fBF800000 for -1.0)", instruction);
            o.Line = t.Line;
            o.Col = t.Col;
            if (t.Text == "-")
            {
                if (o.Kind == OperandKind.Int) o.IntValue = unchecked(-o.IntValue);
                else if (o.FloatWidth == 0) o.FloatDecimal = -o.FloatDecimal;
                else o.FloatBits ^= o.FloatWidth == 4 ? 0x8000_0000UL : 0x8000_0000_0000_0000UL;
            }
            return o;
        }
        if (t.Kind == TokKind.Number)
        {
            Next();
            return ParseNumber(t, instruction);
        }
        if (t.Kind == TokKind.Word)
        {
            Next();
            if (t.Text == "_") return new Operand { Kind = OperandKind.Sink, Line = t.Line, Col = t.Col };
            var o = new Operand { Kind = OperandKind.Name, Name = t.Text, Line = t.Line, Col = t.Col };
            if (Peek.Is("|"))
            {
                Next();
                var q = ExpectWord("a predicate after '|'", instruction);
                return new Operand
                {
                    Kind = OperandKind.Pair, Line = t.Line, Col = t.Col,
                    Elements = [o, new Operand { Kind = OperandKind.Name, Name = q.Text, Line = q.Line, Col = q.Col }],
                };
            }
            return o;
        }
        throw Error(t, $"expected an operand but found {t}", instruction);
    }

    private static Operand ParseNumber(Token t, string instruction)
    {
        string s = t.Text;
        var o = new Operand { Line = t.Line, Col = t.Col };
        try
        {
            if (s.Length > 2 && s[0] == '0' && s[1] is 'f' or 'F')
            {
                if (s.Length != 10) throw Error(t, "a 0f literal needs exactly 8 hex digits", instruction);
                o.Kind = OperandKind.Float;
                o.FloatWidth = 4;
                o.FloatBits = ulong.Parse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                return o;
            }
            if (s.Length > 2 && s[0] == '0' && s[1] is 'd' or 'D')
            {
                if (s.Length != 18) throw Error(t, "a 0d literal needs exactly 16 hex digits", instruction);
                o.Kind = OperandKind.Float;
                o.FloatWidth = 8;
                o.FloatBits = ulong.Parse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                return o;
            }
            string body = s.TrimEnd('U', 'u');
            if (body.Length > 2 && body[0] == '0' && body[1] is 'x' or 'X')
            {
                o.Kind = OperandKind.Int;
                o.IntValue = unchecked((long)ulong.Parse(body.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                return o;
            }
            if (body.Length > 2 && body[0] == '0' && body[1] is 'b' or 'B')
            {
                o.Kind = OperandKind.Int;
                o.IntValue = unchecked((long)Convert.ToUInt64(body[2..], 2));
                return o;
            }
            if (body.Contains('.') || body.Contains('e') || body.Contains('E'))
            {
                o.Kind = OperandKind.Float;
                o.FloatWidth = 0;
                o.FloatDecimal = double.Parse(body, NumberStyles.Float, CultureInfo.InvariantCulture);
                return o;
            }
            o.Kind = OperandKind.Int;
            if (body.Length > 1 && body[0] == '0')
                o.IntValue = unchecked((long)Convert.ToUInt64(body[1..], 8));
            else
                o.IntValue = unchecked((long)ulong.Parse(body, NumberStyles.None, CultureInfo.InvariantCulture));
            return o;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw Error(t, $"bad number '{s}'", instruction);
        }
    }
}
