using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace Engine.Benchmarks;

/// <summary>The global configuration: jobs sized for a small (2-core) machine, with medians shown.</summary>
public static class BenchConfig
{
    /// <summary>
    /// Full runs: 3 warm-up and 10 measured iterations in one process per case, which keeps the whole suite to a
    /// few minutes. Quick runs: BenchmarkDotNet's Dry job (one cold invocation, no warm-up), for smoke tests only;
    /// its figures mean nothing.
    /// </summary>
    public static IConfig Create(bool quick, bool oneCore)
    {
        Job baseJob = quick
            ? Job.Dry
            : Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10);
        var config = Columns().AddJob(baseJob.WithId(quick ? "Quick" : "AllCores"));
        if (oneCore)
        {
            // Affinity alone leaves Environment.ProcessorCount at the machine's count (it is read at start-up),
            // so the kernels would still split work for 2 threads; DOTNET_PROCESSOR_COUNT makes them plan for one.
            config.AddJob(baseJob.WithAffinity(1)
                .WithEnvironmentVariables(new EnvironmentVariable("DOTNET_PROCESSOR_COUNT", "1"))
                .WithId(quick ? "QuickOneCore" : "OneCore"));
        }
        return config;
    }

    /// <summary>The defaults plus a median column, with no job of its own (for a job given on the command line).</summary>
    public static ManualConfig Columns() => ManualConfig.Create(DefaultConfig.Instance).AddColumn(StatisticColumn.Median);
}
