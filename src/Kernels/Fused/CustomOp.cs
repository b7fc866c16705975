using Engine.Kernels.Cpu;
using Engine.Kernels.Gpu;
using Engine.Kernels.Meta;

namespace Engine.Kernels.Fused;

/// <summary>
/// A fused, recipe-level op kept outside the core <see cref="IBackend"/> contract (candle's <c>CustomOp</c>: one
/// implementation per backend in the op itself). <see cref="IBackend"/> stays the primitives every backend must have;
/// an op such as CutMix, distillation or a fused optimizer step is a <see cref="CustomOp{TArgs}"/> with a CPU and a
/// GPU implementation, run on a tensor's backend with <see cref="Run"/>; its backward, when it has one, is another
/// such op (recorded by the tensor layer). On the Meta (shape-only) backend an op does nothing. Any other backend the op has no implementation for raises
/// <see cref="DeviceException"/>.
/// </summary>
/// <typeparam name="TArgs">The op's operands and parameters (a record).</typeparam>
public abstract class CustomOp<TArgs>
{
    /// <summary>The op's name, as errors report it.</summary>
    public abstract string Name { get; }

    /// <summary>The CPU implementation.</summary>
    protected abstract void Cpu(CpuBackend cpu, in TArgs args);

    /// <summary>The GPU implementation (a real GPU or the emulator).</summary>
    protected abstract void Gpu(GpuBackend gpu, in TArgs args);

    /// <summary>Runs the op on <paramref name="backend"/>.</summary>
    public void Run(IBackend backend, in TArgs args)
    {
        switch (backend)
        {
            case CpuBackend cpu: Cpu(cpu, args); break;
            case GpuBackend gpu: Gpu(gpu, args); break;
            case MetaBackend: break;   // shape-only device: no data to compute, the tensor layer already made the outputs
            default: throw new DeviceException(Name, $"{Name} has no implementation for {backend.Device}");
        }
    }
}
