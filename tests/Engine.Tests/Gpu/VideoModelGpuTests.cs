using Engine.Cli;
using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Gpu;

/// <summary>
/// Training steps of video networks on each GPU device against the CPU, from the same weights and clips (loss, every
/// gradient and every SGD update within <see cref="GpuSelfCheck.Tolerance"/>, the self-check's rule, which leaves room
/// for TF32): the GPU paths of conv3d (cuDNN on a GPU), 5-D batch norm, ReLU, the residual adds and 3-D adaptive
/// pooling in one pass. On every GPU device a small net of the video blocks (the R(2+1)D stem and one block of each
/// convolution kind, 2×16×16 clips); on a real GPU also the three published models on 8×64×64 clips, where the last
/// map (4×4 per clip) keeps training-mode BatchNorm well conditioned under TF32 (the emulator interprets every kernel,
/// and the full models' 30M parameters would make it the slowest test of the suite).
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class VideoModelGpuTests(TestDevice dev) : DeviceTests(dev)
{
    private static readonly string[] s_models = ["r3d_18", "mc3_18", "r2plus1d_18"];

    private void CheckStep(Func<Generator, Module> create, long[] clipShape, string what)
    {
        GpuSelfCheck.StepResult Step(Device device)
        {
            var g = new Generator(5);
            using var model = create(g);
            using var x = Tensor.Randn(clipShape, DType.Float32, g);
            using var y = Tensor.FromArray(new long[] { 3, 8 }, [2]);
            return GpuSelfCheck.Step(device, model, x, y);
        }
        var cpu = Step(Engine.Device.Cpu);
        var gpu = Step(Device);
        Assert.That(GpuSelfCheck.Compare(cpu, gpu, GpuSelfCheck.Tolerance), Is.Null, $"{what} on {Dev} against the CPU");
        TestContext.Out.WriteLine($"{what} on {Dev}, clips {string.Join("x", clipShape)}: loss {gpu.Loss:G6} (CPU {cpu.Loss:G6}), {cpu.Parameters.Count} parameters' gradients and updates match");
    }

    [Test]
    public void VideoBlocksTrainingStepMatchesTheCpu() => CheckStep(g => new Sequential(
            VideoStem.Create(VideoStemKind.R2Plus1d, 3, g),
            new VideoBasicBlock(VideoConvKind.Conv2Plus1D, 64, 128, 2, g),
            new VideoBasicBlock(VideoConvKind.Conv3DSimple, 128, 128, 1, g),
            new VideoBasicBlock(VideoConvKind.Conv3DNoTemporal, 128, 128, 2, g),
            new AdaptiveAvgPool3d(1), new Flatten(), new Linear(128, 10, generator: g)),
        [2, 3, 2, 16, 16], "stem + (2+1)D, 3-D and 2-D blocks");

    [TestCaseSource(nameof(s_models))]
    public void PublishedModelTrainingStepMatchesTheCpu(string name)
    {
        if (!Dev.IsCuda) Assert.Ignore("a GPU check: too large for the emulator (its blocks are checked there by VideoBlocksTrainingStepMatchesTheCpu)");
        var info = ModelRegistry.Info(name);
        CheckStep(g => ModelRegistry.Create(name, new ModelOptions(10, info.DefaultChannels, g)), [2, .. info.InputShape(64, 8)], name);
    }
}
