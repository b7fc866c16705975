using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Engine.Models;
using Engine.Nn;

namespace Engine.Cli;

/// <summary>
/// <c>engine bench</c>: a quick in-process measurement (median of repeated runs after a warm-up) of the numbers
/// that matter for training on this machine: GEMM GFLOP/s, elementwise GB/s and LeNet-5 training images/s.
/// The BenchmarkDotNet suites under benchmarks/ are the careful version.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = TrainCommand.DeviceHelp, DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong(TrainCommand.DeviceNames);
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per measurement (the median is reported).", DefaultValueFactory = _ => 7 };
        var cmd = new Command("bench", "Measure GEMM, elementwise and LeNet-5 training throughput on this machine.") { device, repeats };
        cmd.SetAction(r => Run(r.GetValue(device)!, Math.Max(1, r.GetValue(repeats)), EngineCommand.Output));
        return cmd;
    }

    private static double MedianMs(Action a, int repeats)
    {
        a();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }

    public static int Run(string deviceName, int repeats, TextWriter log)
    {
        try
        {
            var device = TrainCommand.ResolveDevice(deviceName, log);
            var g = new Generator(1);
            var inv = CultureInfo.InvariantCulture;
            foreach (int n in new[] { 256, 1024 })
            {
                using var a = Tensor.Randn([n, n], DType.Float32, g, device);
                using var b = Tensor.Randn([n, n], DType.Float32, g, device);
                double ms = MedianMs(() => { using var c = a.MatMul(b); }, repeats);
                log.WriteLine(string.Create(inv, $"matmul {n}x{n}x{n} float32: {ms:F2} ms, {2.0 * n * n * n / ms / 1e6:F1} GFLOP/s"));
            }
            {
                const int n = 16 << 20;
                using var a = Tensor.Randn([n], DType.Float32, g, device);
                using var b = Tensor.Randn([n], DType.Float32, g, device);
                double ms = MedianMs(() => { using var c = a.Add(b); }, repeats);
                log.WriteLine(string.Create(inv, $"add of 16M float32: {ms:F2} ms, {3.0 * 4 * n / ms / 1e6:F1} GB/s (bytes read + written)"));
            }
            {
                using var model = new LeNet5(generator: g);
                model.To(device);
                using var opt = new SGD(model.Parameters(), 0.01, momentum: 0.9);
                using var x = Tensor.Randn([128, 1, 28, 28], DType.Float32, g, device);
                using var y = Tensor.RandInt(0, 10, [128], generator: g, device: device);
                double ms = MedianMs(() =>
                {
                    using var s = Tensor.NewDisposeScope();
                    opt.ZeroGrad();
                    Functional.CrossEntropy(model.Call(x), y).Backward();
                    opt.Step();
                }, repeats);
                log.WriteLine(string.Create(inv, $"LeNet-5 training step, batch 128: {ms:F2} ms, {128 / ms * 1000:F0} images/s"));
            }
            return 0;
        }
        catch (EngineException e)
        {
            log.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
