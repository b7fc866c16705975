using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Engine.Models;
using Engine.Nn;
using Module = Engine.Nn.Module;

namespace Engine.Benchmarks;

/// <summary>
/// The engine's side of issue 19's CPU comparison with PyTorch (<c>benchmarks/cpu-vs-torch.sh</c> runs this and
/// <c>benchmarks/cpu_vs_torch.py</c> back to back and prints the ratio table). A lightweight timer harness instead of
/// BenchmarkDotNet, so both sides time the same way: per case, warm-up calls, then timed calls until both a minimum
/// count and a minimum time are reached; the median is reported. Cases (same names and definitions in the python peer):
/// <list type="bullet">
/// <item><c>gemm1024</c>: float32 1024³ matrix product.</item>
/// <item><c>conv_fwd</c>, <c>conv_fwdbwd</c>: conv2d x 64×64×32×32, w 64×64×3×3, padding 1; forward under no-grad,
/// and forward + sum + backward (data and weight).</item>
/// <item><c>dwconv_fwdbwd</c>: depthwise 3×3 conv, x 64×128×28×28, groups 128, padding 1, forward + backward.</item>
/// <item><c>lenet5_b128</c>: LeNet-5 SGD (momentum 0.9) step on 128 28×28 images.</item>
/// <item><c>convbn6_b64</c>: six conv3×3-BN-ReLU layers (3→16, 16→16, 16→32/2, 32→32, 32→64/2, 64→64) at 32×32, global
/// average pool and a linear head, SGD step, batch 64.</item>
/// <item><c>convbn6_b1</c>, <c>lenet5_b1</c>, <c>mlp_b1</c> (784→128→10): the same steps at batch 1, where dispatch,
/// allocation and threading costs dominate.</item>
/// <item><c>model:name:size:batch</c>: a model-zoo SGD training step as in <see cref="ModelBenchmarks"/>.</item>
/// <item><c>gemm:M:N:K</c> (optionally <c>:t</c>, B given transposed): one float32 product, for the conv layers' GEMM shapes.</item>
/// <item>Single ops for profiling, forward + sum + backward: <c>conv:N:C:O:H:K:stride:groups</c> (square, padding K/2,
/// no bias) and <c>bnrelu:N:C:H</c> (training batch norm then ReLU).</item>
/// </list>
/// Usage: <c>--cpu-vs-torch [--print-cases] [--cases a,b,...] [--warmup N] [--warmup-seconds S] [--reps N] [--min-seconds S] [--clock wall|cpu] [--json file]</c>.
/// <c>--clock cpu</c> times each call by the process's CPU time (clock_gettime(CLOCK_PROCESS_CPUTIME_ID), the clock of
/// python's time.process_time) instead of the wall clock: on a machine shared with other work, a single-threaded run
/// then counts only the time it actually ran, not the time it waited for a core.
/// </summary>
public static partial class CpuVsTorch
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec { public long Sec, Nsec; }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec t);

    private const int ClockProcessCpuTime = 2; // CLOCK_PROCESS_CPUTIME_ID on Linux

    private static double CpuSeconds()
    {
        if (ClockGetTime(ClockProcessCpuTime, out var t) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
        return t.Sec + t.Nsec * 1e-9;
    }

    /// <summary>The cases run when none are named.</summary>
    public const string DefaultCases =
        "gemm1024,conv_fwd,conv_fwdbwd,dwconv_fwdbwd,lenet5_b128,convbn6_b64,lenet5_b1,convbn6_b1,mlp_b1," +
        "model:resnet20:32:64,model:mobilenet_v2:32:32,model:resnet18:32:64,model:efficientnet_b0:32:32,model:densenet121:32:16";

    /// <summary>Runs the cases named on the command line and prints one median per case (seconds), as JSON lines too.</summary>
    public static int Run(string[] args)
    {
        if (args.Contains("--print-cases")) { Console.WriteLine(DefaultCases); return 0; }
        string cases = Option(args, "--cases") ?? DefaultCases;
        int warmup = int.Parse(Option(args, "--warmup") ?? "3", CultureInfo.InvariantCulture);
        int reps = int.Parse(Option(args, "--reps") ?? "10", CultureInfo.InvariantCulture);
        double minSeconds = double.Parse(Option(args, "--min-seconds") ?? "1", CultureInfo.InvariantCulture);
        double warmupSeconds = double.Parse(Option(args, "--warmup-seconds") ?? "2", CultureInfo.InvariantCulture);
        string? json = Option(args, "--json");
        bool cpuClock = (Option(args, "--clock") ?? "wall") switch
        {
            "wall" => false,
            "cpu" => true,
            var other => throw new ArgumentException($"cpu-vs-torch: --clock is wall or cpu, not '{other}'"),
        };
        var sb = new StringBuilder("[\n");
        Console.WriteLine($"engine, threads {Environment.ProcessorCount}, clock {(cpuClock ? "process CPU time" : "wall")}");
        bool first = true;
        foreach (var name in cases.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            double median;
            using (var c = Create(name))
                median = Time(c.Step, warmup, reps, minSeconds, cpuClock, warmupSeconds);
            Console.WriteLine($"{name,-28} {median * 1e3,10:F3} ms");
            sb.Append(first ? "" : ",\n").Append(CultureInfo.InvariantCulture, $" {{\"case\": \"{name}\", \"seconds\": {median:R}}}");
            first = false;
        }
        sb.Append("\n]\n");
        if (json != null) File.WriteAllText(json, sb.ToString());
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>
    /// Median seconds of <paramref name="step"/> after at least <paramref name="warmup"/> calls and
    /// <paramref name="warmupSeconds"/> of warm-up. The time floor matters: .NET compiles a method first without
    /// optimisation and recompiles it optimised only after ~30 calls and a quiet 100 ms, so a few warm-up calls of a
    /// 50 ms training step time partly unoptimised code (the conv-BN-ReLU step measured 84 ms after 3 calls, 52 ms after 40).
    /// </summary>
    public static double Time(Action step, int warmup, int reps, double minSeconds, bool cpuClock = false, double warmupSeconds = 0)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < warmup || warm.Elapsed.TotalSeconds < warmupSeconds; i++) step();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < reps || (total.Elapsed.TotalSeconds < minSeconds && times.Count < 100_000))
        {
            if (cpuClock)
            {
                double c0 = CpuSeconds();
                step();
                times.Add(CpuSeconds() - c0);
                continue;
            }
            long t0 = Stopwatch.GetTimestamp();
            step();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        times.Sort();
        int n = times.Count;
        return n % 2 == 1 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    }

    /// <summary>A case: its step and what it owns.</summary>
    private sealed class Case(Action step, params IDisposable[] owned) : IDisposable
    {
        public Action Step { get; } = step;
        public void Dispose() { foreach (var d in owned) d.Dispose(); }
    }

    private static Case Create(string name)
    {
        var g = new Generator(7);
        switch (name)
        {
            case "gemm1024":
            {
                var a = Tensor.Randn([1024, 1024], DType.Float32, g).DetachFromDisposeScope();
                var b = Tensor.Randn([1024, 1024], DType.Float32, g).DetachFromDisposeScope();
                return new Case(() => { using var _ = Tensor.NoGrad(); a.MatMul(b).Dispose(); }, a, b);
            }
            case "conv_fwd":
            case "conv_fwdbwd":
                return ConvCase(g, [64, 64, 32, 32], [64, 64, 3, 3], 1, backward: name == "conv_fwdbwd");
            case "dwconv_fwdbwd":
                return ConvCase(g, [64, 128, 28, 28], [128, 1, 3, 3], 128, backward: true);
            case "lenet5_b128": return StepCase(ModelRegistry.Create("lenet5", new ModelOptions(10, 1, g)), g, 128, 1, 28);
            case "lenet5_b1": return StepCase(ModelRegistry.Create("lenet5", new ModelOptions(10, 1, g)), g, 1, 1, 28);
            case "convbn6_b64": return StepCase(ConvBn6(g), g, 64, 3, 32);
            case "convbn6_b1": return StepCase(ConvBn6(g), g, 1, 3, 32);
            case "mlp_b1":
                return StepCase(new Sequential(new Flatten(), new Linear(784, 128, generator: g), new ReLU(), new Linear(128, 10, generator: g)), g, 1, 1, 28);
        }
        var f = name.Split(':');
        int I(int i) => int.Parse(f[i], CultureInfo.InvariantCulture);
        if ((f.Length == 4 || f.Length == 5) && f[0] == "gemm")
        {
            bool bt = f.Length == 5 && f[4] == "t";
            var a = Tensor.Randn([I(1), I(3)], DType.Float32, g).DetachFromDisposeScope();
            var b = (bt ? Tensor.Randn([I(2), I(3)], DType.Float32, g).T : Tensor.Randn([I(3), I(2)], DType.Float32, g)).DetachFromDisposeScope();
            return new Case(() => { using var _ = Tensor.NoGrad(); a.MatMul(b).Dispose(); }, a, b);
        }
        if (f.Length == 8 && f[0] == "conv")
            return ConvCase(g, [I(1), I(2), I(4), I(4)], [I(3), I(2) / I(7), I(5), I(5)], I(7), backward: true, stride: I(6), padding: I(5) / 2);
        if (f.Length == 4 && f[0] == "bnrelu")
        {
            var x = Tensor.Randn([I(1), I(2), I(3), I(3)], DType.Float32, g).DetachFromDisposeScope().RequiresGrad_();
            var bn = new BatchNorm2d(I(2));
            return new Case(() =>
            {
                using var s = Tensor.NewDisposeScope();
                bn.Call(x).Relu().Sum().Backward();
                x.Grad = null; bn.ZeroGrad();
            }, x, bn);
        }
        if (f.Length == 4 && f[0] == "model")
        {
            var info = ModelRegistry.Info(f[1]);
            var model = ModelRegistry.Create(f[1], new ModelOptions(10, info.DefaultChannels, g));
            return StepCase(model, g, int.Parse(f[3], CultureInfo.InvariantCulture), info.DefaultChannels, int.Parse(f[2], CultureInfo.InvariantCulture));
        }
        throw new ArgumentException($"cpu-vs-torch: unknown case '{name}'");
    }

    private static Case ConvCase(Generator g, long[] xShape, long[] wShape, int groups, bool backward, int stride = 1, int padding = 1)
    {
        var x = Tensor.Randn(xShape, DType.Float32, g).DetachFromDisposeScope();
        var w = Tensor.Randn(wShape, DType.Float32, g).Mul(0.05).DetachFromDisposeScope();
        if (!backward)
            return new Case(() =>
            {
                using var s = Tensor.NewDisposeScope();
                using var _ = Tensor.NoGrad();
                Functional.Conv2d(x, w, null, stride, padding, groups: groups);
            }, x, w);
        x.RequiresGrad_(); w.RequiresGrad_();
        return new Case(() =>
        {
            using var s = Tensor.NewDisposeScope();
            Functional.Conv2d(x, w, null, stride, padding, groups: groups).Sum().Backward();
            x.Grad = null; w.Grad = null;
        }, x, w);
    }

    /// <summary>Six conv3×3-BN-ReLU layers (16/32/64 channels, stride 2 into 32 and 64), global mean, linear head.</summary>
    private static Module ConvBn6(Generator g)
    {
        var layers = new List<Module>();
        (int cin, int cout, int stride)[] spec = [(3, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1)];
        foreach (var (cin, cout, stride) in spec)
        {
            layers.Add(new Conv2d(cin, cout, 3, stride: stride, padding: 1, bias: false, generator: g));
            layers.Add(new BatchNorm2d(cout));
            layers.Add(new ReLU());
        }
        layers.Add(new AdaptiveAvgPool2d(1));
        layers.Add(new Flatten());
        layers.Add(new Linear(64, 10, generator: g));
        return new Sequential([.. layers]);
    }

    // One SGD (momentum 0.9) training step with cross-entropy on a fixed random batch, as ModelBenchmarks.
    private static Case StepCase(Module model, Generator g, int batch, int channels, int size)
    {
        var sgd = new SGD(model.Parameters(), 0.01, momentum: 0.9);
        var trainer = new Trainer(model, sgd, 10);
        var images = Tensor.Randn([batch, channels, size, size], DType.Float32, g).DetachFromDisposeScope();
        var labels = new long[batch];
        for (int i = 0; i < batch; i++) labels[i] = i % 10;
        var y = Tensor.FromArray(labels, batch).DetachFromDisposeScope();
        model.Train();
        return new Case(() =>
        {
            using var s = Tensor.NewDisposeScope();
            sgd.ZeroGrad();
            trainer.TrainingLoss(images, y).Loss.Backward();
            sgd.Step();
        }, images, y, sgd, model);
    }
}
