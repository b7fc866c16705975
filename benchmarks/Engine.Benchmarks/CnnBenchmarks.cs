using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Models;
using Engine.Nn;
using Module = Engine.Nn.Module;

namespace Engine.Benchmarks;

/// <summary>Floating-point operations one call of a benchmark method performs (for the GFLOP/s column).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class FlopsAttribute(double flops) : Attribute
{
    public double Flops { get; } = flops;
}

/// <summary>Bytes one call reads plus writes at minimum (for the GB/s column).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BytesAttribute(double bytes) : Attribute
{
    public double Bytes { get; } = bytes;
}

/// <summary>
/// The CNN operations of a CPU training step, at the shapes the issue names: conv2d 64×64×32×32 with a 3×3,
/// 64-channel kernel (forward 2·N·O·H·W·C·9 = 4.83 GFLOP; backward data and weight twice that), 2×2 max-pool,
/// batch norm (training) and LRN (n = 5) on 32×96×55×55, and one LeNet-5 SGD step on 128 28×28 images.
/// Memory-bound ops report GB/s from the minimum bytes they must move.
/// </summary>
[Config(typeof(ColumnsConfig))]
public class CnnBenchmarks
{
    private sealed class ColumnsConfig : ManualConfig
    {
        public ColumnsConfig()
        {
            AddColumn(new ThroughputColumn("GFLOP/s", "Flops attribute / median time",
                c => c.Descriptor.WorkloadMethod.GetCustomAttribute<FlopsAttribute>()?.Flops));
            AddColumn(new ThroughputColumn("GB/s", "Bytes attribute (minimum bytes read + written) / median time",
                c => c.Descriptor.WorkloadMethod.GetCustomAttribute<BytesAttribute>()?.Bytes));
        }
    }

    private const double ConvFlops = 2.0 * 64 * 64 * 32 * 32 * 64 * 9;
    private const double Act = 64.0 * 64 * 32 * 32 * 4;      // bytes of one 64×64×32×32 float32 activation
    private const double LrnAct = 32.0 * 96 * 55 * 55 * 4;

    private Tensor _x = null!, _w = null!, _xg = null!, _bnW = null!, _bnB = null!, _lrnX = null!, _lrnXg = null!;
    private Tensor _images = null!, _labels = null!;
    private Module _lenet = null!;
    private SgdStep _sgd = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(7);
        _x = Tensor.Randn([64, 64, 32, 32], DType.Float32, g);
        _xg = Tensor.Randn([64, 64, 32, 32], DType.Float32, g).RequiresGrad_();
        _w = Tensor.Randn([64, 64, 3, 3], DType.Float32, g).Mul(0.05).DetachFromDisposeScope().RequiresGrad_();
        _bnW = Tensor.Ones([64], DType.Float32).RequiresGrad_();
        _bnB = Tensor.Zeros([64], DType.Float32).RequiresGrad_();
        _lrnX = Tensor.Randn([32, 96, 55, 55], DType.Float32, g);
        _lrnXg = Tensor.Randn([32, 96, 55, 55], DType.Float32, g).RequiresGrad_();
        _images = Tensor.Randn([128, 1, 28, 28], DType.Float32, g);
        _labels = Tensor.RandInt(0, 10, [128], generator: g);
        _lenet = new LeNet5(generator: g);
        _sgd = new SgdStep(_lenet, 0.01);
    }

    [Benchmark, Flops(ConvFlops)]
    public void Conv2dForward()
    {
        using var s = Tensor.NewDisposeScope();
        using var _ = Tensor.NoGrad();
        Functional.Conv2d(_x, _w, null, padding: 1);
    }

    [Benchmark, Flops(3 * ConvFlops)]
    public void Conv2dForwardBackward()
    {
        using var s = Tensor.NewDisposeScope();
        Functional.Conv2d(_xg, _w, null, padding: 1).Sum().Backward();
        _xg.Grad = null; _w.Grad = null;
    }

    [Benchmark, Bytes(Act + Act / 4 + Act / 4 * 2)]
    public void MaxPool2dForward()
    {
        using var s = Tensor.NewDisposeScope();
        using var _ = Tensor.NoGrad();
        Functional.MaxPool2d(_x, 2); // reads x, writes values and int64 indices (2× the values' bytes)
    }

    [Benchmark, Bytes(2 * Act + 2 * Act)]
    public void BatchNormTrainForwardBackward()
    {
        using var s = Tensor.NewDisposeScope();
        Functional.BatchNorm(_xg, null, null, _bnW, _bnB, training: true).Sum().Backward();
        _xg.Grad = null; _bnW.Grad = null; _bnB.Grad = null;
    }

    [Benchmark, Bytes(2 * LrnAct)]
    public void LrnForward()
    {
        using var s = Tensor.NewDisposeScope();
        using var _ = Tensor.NoGrad();
        Functional.LocalResponseNorm(_lrnX, 5, 1e-4, 0.75, 2);
    }

    [Benchmark, Bytes(2 * LrnAct + 4 * LrnAct)]
    public void LrnForwardBackward()
    {
        using var s = Tensor.NewDisposeScope();
        Functional.LocalResponseNorm(_lrnXg, 5, 1e-4, 0.75, 2).Sum().Backward();
        _lrnXg.Grad = null;
    }

    [Benchmark]
    public void LeNet5TrainStep()
    {
        using var s = Tensor.NewDisposeScope();
        Functional.CrossEntropy(_lenet.Call(_images), _labels).Backward();
        _sgd.Step();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _x, _w, _xg, _bnW, _bnB, _lrnX, _lrnXg, _images, _labels }) t.Dispose();
        _lenet.Dispose();
    }

    // Plain SGD, so the step measures the model and not an optimizer's bookkeeping.
    private sealed class SgdStep(Module model, double lr)
    {
        public void Step()
        {
            using var _ = Tensor.NoGrad();
            foreach (var p in model.Parameters())
            {
                if (p.Grad is null) continue;
                p.AddInPlace(p.Grad, -lr);
                p.Grad = null;
            }
        }
    }
}
