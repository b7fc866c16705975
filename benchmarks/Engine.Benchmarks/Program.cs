using BenchmarkDotNet.Running;

namespace Engine.Benchmarks;

/// <summary>
/// Entry point. Everything after <c>--</c> goes to BenchmarkDotNet (<c>--filter '*'</c>, <c>--list flat</c>, …) except
/// two switches handled here: <c>--quick</c> (one cold invocation per case, a smoke test that only proves the
/// benchmarks run) and <c>--one-core</c> (adds a job pinned to CPU 0 with one visible processor, next to the
/// default all-cores job), and <c>--gpu [filter]</c>, which runs the GPU suite timed with CUDA events
/// (<see cref="Gpu.GpuSuite"/>) instead of BenchmarkDotNet, and <c>--cpu-vs-torch</c> (<see cref="CpuVsTorch"/>). A job named on the command line (<c>--job dry</c>, <c>--job short</c>, …) replaces the
/// default job instead of running beside it.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // --gpu: the CUDA-event-timed GPU suite instead of BenchmarkDotNet (see Gpu/GpuSuite.cs).
        if (args.Contains("--gpu")) return Gpu.GpuSuite.Run([.. args.Where(a => a != "--gpu")]);
        // --cpu-vs-torch: the Stopwatch harness of issue 19 (benchmarks/cpu-vs-torch.sh), timed like its python peer.
        if (args.Contains("--cpu-vs-torch")) return CpuVsTorch.Run([.. args.Where(a => a != "--cpu-vs-torch")]);
        bool quick = args.Contains("--quick");
        bool oneCore = args.Contains("--one-core");
        string[] rest = [.. args.Where(a => a is not "--quick" and not "--one-core")];
        bool jobOnCommandLine = rest.Any(a => a is "--job" or "-j" || a.StartsWith("--job=", StringComparison.Ordinal));
        if (jobOnCommandLine && (quick || oneCore))
            Console.Error.WriteLine("note: a --job given on the command line replaces the default job; --quick and --one-core are ignored");
        var config = jobOnCommandLine ? BenchConfig.Columns() : BenchConfig.Create(quick, oneCore);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, config);
        // Non-zero when a benchmark threw or failed to build, so a CI smoke run notices.
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
