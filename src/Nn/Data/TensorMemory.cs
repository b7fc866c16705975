using Engine.Kernels.Cpu;

namespace Engine.Nn.Data;

/// <summary>Direct access to the host memory of contiguous CPU tensors, for the data pipeline's copy loops.</summary>
internal static class TensorMemory
{
    /// <summary>The elements of a contiguous float32 CPU tensor as a span (valid while the tensor lives).</summary>
    public static unsafe Span<float> Floats(Tensor t, string op)
    {
        if (t.DType != DType.Float32 || !t.IsContiguous || t.Device != Device.Cpu)
            throw new DTypeException(op, $"expected a contiguous float32 CPU tensor, got {t.Describe()}");
        var storage = (CpuStorage)t.StorageOf(op);
        return new Span<float>((float*)storage.Pointer + t.StorageOffset, checked((int)t.NumEl));
    }

    /// <summary>A new, uninitialised contiguous float32 CPU tensor.</summary>
    public static Tensor EmptyFloat(long[] shape, string op) => Tensor.Empty(shape, DType.Float32, Device.Cpu, op: op);
}
