using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Kernels;

namespace Engine.Benchmarks;

/// <summary>
/// Memory-bound float32 work on N-element operands (64 MB each at the default N, well beyond the caches),
/// against plain memory copies of the same size as a bandwidth baseline. GB/s counts bytes read plus written.
/// </summary>
[Config(typeof(ColumnsConfig))]
public unsafe class ElementwiseBenchmarks
{
    private sealed class ColumnsConfig : ManualConfig
    {
        public ColumnsConfig() => AddColumn(ThroughputColumn.Bandwidth);
    }

    private Tensor? _x, _y, _out, _acc;
    private float* _src, _dst;

    [Params(16 * 1024 * 1024)]
    public int N;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(7);
        _x = Tensor.Randn([N], DType.Float32, g);
        _y = Tensor.Randn([N], DType.Float32, g);
        _out = Tensor.Randn([N], DType.Float32, g); // written once here so its pages are mapped before timing
        _acc = _x.Clone();
        _src = (float*)NativeMemory.AlignedAlloc((nuint)N * sizeof(float), 64);
        _dst = (float*)NativeMemory.AlignedAlloc((nuint)N * sizeof(float), 64);
        var x = _x.ToArray<float>();
        if (x.All(v => v == 0)) throw new InvalidOperationException("random inputs are all zero");
        x.AsSpan().CopyTo(new Span<float>(_src, N));
        new Span<float>(_dst, N).Clear();
        using var sum = _x.Add(_y);
        float[] s = sum.ToArray<float>(), y = _y.ToArray<float>();
        for (int i = 0; i < N; i += 9973)
            if (s[i] != x[i] + y[i]) throw new InvalidOperationException($"add check failed at {i}");
    }

    /// <summary>Public API: allocates a fresh 64 MB result each call (allocation and page faults included).</summary>
    [Benchmark, BytesPerElement(3 * sizeof(float))]
    public void Add()
    {
        using var r = _x!.Add(_y!);
    }

    /// <summary>The add kernel alone, into a preallocated, already-mapped output.</summary>
    [Benchmark, BytesPerElement(3 * sizeof(float))]
    public void AddIntoPreallocated() =>
        _x!.Backend.Binary(BinaryOp.Add, _out!.View("add"), _x.View("add"), _y!.View("add"), 0, 0);

    /// <summary>acc += y in place (reads acc and y, writes acc).</summary>
    [Benchmark, BytesPerElement(3 * sizeof(float))]
    public void AddInPlace() => _acc!.AddInPlace(_y!);

    /// <summary>Tensor copy through the public API (allocates its result).</summary>
    [Benchmark, BytesPerElement(2 * sizeof(float))]
    public void Clone()
    {
        using var c = _x!.Clone();
    }

    /// <summary>Baseline: one thread, <see cref="Span{T}.CopyTo"/> between two native buffers.</summary>
    [Benchmark, BytesPerElement(2 * sizeof(float))]
    public void CopySpan() => new Span<float>(_src, N).CopyTo(new Span<float>(_dst, N));

    /// <summary>Baseline: one thread, a plain 256-bit load/store loop (ordinary stores, like the add kernel's).</summary>
    [Benchmark, BytesPerElement(2 * sizeof(float))]
    public void CopyVector256()
    {
        float* s = _src, d = _dst;
        long n = N, i = 0;
        for (; i <= n - 32; i += 32)
        {
            Vector256.Store(Vector256.Load(s + i), d + i);
            Vector256.Store(Vector256.Load(s + i + 8), d + i + 8);
            Vector256.Store(Vector256.Load(s + i + 16), d + i + 16);
            Vector256.Store(Vector256.Load(s + i + 24), d + i + 24);
        }
        for (; i < n; i++) d[i] = s[i];
    }

    /// <summary>Baseline: the same copy split over all cores, the most this machine's memory gives a copy.</summary>
    [Benchmark, BytesPerElement(2 * sizeof(float))]
    public void CopySpanAllCores()
    {
        int workers = Environment.ProcessorCount;
        long per = ((long)N + workers - 1) / workers;
        nint src = (nint)_src, dst = (nint)_dst;
        int n = N;
        Parallel.For(0, workers, w =>
        {
            long b = w * per, e = Math.Min(n, b + per);
            if (b < e) new Span<float>((float*)src + b, (int)(e - b)).CopyTo(new Span<float>((float*)dst + b, (int)(e - b)));
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x?.Dispose(); _y?.Dispose(); _out?.Dispose(); _acc?.Dispose();
        NativeMemory.AlignedFree(_src); _src = null;
        NativeMemory.AlignedFree(_dst); _dst = null;
    }
}
