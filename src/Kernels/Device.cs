namespace Engine;

/// <summary>The kind of device a tensor lives on.</summary>
public enum DeviceType
{
    /// <summary>Host memory, CPU kernels.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU (arrives with the CUDA backend).</summary>
    Cuda,
    /// <summary>The PTX emulator: host memory, GPU kernels interpreted on the CPU.</summary>
    Emulated,
    /// <summary>Shapes only: no memory, kernels do nothing (counting a model's cost without running it).</summary>
    Meta,
}

/// <summary>Where a tensor's storage lives. Part of every tensor; ops require all operands on one device.</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    /// <summary>The host CPU.</summary>
    public static Device Cpu => new(DeviceType.Cpu);

    /// <summary>CUDA device number <paramref name="index"/>.</summary>
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    /// <summary>The emulated GPU (PTX interpreter).</summary>
    public static Device Emulated => new(DeviceType.Emulated);

    /// <summary>The shape-only device (no memory; kernels do nothing), like PyTorch's "meta".</summary>
    public static Device Meta => new(DeviceType.Meta);

    /// <inheritdoc/>
    public override string ToString() => Type switch
    {
        DeviceType.Meta => "meta",
        DeviceType.Cpu => "cpu",
        DeviceType.Cuda => $"cuda:{Index}",
        _ => "emulated",
    };
}
