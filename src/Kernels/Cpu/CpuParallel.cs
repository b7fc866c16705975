namespace Engine.Kernels.Cpu;

/// <summary>
/// Splits a loop over items into one contiguous chunk per core, and runs it inline when one core is configured or the
/// work is too small to pay for a hand-off: a Parallel.For per item costs a task per chunk and, on a busy machine, a
/// wait for the slowest thread, which dominated small training ops (batch norm on 64×64×8×8 took 30× PyTorch's time).
/// </summary>
internal static class CpuParallel
{
    /// <summary>Below this many elements of work in total, a loop runs on the calling thread.</summary>
    public const long MinParallelWork = 1 << 15;

    /// <summary>Runs body(i) for i in [0, count); <paramref name="workPerItem"/> (elements touched) decides the split.</summary>
    public static void For(int count, long workPerItem, Action<int> body) =>
        ForChunks(count, Chunks(count, workPerItem), (_, begin, end) =>
        {
            for (int i = begin; i < end; i++) body(i);
        });

    /// <summary>How many contiguous chunks (at most one per core) a loop of <paramref name="count"/> items should run in.</summary>
    public static int Chunks(int count, long workPerItem) =>
        (int)Math.Max(1, Math.Min(Math.Min(Environment.ProcessorCount, count), count * workPerItem / MinParallelWork));

    /// <summary>Runs body(chunk, begin, end) for <paramref name="chunks"/> contiguous ranges covering [0, count).</summary>
    public static void ForChunks(int count, int chunks, Action<int, int, int> body)
    {
        int per = (count + chunks - 1) / chunks;
        if (chunks <= 1) { body(0, 0, count); return; }
        Parallel.For(0, chunks, k => body(k, Math.Min(count, k * per), Math.Min(count, (k + 1) * per)));
    }

    /// <summary>
    /// dst[0, length) = Σ of <paramref name="count"/> partials laid <paramref name="stride"/> elements apart, added in
    /// index order like the array overload.
    /// </summary>
    public static unsafe void SumInOrder<T>(T* partials, int count, long stride, T* dst, long length) where T : unmanaged, System.Numerics.INumber<T>
    {
        // In int-sized runs so the vectorised adds take spans; the order over partials stays 0, 1, 2, ...
        for (long j0 = 0; j0 < length; j0 += int.MaxValue / 2)
        {
            int run = (int)Math.Min(int.MaxValue / 2, length - j0);
            var d = new Span<T>(dst + j0, run);
            new ReadOnlySpan<T>(partials + j0, run).CopyTo(d);
            for (int k = 1; k < count; k++)
                System.Numerics.Tensors.TensorPrimitives.Add(d, new ReadOnlySpan<T>(partials + k * stride + j0, run), d);
        }
    }

    /// <summary>
    /// dst = Σ partials, added in index order (one partial per chunk of a parallel loop), so the sum does not depend on
    /// which core finished first.
    /// </summary>
    public static void SumInOrder<T>(T[][] partials, Span<T> dst) where T : System.Numerics.INumber<T>
    {
        partials[0].AsSpan(0, dst.Length).CopyTo(dst);
        for (int k = 1; k < partials.Length; k++)
        {
            var p = partials[k];
            for (int j = 0; j < dst.Length; j++) dst[j] += p[j];
        }
    }
}
