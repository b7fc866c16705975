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
    public static void For(int count, long workPerItem, Action<int> body)
    {
        int workers = (int)Math.Min(Math.Min(Environment.ProcessorCount, count), Math.Max(1, count * workPerItem / MinParallelWork));
        if (workers <= 1) { for (int i = 0; i < count; i++) body(i); return; }
        int per = (count + workers - 1) / workers;
        Parallel.For(0, workers, wk =>
        {
            for (int i = wk * per; i < Math.Min(count, (wk + 1) * per); i++) body(i);
        });
    }
}
