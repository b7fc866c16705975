using Engine.Kernels;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// Average pooling through the hand-written kernels of avg_pool.ptx, on geometries cuDNN cannot map (so a real GPU runs
/// the PTX, not cuDNN): 3×3 stride 2 in ceil mode on [32, 256, 56, 56] float32 (the last window of each dim is partial),
/// and adaptive pooling of [32, 512, 14, 14] to 5×5 (uneven, overlapping windows of 3 and 4). Bytes are the compulsory
/// traffic: forward reads x and writes y, backward reads dy and writes dx (each input read or written once; windows
/// overlap only through the caches).
/// </summary>
public sealed class AvgPoolGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        ArgumentNullException.ThrowIfNull(suite);
        Case(suite, "avg_pool2d 3x3/2 ceil", 32, 256, 56, i => 2 * i, i => Math.Min(2 * i + 3, 56), 28);
        Case(suite, "adaptive_avg_pool2d ->5x5", 32, 512, 14, i => i * 14 / 5, i => ((i + 1) * 14 + 4) / 5, 5);
    }

    // A square 2-D pooling whose windows [start(i), end(i)) divide by their (clipped) length, as both geometries do.
    private static void Case(GpuSuite suite, string name, int n, int c, int size, Func<int, int> start, Func<int, int> end, int outSize)
    {
        var b = suite.Backend;
        var dev = b.Device;
        int[] s = [.. Enumerable.Range(0, outSize).Select(start)], e = [.. Enumerable.Range(0, outSize).Select(end)];
        int[] div = [.. s.Zip(e, (a, z) => z - a)];
        var g = new PoolGeometry(n * c, [1, size, size], [1, outSize, outSize], [[0], s, s], [[1], e, e], [[1], div, div], [1, 1, 1]);
        var gen = new Generator(7);
        using var xh = Tensor.Randn([n, c, size, size], DType.Float32, gen);
        using var dyh = Tensor.Randn([n, c, outSize, outSize], DType.Float32, gen);
        var x = xh.To(dev);
        var dy = dyh.To(dev);
        var y = Tensor.Zeros([n, c, outSize, outSize], DType.Float32, dev);
        var dx = Tensor.Zeros([n, c, size, size], DType.Float32, dev);
        const string op = "avg_pool_benchmark";
        var xv = x.View(op);
        var yv = y.View(op);
        var dyv = dy.View(op);
        var dxv = dx.View(op);
        double bytes = 4.0 * ((double)n * c * size * size + (double)n * c * outSize * outSize);
        string shape = $"{n}x{c}x{size}x{size} -> {outSize}x{outSize}";
        suite.Case(name + " forward", shape, () => b.AvgPoolForward(g, yv, xv), bytes);
        suite.Case(name + " backward", shape, () => b.AvgPoolBackward(g, dxv, dyv), bytes);
    }
}
