using BenchmarkDotNet.Attributes;
using Engine.Kernels;
using Engine.Kernels.Gpu;
using Engine.Kernels.Ptx;

namespace Engine.Benchmarks;

/// <summary>
/// The host-side cost of one GPU op through the public tensor API, without a GPU: the GPU backend over a runtime whose
/// launches and copies do nothing (device memory is counted, not touched). What remains is the engine's own work per op
/// (validation, output allocation from the caching allocator, dimension coalescing, kernel lookup, parameter packing,
/// autograd bookkeeping, disposal): the part of issue 5's launch-overhead budget (under 10 µs per op) the driver's
/// cuLaunchKernel (typically 2–4 µs) does not take. Registered as device cuda:15, which a real machine does not have.
/// </summary>
public class GpuHostOverheadBenchmarks
{
    private sealed class NullRuntime : IGpuRuntime
    {
        private long _next = 0x1000_0000, _live;
        public Device Device { get; } = Device.Cuda(15);
        public long LiveBytes => _live;
        public ulong Allocate(long bytes)
        {
            _live += bytes;
            return (ulong)Interlocked.Add(ref _next, (bytes + 511) / 512 * 512 + 512);
        }
        public ulong TryAllocate(long bytes) => Allocate(bytes);
        public (long Free, long Total) MemoryInfo() => (1L << 40, 1L << 40);
        public void Free(ulong address) { }
        public void CopyHostToDevice(ulong dst, ReadOnlySpan<byte> src) { }
        public void CopyDeviceToHost(Span<byte> dst, ulong src) => dst.Clear();
        public void CopyDeviceToDevice(ulong dst, ulong src, long bytes) { }
        public void Memset(ulong dst, byte value, long bytes) { }
        public GpuModule LoadModule(string name, string ptx) => new NullModule(name);
        public void Launch(GpuFunction function, Dim3 grid, Dim3 block, int sharedBytes, ReadOnlySpan<byte> parameters) { }
        public void Synchronize() { }
        public GpuEvent CreateEvent() => new NullEvent();
        public void RecordEvent(GpuEvent e) { }
        public float ElapsedMilliseconds(GpuEvent start, GpuEvent end) => 0;
    }

    private sealed class NullModule(string name) : GpuModule(name)
    {
        public override GpuFunction GetFunction(string kernel) => new NullFunction(kernel);
    }

    private sealed class NullFunction(string name) : GpuFunction(name);

    private sealed class NullEvent : GpuEvent
    {
        protected override void Release() { }
    }

    private Tensor? _x, _y, _m;

    [GlobalSetup]
    public void Setup()
    {
        Backends.Register(new GpuBackend(new NullRuntime()));
        var dev = Device.Cuda(15);
        _x = Tensor.Empty([1], DType.Float32, dev);
        _y = Tensor.Empty([1], DType.Float32, dev);
        _m = Tensor.Empty([64, 64], DType.Float32, dev);
    }

    /// <summary>x + y on one element: allocate the result, launch, dispose.</summary>
    [Benchmark]
    public void TinyAdd()
    {
        using var r = _x!.Add(_y!);
    }

    /// <summary>A broadcast multiply on a transposed operand (rank-2 kernel after coalescing).</summary>
    [Benchmark]
    public void StridedMul()
    {
        using var r = _m!.T.Mul(_m!.Narrow(0, 0, 1));
    }

    /// <summary>A sum over the last dim (reduction planning and launch).</summary>
    [Benchmark]
    public void SumLastDim()
    {
        using var r = _m!.Sum(1);
    }
}
