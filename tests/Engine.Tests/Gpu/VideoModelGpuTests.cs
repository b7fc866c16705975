using Engine.Cli;
using Engine.Models;

namespace Engine.Tests.Gpu;

/// <summary>
/// One training step of the video ResNets on each GPU device against the CPU, from the same weights and clips (loss,
/// every gradient and every SGD update within <see cref="GpuSelfCheck.Tolerance"/>, the self-check's rule, which leaves
/// room for TF32): the GPU paths of conv3d (cuDNN on a GPU), 5-D batch norm, ReLU, the residual adds and 3-D adaptive
/// pooling in one pass. The emulator checks R(2+1)D-18 (every op kind of the three) on 2×16×16 clips, small because
/// it interprets every kernel and its arithmetic is the CPU's but for summation orders; a GPU all three on 8×64×64
/// clips, where the last map (4×4 per clip) keeps training-mode BatchNorm well conditioned under TF32.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class VideoModelGpuTests(TestDevice dev) : DeviceTests(dev)
{
    private static readonly string[] s_models = ["r3d_18", "mc3_18", "r2plus1d_18"];

    [TestCaseSource(nameof(s_models))]
    public void TrainingStepMatchesTheCpu(string name)
    {
        if (!Dev.IsCuda && name != "r2plus1d_18") Assert.Ignore("the emulator checks r2plus1d_18 only (its conv runs the CPU kernel there; the other ops are the same kinds)");
        var info = ModelRegistry.Info(name);
        var (frames, size) = Dev.Pick((2, 16), (8, 64));
        GpuSelfCheck.StepResult Step(Device device)
        {
            var g = new Generator(5);
            using var model = ModelRegistry.Create(name, new ModelOptions(10, info.DefaultChannels, g));
            using var x = Tensor.Randn([2, .. info.InputShape(size, frames)], DType.Float32, g);
            using var y = Tensor.FromArray(new long[] { 3, 8 }, [2]);
            return GpuSelfCheck.Step(device, model, x, y);
        }
        var cpu = Step(Engine.Device.Cpu);
        var gpu = Step(Device);
        Assert.That(GpuSelfCheck.Compare(cpu, gpu, GpuSelfCheck.Tolerance), Is.Null, $"{name} on {Dev} against the CPU");
        TestContext.Out.WriteLine($"{name} on {Dev}, clips 2x3x{frames}x{size}x{size}: loss {gpu.Loss:G6} (CPU {cpu.Loss:G6}), {cpu.Parameters.Count} parameters' gradients and updates match");
    }
}
