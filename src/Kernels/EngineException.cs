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

/// <summary>A dimension or index outside its valid range.</summary>
public sealed class IndexException(string op, string message) : EngineException(op, message);

/// <summary>Misuse of autograd: backward through a freed graph, on a tensor that does not require grad, and so on.</summary>
public sealed class AutogradException(string op, string message) : EngineException(op, message);

/// <summary>An operation on a tensor that was already disposed.</summary>
public sealed class DisposedTensorException(string op, string message) : EngineException(op, message);

/// <summary>A value outside what the operation accepts (a negative count, a bad range).</summary>
public sealed class ArgumentValueException(string op, string message) : EngineException(op, message);
