using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Kernels;

namespace Engine.Benchmarks;

/// <summary>Square float32 C = A·B through the public <see cref="Tensor.MatMul"/> (blocked FMA GEMM on the CPU).</summary>
[Config(typeof(ColumnsConfig))]
public class MatMulBenchmarks
{
    private sealed class ColumnsConfig : ManualConfig
    {
        public ColumnsConfig() => AddColumn(ThroughputColumn.GemmGflops);
    }

    private Tensor? _a, _b;

    [Params(256, 512, 1024)]
    public int N;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(20240611UL + (ulong)N);
        _a = Tensor.Randn([N, N], DType.Float32, g);
        _b = Tensor.Randn([N, N], DType.Float32, g);
        Verify(_a, _b, N);
    }

    [Benchmark]
    public void MatMul()
    {
        using var c = _a!.MatMul(_b!);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a?.Dispose();
        _b?.Dispose();
    }

    // Guards against timing a broken kernel or degenerate inputs: the inputs must not be all zeros and a few
    // entries of the product must match a double-precision dot product.
    private static void Verify(Tensor a, Tensor b, int n)
    {
        float[] av = a.ToArray<float>(), bv = b.ToArray<float>();
        if (av.All(v => v == 0) || bv.All(v => v == 0)) throw new InvalidOperationException("random inputs are all zero");
        using var c = a.MatMul(b);
        float[] cv = c.ToArray<float>();
        foreach (var (i, j) in new[] { (0, 0), (n - 1, n - 1), (n / 2, n / 3), (n / 7, n - 2) })
        {
            double want = 0;
            for (int p = 0; p < n; p++) want += (double)av[i * n + p] * bv[p * n + j];
            double got = cv[i * n + j];
            if (Math.Abs(got - want) > 1e-3 * Math.Sqrt(n) * 4)
                throw new InvalidOperationException($"matmul check failed at ({i},{j}): got {got}, expected {want}");
        }
    }
}
