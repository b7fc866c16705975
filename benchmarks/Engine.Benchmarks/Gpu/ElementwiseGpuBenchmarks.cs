namespace Engine.Benchmarks.Gpu;

/// <summary>
/// Issue 5's elementwise figures: a 512 MB float32 add (each operand 512 MB: 1.5 GiB moved per call, reported against
/// the device-to-device copy bandwidth measured in the same run; target 85%), and the per-op cost of a tiny add
/// (launch overhead, target under 10 µs), plus a strided (transposed) add and a broadcast add to show what index math costs.
/// </summary>
public sealed class ElementwiseGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        var dev = suite.Backend.Device;
        var g = new Generator(7);
        const long n = 128L << 20;   // 512 MB of float32
        var a = Tensor.Rand([n], DType.Float32, g).To(dev);
        var b = Tensor.Rand([n], DType.Float32, g).To(dev);
        suite.Case("add", "134,217,728 f32", () => { using var r = a.Add(b); }, 3.0 * n * 4, flops: n, targetMs: 3.0 * n * 4 / (0.85 * suite.CopyGBs * 1e9) * 1e3);
        var m = a.Reshape([8192, 16384]);
        var mt = b.Reshape([16384, 8192]).T;
        suite.Case("add, one operand transposed", "8192x16384 f32", () => { using var r = m.Add(mt); }, 3.0 * n * 4, flops: n);
        var row = Tensor.Rand([16384], DType.Float32, g).To(dev);
        suite.Case("add, broadcast row", "8192x16384 + 16384", () => { using var r = m.Add(row); }, 2.0 * n * 4, flops: n);
        var x = Tensor.Rand([1], DType.Float32, g).To(dev);
        suite.HostCase("tiny add", "1 f32", () => { using var r = x.Add(x); }, targetMs: 0.010);
    }
}
