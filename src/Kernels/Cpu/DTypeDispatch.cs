using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// A CPU kernel generic over its element type (candle's <c>Map1</c>/<c>Map2</c>): a struct holding the operands, whose
/// <see cref="Run{T}"/> calls the generic kernel. <see cref="DTypeDispatch"/> picks <c>T</c> from the dtype, once for
/// every op, so a new op is one such struct and one dispatch call, not another switch over dtypes.
/// </summary>
internal interface INumericKernel
{
    /// <summary>Runs the kernel on elements of type <typeparamref name="T"/>.</summary>
    void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T>;
}

/// <summary>A CPU kernel defined for floating-point element types only (see <see cref="INumericKernel"/>).</summary>
internal interface IFloatKernel
{
    /// <summary>Runs the kernel on elements of type <typeparamref name="T"/> (float or double).</summary>
    void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T>;
}

/// <summary>The one place the CPU backend turns a dtype into an element type.</summary>
internal static class DTypeDispatch
{
    /// <summary>The error for a dtype an op lacks on the CPU.</summary>
    public static DTypeException Unsupported(string op, DType t) => new(op, $"dtype {t.Name()} is not supported on the CPU backend");

    /// <summary>float32, float64, int64, int32, uint8, and bool (as bytes) when <paramref name="boolAsByte"/>.</summary>
    public static void Numeric<K>(DType t, string op, K kernel, bool boolAsByte = true) where K : struct, INumericKernel
    {
        switch (t)
        {
            case DType.Float32: kernel.Run<float>(); break;
            case DType.Float64: kernel.Run<double>(); break;
            case DType.Int64: kernel.Run<long>(); break;
            case DType.Int32: kernel.Run<int>(); break;
            case DType.UInt8: kernel.Run<byte>(); break;
            case DType.Bool when boolAsByte: kernel.Run<byte>(); break;
            default: throw Unsupported(op, t);
        }
    }

    /// <summary>float32 and float64.</summary>
    public static void Float<K>(DType t, string op, K kernel) where K : struct, IFloatKernel
    {
        switch (t)
        {
            case DType.Float32: kernel.RunFloat<float>(); break;
            case DType.Float64: kernel.RunFloat<double>(); break;
            default: throw Unsupported(op, t);
        }
    }

    /// <summary>Floats through <see cref="IFloatKernel.RunFloat{T}"/>, the other numeric dtypes through <see cref="INumericKernel.Run{T}"/>.</summary>
    public static void FloatOrNumeric<K>(DType t, string op, K kernel, bool boolAsByte) where K : struct, IFloatKernel, INumericKernel
    {
        if (t.IsFloatingPoint()) Float(t, op, kernel);
        else Numeric(t, op, kernel, boolAsByte);
    }

    /// <summary>By element size only (8, 4, 2 or 1 bytes): for kernels that move bits whatever the dtype.</summary>
    public static void Bits<K>(DType t, K kernel) where K : struct, INumericKernel
    {
        switch (t.ElementSize())
        {
            case 8: kernel.Run<long>(); break;
            case 4: kernel.Run<int>(); break;
            case 2: kernel.Run<short>(); break;
            default: kernel.Run<byte>(); break;
        }
    }
}
