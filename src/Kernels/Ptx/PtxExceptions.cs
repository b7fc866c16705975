namespace Engine.Kernels.Ptx;

/// <summary>
/// PTX text the emulator cannot load: a syntax error, an undeclared name, a type mismatch, or an instruction,
/// modifier or directive outside the supported subset. Names the line, the column and the instruction.
/// </summary>
public class PtxException : EngineException
{
    /// <summary>1-based line of the offending text.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending text.</summary>
    public int Column { get; }

    /// <summary>The instruction or directive being read (for example <c>tex.1d.v4.f32.s32</c>); empty when none applies.</summary>
    public string Instruction { get; }

    /// <summary>
    /// When the text made the emulator itself fail (a bug in the emulator, not in the text), that failure; null for
    /// every ordinary load error.
    /// </summary>
    public Exception? InternalError { get; }

    /// <summary>Creates the exception; the message names line, column and instruction.</summary>
    public PtxException(int line, int column, string instruction, string message)
        : this(line, column, instruction, message, null)
    {
    }

    /// <summary>
    /// Creates the exception for <paramref name="internalError"/>: a failure of the emulator itself while loading,
    /// reported as a load error rather than escaping as another exception type (the fuzz tests check it never happens).
    /// </summary>
    public PtxException(int line, int column, string instruction, string message, Exception? internalError)
        : base("PtxModule.Load", Format(line, column, instruction, message))
    {
        InternalError = internalError;
        Line = line;
        Column = column;
        Instruction = instruction;
    }

    private static string Format(int line, int column, string instruction, string message) =>
        instruction.Length == 0 ? $"line {line}, column {column}: {message}" : $"line {line}, column {column}, '{instruction}': {message}";
}

/// <summary>
/// PTX text that exceeds one of the <see cref="PtxLimits"/> (registers, instructions, memory, nesting, size):
/// names the limit, its value and where it was exceeded.
/// </summary>
public sealed class PtxLimitException : PtxException
{
    /// <summary>The <see cref="PtxLimits"/> property exceeded, e.g. <c>MaxRegistersPerKernel</c>.</summary>
    public string Limit { get; }

    /// <summary>The limit's value.</summary>
    public long LimitValue { get; }

    /// <summary>Creates the exception; the message names the limit and its value.</summary>
    public PtxLimitException(int line, int column, string instruction, string limit, long limitValue, string message)
        : base(line, column, instruction, $"{message}; the limit is PtxLimits.{limit} = {limitValue}")
    {
        Limit = limit;
        LimitValue = limitValue;
    }
}

/// <summary>What a <see cref="PtxRuntimeException"/> found.</summary>
public enum PtxDiagnostic
{
    /// <summary>A global (or generic) access outside every live allocation, or a store to constant memory.</summary>
    GlobalOutOfBounds,
    /// <summary>A shared-memory access outside the block's shared memory.</summary>
    SharedOutOfBounds,
    /// <summary>A local-memory or parameter access outside its space.</summary>
    LocalOutOfBounds,
    /// <summary>An access whose address is not a multiple of its size.</summary>
    Misaligned,
    /// <summary>A barrier not reached by every non-exited thread of the block (threads wait at different barriers).</summary>
    BarrierDivergence,
    /// <summary>A read of shared memory that no thread of the block has written since the launch.</summary>
    UninitializedSharedRead,
    /// <summary>Two threads touched the same shared byte between two barriers, at least one writing, not both atomically.</summary>
    SharedRace,
    /// <summary>A warp-synchronous instruction (shfl.sync, vote.sync) whose member mask cannot be satisfied.</summary>
    WarpSync,
    /// <summary>A thread executed more instructions than <see cref="EmulatedDevice.InstructionLimitPerThread"/> (an endless loop?).</summary>
    InstructionLimit,
    /// <summary>A call nested deeper than the emulator's call stack.</summary>
    CallDepth,
}

/// <summary>
/// A check that failed while a kernel ran on the <see cref="EmulatedDevice"/>: names the kernel, the PTX line,
/// the block and the thread.
/// </summary>
public sealed class PtxRuntimeException : EngineException
{
    /// <summary>What was found.</summary>
    public PtxDiagnostic Kind { get; }

    /// <summary>The kernel (.entry) being run.</summary>
    public string Kernel { get; }

    /// <summary>1-based PTX line of the instruction that failed.</summary>
    public int Line { get; }

    /// <summary>The block (%ctaid) of the failing thread.</summary>
    public Dim3 Block { get; }

    /// <summary>The failing thread (%tid) within its block.</summary>
    public Dim3 Thread { get; }

    /// <summary>The check's own description, without the location prefix.</summary>
    public string Detail { get; }

    /// <summary>Creates the diagnostic.</summary>
    public PtxRuntimeException(PtxDiagnostic kind, string kernel, int line, Dim3 block, Dim3 thread, string detail)
        : base("EmulatedDevice.Launch", $"{kind} in kernel '{kernel}', PTX line {line}, block {block}, thread {thread}: {detail}")
    {
        Kind = kind;
        Kernel = kernel;
        Line = line;
        Block = block;
        Thread = thread;
        Detail = detail;
    }
}

/// <summary>Grid or block dimensions (x, y, z), as CUDA's dim3. Converts from an int or a tuple.</summary>
public readonly record struct Dim3(int X, int Y = 1, int Z = 1)
{
    /// <summary>X · Y · Z.</summary>
    public long Count => (long)X * Y * Z;

    /// <summary>(x, 1, 1).</summary>
    public static implicit operator Dim3(int x) => new(x);

    /// <summary>(x, y, 1).</summary>
    public static implicit operator Dim3((int X, int Y) d) => new(d.X, d.Y);

    /// <summary>(x, y, z).</summary>
    public static implicit operator Dim3((int X, int Y, int Z) d) => new(d.X, d.Y, d.Z);

    /// <inheritdoc/>
    public override string ToString() => $"({X},{Y},{Z})";
}
