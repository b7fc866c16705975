using System.Globalization;
using System.Reflection;
using System.Text;
using Engine.Kernels.Gpu;

namespace Engine.Benchmarks.Gpu;

/// <summary>One GPU benchmark: registers its cases on the suite (found by reflection; needs a public parameterless constructor).</summary>
public interface IGpuBenchmark
{
    /// <summary>Adds this benchmark's cases to <paramref name="suite"/>; the tensors it makes live until the suite ends.</summary>
    void Run(GpuSuite suite);
}

/// <summary>
/// The GPU benchmark run (<c>dotnet run -c Release --project benchmarks/Engine.Benchmarks -- --gpu [filter]</c>): every
/// <see cref="IGpuBenchmark"/> whose type name contains the filter, each case timed with CUDA events
/// (<see cref="GpuTiming.Measure"/>, median of 100 after 10 warm-ups), printed as a table with achieved GB/s and
/// TFLOP/s, and the fraction of the device-to-device copy bandwidth measured at the start of the same run; also written
/// as Markdown to <c>gpu-results.md</c>. Without a GPU it prints why and exits 0 (CPU-only machines run the CPU benchmarks).
/// </summary>
public sealed class GpuSuite
{
    private readonly List<string> _rows = [];
    private readonly List<string> _modelRows = [];
    private const string ModelHeader = "| model training step (fp32) | input | batch | median ms | min ms | images/s | PyTorch on an H100 (issue 12), images/s |\n|---|---|---|---|---|---|---|";

    /// <summary>The backend under test.</summary>
    public GpuBackend Backend { get; }

    /// <summary>The runtime under test.</summary>
    public IGpuRuntime Runtime => Backend.Runtime;

    /// <summary>Device-to-device copy bandwidth measured at the start of this run (GB/s, read + write).</summary>
    public double CopyGBs { get; }

    private GpuSuite(GpuBackend backend)
    {
        Backend = backend;
        CopyGBs = GpuTiming.CopyBandwidth(backend.Runtime);
    }

    /// <summary>
    /// Times <paramref name="work"/> and records a row: <paramref name="bytes"/> moved (read + written) and
    /// <paramref name="flops"/> per run (0 when not meaningful), with an optional target in milliseconds.
    /// </summary>
    public void Case(string name, string shape, Action work, double bytes, double flops = 0, double? targetMs = null)
    {
        var (median, min) = GpuTiming.Measure(Runtime, work);
        double gbs = bytes / (median * 1e-3) / 1e9;
        string tf = flops > 0 ? (flops / (median * 1e-3) / 1e12).ToString("F1", CultureInfo.InvariantCulture) : "";
        string frac = bytes > 0 ? (gbs / CopyGBs).ToString("P0", CultureInfo.InvariantCulture) : "";
        string target = Target(median, targetMs);
        string row = string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {shape} | {median:F4} | {min:F4} | {(bytes > 0 ? gbs.ToString("F0", CultureInfo.InvariantCulture) : "")} | {frac} | {tf} | {target} |");
        Add(row);
    }

    /// <summary>
    /// Host-side cost per call of <paramref name="work"/>: wall-clock time of <paramref name="iterations"/> back-to-back
    /// calls plus one final synchronisation, divided by the count (the launch overhead of asynchronous ops), as the median
    /// of 11 such runs after a warm-up run. Reported in the median column in milliseconds per call.
    /// </summary>
    public void HostCase(string name, string shape, Action work, int iterations = 10_000, double? targetMs = null)
    {
        var runs = new double[11];
        for (int r = -1; r < runs.Length; r++)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int i = 0; i < iterations; i++) work();
            Runtime.Synchronize();
            double ms = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds / iterations;
            if (r >= 0) runs[r] = ms;
        }
        Array.Sort(runs);
        double median = runs[runs.Length / 2];
        string target = Target(median, targetMs);
        string row = string.Create(CultureInfo.InvariantCulture, $"| {name} (host wall clock per call) | {shape} | {median:F4} | {runs[0]:F4} |  |  |  | {target} |");
        Add(row);
    }

    /// <summary>
    /// Times one whole training step of a model (<paramref name="work"/>) with CUDA events, median of
    /// <paramref name="reps"/> after <paramref name="warmup"/> (a step is long, so fewer repetitions than a kernel case),
    /// and records images/s next to a reference figure (a dash where there is none).
    /// </summary>
    public void ModelCase(string model, string input, int batch, Action work, double? referenceImagesPerSec, int warmup = 3, int reps = 10)
    {
        var (median, min) = GpuTiming.Measure(Runtime, work, warmup, reps);
        string row = string.Create(CultureInfo.InvariantCulture,
            $"| {model} | {input} | {batch} | {median:F2} | {min:F2} | {batch / (median * 1e-3):F0} | {(referenceImagesPerSec is { } r ? r.ToString("F0", CultureInfo.InvariantCulture) : "—")} |");
        _modelRows.Add(row);
        Console.WriteLine(row);
    }

    private static string Target(double medianMs, double? targetMs) =>
        targetMs is { } t ? t.ToString("G3", CultureInfo.InvariantCulture) + (medianMs <= t ? " (met)" : " (missed)") : "";

    private void Add(string row)
    {
        _rows.Add(row);
        Console.WriteLine(row);
    }

    /// <summary>Runs the suite; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        string filter = args.FirstOrDefault(a => !a.StartsWith('-')) ?? "";
        var backend = GpuTiming.Cuda(out string reason);
        if (backend is null)
        {
            Console.WriteLine($"GPU benchmarks skipped: no usable CUDA device ({reason}).");
            return 0;
        }
        var suite = new GpuSuite(backend);
        Console.WriteLine($"device-to-device copy: {suite.CopyGBs:F0} GB/s (read + write)");
        const string header = "| case | shape | median ms | min ms | GB/s | of copy BW | TFLOP/s | target ms |\n|---|---|---|---|---|---|---|---|";
        Console.WriteLine(header);
        var types = typeof(GpuSuite).Assembly.GetTypes()
            .Where(t => typeof(IGpuBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false } && t.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
            .OrderBy(t => t.Name, StringComparer.Ordinal);
        int failures = 0;
        foreach (var t in types)
        {
            using var scope = Tensor.NewDisposeScope();
            try { ((IGpuBenchmark)Activator.CreateInstance(t)!).Run(suite); }
            catch (Exception e) when (e is EngineException or TargetInvocationException)
            {
                failures++;
                Console.WriteLine($"| {t.Name} | failed: {e.Message.Split('\n')[0]} |");
            }
        }
        var md = new StringBuilder().AppendLine(CultureInfo.InvariantCulture, $"device-to-device copy: {suite.CopyGBs:F0} GB/s").AppendLine().AppendLine(header);
        foreach (var r in suite._rows) md.AppendLine(r);
        if (suite._modelRows.Count > 0)
        {
            md.AppendLine().AppendLine(ModelHeader);
            foreach (var r in suite._modelRows) md.AppendLine(r);
        }
        File.WriteAllText(Environment.GetEnvironmentVariable("OUT") is { Length: > 0 } o ? Path.Combine(o, "gpu-results.md") : "gpu-results.md", md.ToString());
        return failures == 0 ? 0 : 1;
    }
}
