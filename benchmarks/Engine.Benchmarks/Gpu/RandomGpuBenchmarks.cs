using Engine.Kernels;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// Philox random fills on the GPU (philox.ptx), 2^26 elements: bytes are the writes only (nothing is read), so GB/s
/// against the copy bandwidth shows how close the ten Philox rounds (and, for the normal, f64 ln/cos) get to a
/// store-bound fill.
/// </summary>
public sealed class RandomGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        var gpu = suite.Backend;
        const long n = 1L << 26;
        foreach (var (kind, dtype, a, b) in new[]
        {
            (RandomKind.Uniform, DType.Float32, 0.0, 1.0), (RandomKind.Normal, DType.Float32, 0.0, 1.0),
            (RandomKind.Normal, DType.Float64, 0.0, 1.0), (RandomKind.Integer, DType.Int64, 0.0, 1000.0),
            (RandomKind.Bernoulli, DType.Float32, 0.5, 0.0),
        })
        {
            var t = Tensor.Zeros([n], dtype, gpu.Device);
            ulong offset = 0;
            suite.Case($"random {kind} {dtype.Name()}", $"{n}", () => gpu.FillRandom(t.View("b"), kind, 42, offset += (ulong)n, a, b),
                n * dtype.ElementSize());
        }
    }
}
