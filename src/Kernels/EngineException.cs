namespace Engine;

/// <summary>Base of every error the engine raises for bad input. <see cref="Op"/> names the operation.</summary>
public class EngineException : Exception
{
    /// <summary>The operation that rejected its input.</summary>
    public string Op { get; }

    /// <summary>Creates the exception; the message is prefixed with the op name.</summary>
    public EngineException(string op, string message) : base($"{op}: {message}") => Op = op;

    /// <summary>Creates the exception wrapping the error that caused it.</summary>
    public EngineException(string op, string message, Exception? inner) : base($"{op}: {message}", inner) => Op = op;
}

/// <summary>Shapes that do not fit the operation (mismatch, not broadcastable, wrong rank).</summary>
public sealed class ShapeException(string op, string message) : EngineException(op, message);

/// <summary>A dtype the operation does not accept, or operands of different dtypes.</summary>
public sealed class DTypeException(string op, string message) : EngineException(op, message);

/// <summary>Operands on different devices, or a device without a backend.</summary>
public sealed class DeviceException(string op, string message) : EngineException(op, message);

/// <summary>
/// An allocation that failed even after the caching allocator released its cache and retried, on a GPU or on the CPU
/// (device "cpu": host memory, including a request larger than the machine's memory): names the request and the
/// device's memory state, so the user can tell a too-large batch from memory held by live tensors.
/// </summary>
public sealed class DeviceOutOfMemoryException(string op, string device, long requested, long allocated, long reserved, long free, long total,
    Exception? inner = null)
    : EngineException(op, $"out of memory on {device}: requested {requested} bytes; {allocated} bytes allocated by live tensors, " +
        $"{reserved} bytes reserved by the engine (allocated + cached), {free} bytes free of {total} on the device", inner)
{
    /// <summary>The device, as <see cref="Engine.Device"/> prints it (<c>cpu</c>, <c>cuda:0</c>).</summary>
    public string Device { get; } = device;

    /// <summary>Bytes of memory the device has in all.</summary>
    public long Total { get; } = total;

    /// <summary>The same failure reported by <paramref name="op"/> (the tensor op that asked for the memory).</summary>
    public DeviceOutOfMemoryException For(string op) => new(op, Device, Requested, Allocated, Reserved, Free, Total, this);

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
