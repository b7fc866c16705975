using Engine.Kernels;
using Engine.Kernels.Gpu;
using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Emulated;

/// <summary>
/// A whole training step of LeNet-5 (conv, ReLU, max-pool, linear, cross-entropy, backward, SGD with momentum) on the
/// emulated GPU against the same step on the CPU: loss, every gradient and every updated weight match, and only the
/// ops that cuBLAS/cuDNN run on a real GPU fell back to the CPU kernels.
/// </summary>
[NonParallelizable]
public class EmulatedTrainingTests
{
    // Ops the emulator runs through the CPU kernels because a real GPU runs them in cuBLAS / cuDNN.
    private static readonly HashSet<string> LibraryOps =
    [
        "matmul", "conv", "conv_backward", "max_pool", "max_pool_backward", "batch_norm", "batch_norm_backward",
    ];

    [Test]
    public void ALeNetTrainingStepMatchesTheCpuAndRunsEveryOtherOpAsPtx()
    {
        var g = TestUtil.Gen();
        var seed = g.NextLong(1_000_000);
        var cpuModel = new LeNet5(generator: new Generator((ulong)seed));
        var emuModel = new LeNet5(generator: new Generator((ulong)seed)).To(Device.Emulated);
        using var x = Tensor.Randn([6, 1, 28, 28], DType.Float32, g);
        using var y = Tensor.RandInt(0, 10, [6], generator: g);
        using var xe = x.To(Device.Emulated);
        using var ye = y.To(Device.Emulated);
        var gpu = (GpuBackend)Backends.For(Device.Emulated);
        var before = new Dictionary<string, long>(gpu.CpuFallbackOps);
        long launches = gpu.PtxLaunches;

        double cpuLoss, emuLoss;
        using (Tensor.NewDisposeScope())
        {
            var opt = new SGD(cpuModel.Parameters(), lr: 0.05, momentum: 0.9);
            var loss = Functional.CrossEntropy(cpuModel.Call(x), y);
            loss.Backward();
            cpuLoss = loss.Item();
            opt.Step();
        }
        var cpuGrads = cpuModel.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad!.ToDoubleArray());
        using (Tensor.NewDisposeScope())
        {
            var opt = new SGD(emuModel.Parameters(), lr: 0.05, momentum: 0.9);
            var loss = Functional.CrossEntropy(emuModel.Call(xe), ye);
            loss.Backward();
            emuLoss = loss.Item();
            opt.Step();
        }
        Assert.That(emuLoss, Is.EqualTo(cpuLoss).Within(1e-5 * Math.Abs(cpuLoss)), "loss (float32, ex2.approx softmax on the GPU)");
        foreach (var (name, p) in emuModel.NamedParameters())
        {
            TestUtil.AssertClose(p.Grad!, cpuGrads[name], 1e-6, 1e-4);
            var cpuP = cpuModel.NamedParameters().First(q => q.Name == name).Parameter;
            TestUtil.AssertClose(p, cpuP, 1e-6, 1e-5);
        }
        Assert.That(gpu.PtxLaunches, Is.GreaterThan(launches));
        var fellBack = gpu.CpuFallbackOps.Where(kv => kv.Value > before.GetValueOrDefault(kv.Key)).Select(kv => kv.Key).ToArray();
        TestContext.Out.WriteLine("fell back to the CPU: " + string.Join(", ", fellBack));
        Assert.That(fellBack, Is.SubsetOf(LibraryOps), "ops without a PTX kernel (other than the cuBLAS/cuDNN ones)");
    }
}
