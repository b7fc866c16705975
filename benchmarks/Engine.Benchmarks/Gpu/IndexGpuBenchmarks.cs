using System.Globalization;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// The index kernels at typical sizes, timed on the backend call alone (outputs preallocated, no index range check):
/// an embedding lookup (index_select of 4096 rows from a 50,000 × 512 float32 table, the hand-written row copy), its
/// backward (index_add of those rows back into the table), gather along the last dim of 8192 × 1000 float32 and its
/// backward scatter_add (atomics). Bytes are the compulsory traffic: every index read once, every element read or
/// written once, an atomically updated element counted read and written; repeated rows or elements counted once
/// per access (random indices over 50,000 rows repeat rarely; within a 1000-wide row the src row stays in cache).
/// </summary>
public sealed class IndexGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var dev = suite.Backend.Device;
        var g = new Generator(7);
        var b = suite.Backend;

        // Embedding lookup and its backward.
        const long vocab = 50_000, width = 512, rows = 4096;
        var table = Tensor.Randn([vocab, width], DType.Float32, g).To(dev);
        var ids = Tensor.RandInt(0, vocab, [rows], DType.Int64, g).To(dev);
        var picked = Tensor.Empty([rows, width], DType.Float32, dev);
        string shape = string.Create(CultureInfo.InvariantCulture, $"{rows} of {vocab}x{width}");
        double rowBytes = rows * width * 4.0;
        suite.Case("index_select rows (embedding)", shape, () => b.IndexSelect(picked.View("bench"), table.View("bench"), ids.View("bench"), 0),
            bytes: 2 * rowBytes + rows * 8);
        suite.Case("index_add rows (embedding backward)", shape, () => b.IndexAdd(table.View("bench"), ids.View("bench"), picked.View("bench"), 0),
            bytes: 3 * rowBytes + rows * 8);

        // Gather along the last dim and its backward.
        const long n = 8192, k = 1000;
        var src = Tensor.Randn([n, k], DType.Float32, g).To(dev);
        var index = Tensor.RandInt(0, k, [n, k], DType.Int64, g).To(dev);
        var dst = Tensor.Empty([n, k], DType.Float32, dev);
        double elems = n * k;
        suite.Case("gather last dim", $"{n}x{k}", () => b.Gather(dst.View("bench"), src.View("bench"), index.View("bench"), 1),
            bytes: elems * (8 + 4 + 4));
        suite.Case("scatter_add last dim (atomics)", $"{n}x{k}", () => b.ScatterAdd(src.View("bench"), index.View("bench"), dst.View("bench"), 1),
            bytes: elems * (8 + 4 + 4 + 4));
    }
}
