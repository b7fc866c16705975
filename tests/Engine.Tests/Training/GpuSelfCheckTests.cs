using Engine.Cli;
using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Training;

/// <summary>
/// The self-check <c>--device auto</c> runs before it picks a GPU: it passes on the emulated GPU (the same GPU backend
/// code), reports a failing device instead of throwing, accepts the rounding of TF32 tensor cores and rejects a wrong
/// step; and the device names the CLI resolves.
/// </summary>
[NonParallelizable]
public class GpuSelfCheckTests
{
    [Test]
    public void PassesOnTheEmulatedGpuRunningPtxAndReleasesEveryDeviceTensor()
    {
        var gpu = (GpuBackend)Backends.For(Device.Emulated);
        // A first run uploads LeNet's pooling window tables, which the backend keeps in its table cache; the second run
        // (measured) finds them there, so every byte it allocates must be back when it returns.
        Assert.That(GpuSelfCheck.Run(Device.Emulated).Passed, Is.True);
        long launches = gpu.PtxLaunches;
        ReleaseLeakedStorages();
        long allocated = Engine.Cuda.MemoryStats(Device.Emulated).Allocated;

        var result = GpuSelfCheck.Run(Device.Emulated);

        ReleaseLeakedStorages();
        Assert.That(result.Passed, Is.True, result.Detail);
        Assert.That(result.Detail, Is.EqualTo("passed"));
        Assert.That(gpu.PtxLaunches, Is.GreaterThan(launches), "the step ran GPU kernels");
        Assert.That(Engine.Cuda.MemoryStats(Device.Emulated).Allocated, Is.EqualTo(allocated), "device bytes still allocated after the check");
    }

    [Test]
    public void ReportsADeviceThatThrowsAsAFailureNamingTheError()
    {
        // No machine has a CUDA device 63: moving the model there throws the DeviceException a broken GPU path would.
        GpuSelfCheckResult result = null!;
        Assert.DoesNotThrow(() => result = GpuSelfCheck.Run(Device.Cuda(63)));
        Assert.That(result.Passed, Is.False);
        Assert.That(result.Detail, Does.Contain("no backend is available for device cuda:63"));
        Assert.That(result.Detail, Does.Not.Contain("\n"));
    }

    [Test]
    public void ToleranceAcceptsATf32RoundedStep()
    {
        // TF32 tensor cores round each float32 operand to a 10-bit mantissa before multiplying. Rounding the images and
        // every weight that way changes every activation, and so moves near-ties in max-pool windows, by about what a
        // real GPU's convolutions and GEMMs do; the check must still pass.
        var reference = Run(round: false);
        var rounded = Run(round: true);
        Assert.That(rounded.Parameters.Zip(reference.Parameters).Any(p => !p.First.Grad.SequenceEqual(p.Second.Grad)), Is.True,
            "rounding changed the gradients");
        Assert.That(GpuSelfCheck.Compare(reference, rounded, GpuSelfCheck.Tolerance), Is.Null);
        // ... with room to spare: the error is well under the tolerance.
        Assert.That(GpuSelfCheck.Compare(reference, rounded, GpuSelfCheck.Tolerance / 3), Is.Null);
        double tight = GpuSelfCheck.Tolerance;
        while (GpuSelfCheck.Compare(reference, rounded, tight / 2) is null && tight > 1e-9) tight /= 2;
        TestContext.Out.WriteLine($"a TF32-rounded step passes down to a tolerance of about {tight:G2}; fails at {tight / 2:G2}: "
            + GpuSelfCheck.Compare(reference, rounded, tight / 2));
    }

    [Test]
    public void RejectsAWrongLossGradientOrUpdate()
    {
        var good = Run(round: false);
        Assert.That(GpuSelfCheck.Compare(good, Run(round: false), GpuSelfCheck.Tolerance), Is.Null, "the same step on the same device agrees");

        var wrongLoss = good with { Loss = good.Loss * 1.02 };
        Assert.That(GpuSelfCheck.Compare(good, wrongLoss, GpuSelfCheck.Tolerance), Does.StartWith("loss"));

        // A gradient with two elements swapped (a wrong index), and an update 2 % too large (a wrong learning rate).
        int k = good.Parameters.Count - 2;
        var (name, grad, update) = good.Parameters[k];
        var swapped = (double[])grad.Clone();
        int a = Array.IndexOf(swapped, swapped.MaxBy(Math.Abs)), b = Array.IndexOf(swapped, swapped.MinBy(Math.Abs));
        (swapped[a], swapped[b]) = (swapped[b], swapped[a]);
        var wrongGrad = good with { Parameters = [.. good.Parameters.Select((p, i) => i == k ? (p.Name, swapped, p.Update) : p)] };
        Assert.That(GpuSelfCheck.Compare(good, wrongGrad, GpuSelfCheck.Tolerance), Does.StartWith($"gradient of {name}"));

        var scaled = update.Select(u => u * 1.02).ToArray();
        var wrongUpdate = good with { Parameters = [.. good.Parameters.Select((p, i) => i == k ? (p.Name, p.Grad, scaled) : p)] };
        Assert.That(GpuSelfCheck.Compare(good, wrongUpdate, GpuSelfCheck.Tolerance), Does.StartWith($"SGD update of {name}"));

        // A device that trains on the wrong labels (one of four changed) fails on the loss.
        var (model, x, y) = GpuSelfCheck.Fixture();
        using (model)
        using (x)
        using (y)
        {
            var labels = y.ToArray<long>();
            labels[0] = (labels[0] + 1) % 10;
            using var wrong = Tensor.FromArray(labels);
            Assert.That(GpuSelfCheck.Compare(good, GpuSelfCheck.Step(Device.Cpu, model, x, wrong), GpuSelfCheck.Tolerance), Is.Not.Null);
        }
    }

    [Test]
    public void AutoStaysOnTheCpuWithoutAGpuAndSaysWhy()
    {
        if (CudaProbe.IsAvailable) Assert.Ignore("a GPU is present: auto runs the self-check (see GpuSelfCheckCudaTests)");
        var log = new StringWriter();
        Assert.That(TrainCommand.ResolveDevice("auto", log), Is.EqualTo(Device.Cpu));
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1));
        Assert.That(lines[0], Does.StartWith("note:").And.Contain(CudaProbe.Reason).And.Contain("using the CPU"));
    }

    [Test]
    public void ExplicitDevicesResolveAsAskedAndTheParserAcceptsEmulated()
    {
        var log = new StringWriter();
        Assert.That(TrainCommand.ResolveDevice("emulated", log), Is.EqualTo(Device.Emulated));
        Assert.That(TrainCommand.ResolveDevice("cpu", log), Is.EqualTo(Device.Cpu));
        Assert.That(log.ToString(), Is.Empty);
        Assert.Throws<ArgumentValueException>(() => TrainCommand.ResolveDevice("tpu", log));
        if (!CudaProbe.IsAvailable)
            Assert.That(Assert.Throws<DeviceException>(() => TrainCommand.ResolveDevice("cuda", log))!.Message, Does.Contain(CudaProbe.Reason));
        foreach (var cmd in new[] { TrainCommand.Create(), EvalCommand.Create(), BenchCommand.Create() })
        {
            string[] required = cmd.Name == "eval" ? ["--checkpoint", "x.safetensors"] : [];
            Assert.That(cmd.Parse([.. required, "--device", "emulated"]).Errors, Is.Empty, cmd.Name);
            Assert.That(cmd.Parse([.. required, "--device", "tpu"]).Errors, Is.Not.Empty, cmd.Name);
        }
    }

    // The max-pool kernels keep their window tables (a few hundred bytes per geometry) on the device for as long as the
    // geometry lives, and free them from GpuStorage's finalizer (GpuBackend.Pool.cs); everything else the check makes
    // is released when it returns. Collect so that those tables do not count.
    // Storages other tests left undisposed return their blocks from the finalizer thread: let that happen outside the measurement.
    internal static void ReleaseLeakedStorages()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    // One step of the check's fixture on the CPU, optionally with the images and weights rounded to TF32.
    private static GpuSelfCheck.StepResult Run(bool round)
    {
        var (model, x, y) = GpuSelfCheck.Fixture();
        using (model)
        using (x)
        using (y)
        {
            if (!round) return GpuSelfCheck.Step(Device.Cpu, model, x, y);
            using (Tensor.NoGrad())
                foreach (var p in model.Parameters())
                {
                    using var r = RoundToTf32(p);
                    p.CopyFrom(r);
                }
            using var xr = RoundToTf32(x);
            return GpuSelfCheck.Step(Device.Cpu, model, xr, y);
        }
    }

    // Round to nearest even at the 10th mantissa bit, as the tensor cores' TF32 conversion does.
    private static Tensor RoundToTf32(Tensor t)
    {
        var v = t.ToArray<float>();
        for (int i = 0; i < v.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(v[i]);
            bits = (bits + 0xFFFu + ((bits >> 13) & 1u)) & ~0x1FFFu;
            v[i] = BitConverter.UInt32BitsToSingle(bits);
        }
        return Tensor.FromArray(v, t.Shape);
    }
}
