namespace Engine;

/// <summary>Base of every error the engine raises for bad input. <see cref="Op"/> names the operation.</summary>
public class EngineException : Exception
{
    /// <summary>The operation that rejected its input.</summary>
    public string Op { get; }

    /// <summary>Creates the exception; the message is prefixed with the op name.</summary>
    public EngineException(string op, string message) : base($"{op}: {message}") => Op = op;
}

/// <summary>Shapes that do not fit the operation (mismatch, not broadcastable, wrong rank).</summary>
public sealed class ShapeException(string op, string message) : EngineException(op, message);

/// <summary>A dtype the operation does not accept, or operands of different dtypes.</summary>
public sealed class DTypeException(string op, string message) : EngineException(op, message);

/// <summary>Operands on different devices, or a device without a backend.</summary>
public sealed class DeviceException(string op, string message) : EngineException(op, message);

/// <summary>
/// A device allocation that failed even after the caching allocator released its cache and retried: names the request
/// and the device's memory state, so the user can tell a too-large batch from memory held by live tensors.
/// </summary>
public sealed class DeviceOutOfMemoryException(string op, string device, long requested, long allocated, long reserved, long free, long total)
    : EngineException(op, $"out of memory on {device}: requested {requested} bytes; {allocated} bytes allocated by live tensors, " +
        $"{reserved} bytes reserved by the engine (allocated + cached), {free} bytes free of {total} on the device")
{
    /// <summary>Bytes requested.</summary>
    public long Requested { get; } = requested;

    /// <summary>Bytes held by live tensors at the time.</summary>
    public long Allocated { get; } = allocated;

    /// <summary>Bytes the engine held from the device (live plus cached) at the time.</summary>
    public long Reserved { get; } = reserved;

    /// <summary>Bytes the device reported free.</summary>
    public long Free { get; } = free;
}

/// <summary>A dimension or index outside its valid range.</summary>
public sealed class IndexException(string op, string message) : EngineException(op, message);

/// <summary>Misuse of autograd: backward through a freed graph, on a tensor that does not require grad, and so on.</summary>
public sealed class AutogradException(string op, string message) : EngineException(op, message);

/// <summary>An operation on a tensor that was already disposed.</summary>
public sealed class DisposedTensorException(string op, string message) : EngineException(op, message);

/// <summary>A value outside what the operation accepts (a negative count, a bad range).</summary>
public sealed class ArgumentValueException(string op, string message) : EngineException(op, message);
