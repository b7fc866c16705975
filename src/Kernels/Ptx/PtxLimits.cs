namespace Engine.Kernels.Ptx;

/// <summary>
/// Resource limits <see cref="PtxModule.Load(string, PtxLimits)"/> enforces, so that hostile or broken PTX text is
/// rejected with a <see cref="PtxLimitException"/> instead of exhausting the host's memory, time or stack. The
/// defaults follow real hardware where it has a limit (shared and local memory, alignment) and otherwise leave a
/// wide margin over every kernel the engine generates or ships (at most about 200 registers, 700 decoded
/// instructions and 90 KB of text per module when these defaults were chosen).
/// </summary>
public sealed record PtxLimits
{
    /// <summary>The limits <see cref="PtxModule.Load(string)"/> uses.</summary>
    public static PtxLimits Default { get; } = new();

    /// <summary>Most characters of PTX text in one module (16 Mi).</summary>
    public int MaxModuleChars { get; init; } = 16 * 1024 * 1024;

    /// <summary>Deepest nesting of braces and parentheses: initialisers, vector operands and <c>{ }</c> scopes (64).</summary>
    public int MaxNestingDepth { get; init; } = 64;

    /// <summary>
    /// Most registers declared by one kernel and the functions it calls (16384). These are PTX virtual registers:
    /// ptxas maps them onto at most 255 hardware registers per thread, spilling the rest; the emulator keeps each in
    /// a 64-bit slot per thread.
    /// </summary>
    public int MaxRegistersPerKernel { get; init; } = 16 * 1024;

    /// <summary>Most decoded instructions in one kernel, counting the functions it calls (262144).</summary>
    public int MaxInstructionsPerKernel { get; init; } = 256 * 1024;

    /// <summary>
    /// Most statements (instructions, declarations, labels) decoded for one module, summed over its kernels, each
    /// counting the functions it calls (4 Mi). A kernel holds its own copy of its callees, so this bounds the work and
    /// memory of loading where the text's size alone would not (many kernels calling one large function).
    /// </summary>
    public long MaxStatementsPerModule { get; init; } = 4 * 1024 * 1024;

    /// <summary>Most registers declared in one module, summed over its kernels, each counting the functions it calls (256 Ki).</summary>
    public long MaxRegistersPerModule { get; init; } = 256 * 1024;

    /// <summary>Most statically declared shared memory per block (163 KiB, sm_80's maximum).</summary>
    public long MaxStaticSharedBytes { get; init; } = 163 * 1024;

    /// <summary>Most local memory per thread, including call-parameter scratch (512 KiB, the hardware limit).</summary>
    public long MaxLocalBytesPerThread { get; init; } = 512 * 1024;

    /// <summary>Most bytes of .global and .const variables in one module (64 MiB; each device holds its own copy).</summary>
    public long MaxGlobalBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest <c>.align</c> value (64 KiB).</summary>
    public int MaxAlignment { get; init; } = 64 * 1024;

    /// <summary>Throws <see cref="ArgumentValueException"/> when a limit is not positive or beyond what the emulator can hold.</summary>
    internal void Validate()
    {
        const string op = "PtxModule.Load";
        if (MaxModuleChars < 1) throw new ArgumentValueException(op, $"PtxLimits.MaxModuleChars {MaxModuleChars} must be positive");
        if (MaxNestingDepth < 1 || MaxNestingDepth > 10_000) throw new ArgumentValueException(op, $"PtxLimits.MaxNestingDepth {MaxNestingDepth} must be 1 to 10000");
        if (MaxRegistersPerKernel < 1 || MaxRegistersPerKernel > 1 << 24) throw new ArgumentValueException(op, $"PtxLimits.MaxRegistersPerKernel {MaxRegistersPerKernel} must be 1 to {1 << 24}");
        if (MaxInstructionsPerKernel < 1) throw new ArgumentValueException(op, $"PtxLimits.MaxInstructionsPerKernel {MaxInstructionsPerKernel} must be positive");
        if (MaxStatementsPerModule < 1) throw new ArgumentValueException(op, $"PtxLimits.MaxStatementsPerModule {MaxStatementsPerModule} must be positive");
        if (MaxRegistersPerModule < 1) throw new ArgumentValueException(op, $"PtxLimits.MaxRegistersPerModule {MaxRegistersPerModule} must be positive");
        if (MaxStaticSharedBytes < 0 || MaxStaticSharedBytes > int.MaxValue) throw new ArgumentValueException(op, $"PtxLimits.MaxStaticSharedBytes {MaxStaticSharedBytes} must be 0 to {int.MaxValue}");
        if (MaxLocalBytesPerThread < 0 || MaxLocalBytesPerThread > 1 << 30) throw new ArgumentValueException(op, $"PtxLimits.MaxLocalBytesPerThread {MaxLocalBytesPerThread} must be 0 to {1 << 30}");
        if (MaxGlobalBytes < 0 || MaxGlobalBytes > Array.MaxLength) throw new ArgumentValueException(op, $"PtxLimits.MaxGlobalBytes {MaxGlobalBytes} must be 0 to {Array.MaxLength}");
        if (MaxAlignment < 1 || MaxAlignment > 1 << 20) throw new ArgumentValueException(op, $"PtxLimits.MaxAlignment {MaxAlignment} must be 1 to {1 << 20}");
    }
}
