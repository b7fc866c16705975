using System.Buffers.Binary;

namespace Engine.Kernels.Ptx;

/// <summary>A kernel parameter as laid out in the parameter buffer (CUDA's rules: each at a multiple of its alignment).</summary>
/// <param name="Name">The name in the .entry parameter list.</param>
/// <param name="Type">The PTX type, e.g. <c>.u64</c> or <c>.f32</c> (for an array, its element type).</param>
/// <param name="Offset">Byte offset in the parameter buffer.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Alignment">Alignment in bytes.</param>
/// <param name="IsArray">True for <c>.param .align N .b8 name[size]</c> (a struct passed by value).</param>
public sealed record PtxParameter(string Name, string Type, int Offset, int Size, int Alignment, bool IsArray);

/// <summary>
/// PTX text loaded for the emulator: parsed, checked, and every kernel decoded. Anything outside the supported
/// subset raises <see cref="PtxException"/> naming the line, column and instruction.
/// </summary>
public sealed class PtxModule
{
    private readonly Dictionary<string, PtxKernel> _kernels = [];

    internal VarDecl[] Globals { get; }
    internal byte[][] GlobalInit { get; }

    /// <summary>The .version directive, e.g. "7.0".</summary>
    public string Version { get; }

    /// <summary>The .target directive, e.g. "sm_80".</summary>
    public string Target { get; }

    /// <summary>The kernels (.entry functions) in declaration order.</summary>
    public IReadOnlyList<string> KernelNames { get; }

    private PtxModule(ModuleSyntax m, PtxLimits limits)
    {
        Version = m.Version;
        Target = m.Target;
        Globals = m.Variables.Where(v => v.Space is StateSpace.Global or StateSpace.Const).ToArray();
        var seen = new HashSet<string>();
        long globalBytes = 0;
        foreach (var g in Globals)
        {
            if (!seen.Add(g.Name)) throw new PtxException(g.Line, g.Col, "", $"'{g.Name}' is declared twice");
            globalBytes += g.ByteSize;      // each at most 2^48 (checked by the parser), so the sum cannot overflow before the check
            if (globalBytes > limits.MaxGlobalBytes)
                throw new PtxLimitException(g.Line, g.Col, g.Space == StateSpace.Const ? ".const" : ".global", nameof(PtxLimits.MaxGlobalBytes),
                    limits.MaxGlobalBytes, $"the module's variables take {globalBytes} bytes with '{g.Name}'");
        }
        GlobalInit = Globals.Select(InitialBytes).ToArray();
        var sym = new ModuleSymbols(m, Globals, limits);
        var names = new List<string>();
        long statements = 0, registers = 0;
        foreach (var f in m.Functions)
        {
            if (!f.IsEntry) continue;
            if (!f.HasBody) throw new PtxException(f.Line, f.Col, ".entry", $"kernel '{f.Name}' has no body");
            if (_kernels.ContainsKey(f.Name)) throw new PtxException(f.Line, f.Col, ".entry", $"kernel '{f.Name}' is defined twice");
            var prog = PtxCompiler.Compile(sym, f);
            CheckModuleTotals(statements += prog.Statements, registers += prog.RegCount, limits, f);
            _kernels[f.Name] = new PtxKernel(this, prog);
            names.Add(f.Name);
        }
        if (PtxCompiler.CheckUncalledFunctions(sym) is { } rest)
            CheckModuleTotals(statements + rest.Statements, registers + rest.RegCount, limits, null);
        KernelNames = names;
    }

    // Each kernel holds its own copy of the functions it calls, so these totals (not the text's size) bound the work
    // and memory of loading. Checked after each kernel, which the per-kernel limits bound.
    private static void CheckModuleTotals(long statements, long registers, PtxLimits limits, FunctionSyntax? at)
    {
        string with = at == null ? "" : $" with kernel '{at.Name}'";
        if (statements > limits.MaxStatementsPerModule)
            throw new PtxLimitException(at?.Line ?? 1, at?.Col ?? 1, at == null ? "" : ".entry", nameof(PtxLimits.MaxStatementsPerModule), limits.MaxStatementsPerModule,
                $"the module decodes {statements} statements{with} (each kernel counts the functions it calls)");
        if (registers > limits.MaxRegistersPerModule)
            throw new PtxLimitException(at?.Line ?? 1, at?.Col ?? 1, at == null ? "" : ".entry", nameof(PtxLimits.MaxRegistersPerModule), limits.MaxRegistersPerModule,
                $"the module declares {registers} registers{with} (each kernel counts the functions it calls)");
    }

    /// <summary>Parses and decodes PTX text (.version, .target sm_XX, .address_size 64, then variables and functions).</summary>
    /// <exception cref="PtxException">The text is not valid PTX or uses something the emulator does not support.</exception>
    /// <exception cref="PtxLimitException">The text exceeds one of the <see cref="PtxLimits.Default"/> limits.</exception>
    public static PtxModule Load(string ptx) => Load(ptx, PtxLimits.Default);

    /// <summary>
    /// Parses and decodes PTX text under <paramref name="limits"/>. Every input either loads or raises
    /// <see cref="PtxException"/> (<see cref="PtxLimitException"/> for a limit); loading takes time and memory linear
    /// in the text's size and never recurses deeper than <see cref="PtxLimits.MaxNestingDepth"/>.
    /// </summary>
    /// <exception cref="PtxException">The text is not valid PTX or uses something the emulator does not support.</exception>
    /// <exception cref="PtxLimitException">The text exceeds one of <paramref name="limits"/>.</exception>
    public static PtxModule Load(string ptx, PtxLimits limits)
    {
        ArgumentNullException.ThrowIfNull(ptx);
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        if (ptx.Length > limits.MaxModuleChars)
            throw new PtxLimitException(1, 1, "", nameof(PtxLimits.MaxModuleChars), limits.MaxModuleChars, $"the text has {ptx.Length} characters");
        try
        {
            return new PtxModule(PtxParser.Parse(ptx, limits), limits);
        }
        catch (Exception e) when (e is not (PtxException or OutOfMemoryException))
        {
            // A bug of the emulator, not of the text: still a load error of the documented type, with the cause attached.
            throw new PtxException(1, 1, "", $"the emulator failed on this text ({e.GetType().Name}: {e.Message}); please report it", e);
        }
    }

    /// <summary>The kernel named <paramref name="name"/>.</summary>
    public PtxKernel GetKernel(string name) =>
        _kernels.TryGetValue(name, out var k) ? k
        : throw new ArgumentValueException("PtxModule.GetKernel", $"no kernel named '{name}'; the module has {(KernelNames.Count == 0 ? "none" : string.Join(", ", KernelNames))}");

    private static byte[] InitialBytes(VarDecl v)
    {
        var bytes = new byte[v.ByteSize];
        if (v.Init == null) return bytes;
        int es = v.ElementSize;
        long count = v.ByteSize / Math.Max(es, 1);
        if (v.Init.Count > count)
            throw new PtxException(v.Line, v.Col, "", $"'{v.Name}' has {count} element(s) but {v.Init.Count} initializers");
        for (int i = 0; i < v.Init.Count; i++)
        {
            var o = v.Init[i];
            ulong bits;
            if (v.Type == PtxType.F32)
                bits = o.Kind == OperandKind.Int ? BitConverter.SingleToUInt32Bits(o.IntValue)
                    : o.FloatWidth == 4 ? o.FloatBits : BitConverter.SingleToUInt32Bits((float)(o.FloatWidth == 8 ? BitConverter.UInt64BitsToDouble(o.FloatBits) : o.FloatDecimal));
            else if (v.Type == PtxType.F64)
                bits = o.Kind == OperandKind.Int ? BitConverter.DoubleToUInt64Bits(o.IntValue)
                    : o.FloatWidth == 8 ? o.FloatBits : BitConverter.DoubleToUInt64Bits(o.FloatWidth == 4 ? BitConverter.UInt32BitsToSingle((uint)o.FloatBits) : o.FloatDecimal);
            else if (o.Kind == OperandKind.Int) bits = (ulong)o.IntValue;
            else if (o.FloatWidth != 0) bits = o.FloatBits;
            else throw new PtxException(o.Line, o.Col, "", $"a floating-point initializer for {PtxTypes.Name(v.Type)} variable '{v.Name}'");
            var span = bytes.AsSpan(i * es, es);
            for (int k = 0; k < es; k++) span[k] = (byte)(bits >> (8 * k));
        }
        return bytes;
    }
}

/// <summary>One decoded kernel of a <see cref="PtxModule"/>: its parameter layout and resources.</summary>
public sealed class PtxKernel
{
    internal PtxProgram Program { get; }

    /// <summary>The module the kernel belongs to.</summary>
    public PtxModule Module { get; }

    /// <summary>The kernel's name (its .entry).</summary>
    public string Name => Program.Name;

    /// <summary>The parameters with their offsets in the parameter buffer.</summary>
    public IReadOnlyList<PtxParameter> Parameters => Program.Params;

    /// <summary>Size of the packed parameter buffer.</summary>
    public int ParameterBytes => Program.ParamBytes;

    /// <summary>Bytes of statically declared shared memory per block.</summary>
    public long StaticSharedBytes => Program.StaticSharedBytes;

    /// <summary>Bytes of .local memory per thread.</summary>
    public int LocalBytesPerThread => Program.LocalBytes;

    /// <summary>Decoded instructions (the kernel plus the .func bodies it calls, directly or not).</summary>
    public int InstructionCount => Program.Code.Length;

    /// <summary>Registers declared by the kernel and the functions it calls (PTX virtual registers, not hardware ones).</summary>
    public int RegisterCount => Program.RegCount;

    internal PtxKernel(PtxModule module, PtxProgram program)
    {
        Module = module;
        Program = program;
    }

    /// <summary>
    /// Packs arguments into a parameter buffer as CUDA does: a <see cref="DeviceBuffer"/> or <see cref="ulong"/> for a
    /// 64-bit pointer parameter, an integer of a C# type no wider than the parameter (range-checked), <see cref="float"/>
    /// for .f32, <see cref="double"/> for .f64, a <c>byte[]</c> of the exact size for an array parameter.
    /// </summary>
    public byte[] PackArguments(params object[] args)
    {
        const string op = "PtxKernel.PackArguments";
        ArgumentNullException.ThrowIfNull(args);
        var ps = Program.Params;
        if (args.Length != ps.Length)
            throw new ArgumentValueException(op, $"kernel '{Name}' takes {ps.Length} argument(s) ({string.Join(", ", ps.Select(p => p.Type + " " + p.Name))}) but got {args.Length}");
        var buf = new byte[Program.ParamBytes];
        for (int i = 0; i < ps.Length; i++)
        {
            var p = ps[i];
            var dst = buf.AsSpan(p.Offset, p.Size);
            object a = args[i] ?? throw new ArgumentValueException(op, $"argument {i} ('{p.Name}') is null");
            string where = $"argument {i} ('{p.Name}', {p.Type}{(p.IsArray ? $"[{p.Size}]" : "")})";
            if (p.IsArray)
            {
                if (a is not byte[] raw || raw.Length != p.Size)
                    throw new ArgumentValueException(op, $"{where} needs a byte[{p.Size}], not {Describe(a)}");
                raw.CopyTo(dst);
                continue;
            }
            switch (p.Type)
            {
                case ".f32":
                    if (a is not float f) throw new ArgumentValueException(op, $"{where} needs a float, not {Describe(a)}");
                    BinaryPrimitives.WriteSingleLittleEndian(dst, f);
                    break;
                case ".f64":
                    if (a is not double d) throw new ArgumentValueException(op, $"{where} needs a double, not {Describe(a)}");
                    BinaryPrimitives.WriteDoubleLittleEndian(dst, d);
                    break;
                default:
                {
                    Int128 v;
                    int srcSize;
                    switch (a)
                    {
                        case DeviceBuffer b: v = b.Address; srcSize = 8; break;
                        case sbyte x: v = x; srcSize = 1; break;
                        case byte x: v = x; srcSize = 1; break;
                        case short x: v = x; srcSize = 2; break;
                        case ushort x: v = x; srcSize = 2; break;
                        case int x: v = x; srcSize = 4; break;
                        case uint x: v = x; srcSize = 4; break;
                        case long x: v = x; srcSize = 8; break;
                        case ulong x: v = x; srcSize = 8; break;
                        case bool x: v = x ? 1 : 0; srcSize = 1; break;
                        default: throw new ArgumentValueException(op, $"{where} needs an integer or a DeviceBuffer, not {Describe(a)}");
                    }
                    if (a is DeviceBuffer && p.Size != 8)
                        throw new ArgumentValueException(op, $"{where} is {p.Size * 8}-bit; a device pointer needs a 64-bit parameter");
                    // A wider C# integer must fit the parameter as a signed or an unsigned value.
                    if (srcSize > p.Size && (v < -((Int128)1 << (p.Size * 8 - 1)) || v > ((Int128)1 << (p.Size * 8)) - 1))
                        throw new ArgumentValueException(op, $"{where}: value {v} does not fit in {p.Size * 8} bits");
                    ulong bits = (ulong)(v & ulong.MaxValue);
                    for (int k = 0; k < p.Size; k++) dst[k] = (byte)(bits >> (8 * k));
                    break;
                }
            }
        }
        return buf;

        static string Describe(object a) => a.GetType().Name;
    }
}

/// <summary>A block of emulated device memory: its 64-bit device address and size.</summary>
/// <param name="Address">The device address of the first byte.</param>
/// <param name="Bytes">The size in bytes.</param>
public readonly record struct DeviceBuffer(ulong Address, long Bytes)
{
    /// <summary>The device address <paramref name="byteOffset"/> bytes into the buffer.</summary>
    public ulong At(long byteOffset) => Address + (ulong)byteOffset;

    /// <inheritdoc/>
    public override string ToString() => $"DeviceBuffer(0x{Address:X}, {Bytes} bytes)";
}

/// <summary>The outcome of a launch.</summary>
public sealed class LaunchResult
{
    /// <summary>Instructions executed by all threads (an instruction whose guard is false counts).</summary>
    public long InstructionsExecuted { get; init; }

    /// <summary>Per-instruction trace of the chosen thread (empty unless the launch was traced).</summary>
    public IReadOnlyList<string> Trace { get; init; } = [];

    /// <summary>Wall-clock time of the launch.</summary>
    public TimeSpan Elapsed { get; init; }
}
