using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Engine.Benchmarks;

/// <summary>
/// The machine's attainable float32 FMA rate, as a ceiling for the GEMM figures: each thread runs ten
/// independent chains of 256-bit FMAs on registers (no memory traffic), enough to cover two FMA pipes with
/// a 4-cycle latency. Threads = 1 is one core's rate; Threads = 2 shows whether a second core adds to it.
/// </summary>
[Config(typeof(ColumnsConfig))]
public class FmaPeakBenchmarks
{
    /// <summary>Loop trips per thread per operation.</summary>
    public const int Iterations = 1 << 20;

    /// <summary>Flops per loop trip: 10 chains × 8 lanes × 2 (multiply and add).</summary>
    public const int FlopsPerIteration = 10 * 8 * 2;

    private sealed class ColumnsConfig : ManualConfig
    {
        public ColumnsConfig() => AddColumn(new ThroughputColumn("GFLOP/s",
            "Threads * Iterations * 160 flops / median time (10^9 per second)",
            c => c.Parameters.Items.FirstOrDefault(p => p.Name == nameof(Threads))?.Value is int t
                ? (double)t * Iterations * FlopsPerIteration : null));
    }

    private float _sink;

    [Params(1, 2)]
    public int Threads;

    [GlobalSetup]
    public void Setup()
    {
        if (!Fma.IsSupported) throw new PlatformNotSupportedException("this benchmark needs FMA3");
    }

    [Benchmark]
    public void Fma256()
    {
        if (Threads == 1) { _sink += Chains(Iterations); return; }
        var partial = new float[Threads];
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t => partial[t] = Chains(Iterations));
        _sink += partial.Sum();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains(int iterations)
    {
        // x ← x·m + c converges to c / (1 − m) = 0.1: no overflow, no denormals.
        var m = Vector256.Create(0.999999f);
        var c = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = Vector256.Create(2f), a2 = Vector256.Create(3f), a3 = Vector256.Create(4f),
            a4 = Vector256.Create(5f), a5 = Vector256.Create(6f), a6 = Vector256.Create(7f), a7 = Vector256.Create(8f),
            a8 = Vector256.Create(9f), a9 = Vector256.Create(10f);
        for (int i = 0; i < iterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c);
            a2 = Fma.MultiplyAdd(a2, m, c); a3 = Fma.MultiplyAdd(a3, m, c);
            a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c);
            a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c);
            a8 = Fma.MultiplyAdd(a8, m, c); a9 = Fma.MultiplyAdd(a9, m, c);
        }
        var s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + (a8 + a9);
        return Vector256.Sum(s);
    }
}
