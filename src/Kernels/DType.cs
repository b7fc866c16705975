namespace Engine;

/// <summary>Element types a tensor can hold. Float16 and BFloat16 are reserved for the GPU backend.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float, the default.</summary>
    Float32,
    /// <summary>64-bit IEEE float (gradient checks).</summary>
    Float64,
    /// <summary>16-bit IEEE float (reserved for the GPU backend).</summary>
    Float16,
    /// <summary>bfloat16 (reserved for the GPU backend).</summary>
    BFloat16,
    /// <summary>64-bit signed integer (labels, indices).</summary>
    Int64,
    /// <summary>32-bit signed integer.</summary>
    Int32,
    /// <summary>8-bit unsigned integer (images).</summary>
    UInt8,
    /// <summary>Boolean stored as one byte (0 or 1).</summary>
    Bool,
}

/// <summary>Facts about each <see cref="DType"/>.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this DType t) => t switch
    {
        DType.Float32 or DType.Int32 => 4,
        DType.Float64 or DType.Int64 => 8,
        DType.Float16 or DType.BFloat16 => 2,
        _ => 1,
    };

    /// <summary>True for the floating-point types.</summary>
    public static bool IsFloatingPoint(this DType t) => t is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16;

    /// <summary>The PyTorch-style name, e.g. <c>float32</c>.</summary>
    public static string Name(this DType t) => t switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Float16 => "float16",
        DType.BFloat16 => "bfloat16",
        DType.Int64 => "int64",
        DType.Int32 => "int32",
        DType.UInt8 => "uint8",
        _ => "bool",
    };
}
