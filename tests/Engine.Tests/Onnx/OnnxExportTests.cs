using Engine.Models;
using Engine.Nn;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.Tests.OnnxExport;

/// <summary>
/// Every registered model exported to ONNX and run in ONNX Runtime (the independent reference: Microsoft's
/// implementation of the ONNX operators) on a fresh input, not the one the export traced: its logits must equal the
/// engine's eval logits within float32 tolerance. Ops ONNX lacks raise an error naming the op.
/// </summary>
[TestFixture]
public sealed class OnnxExportTests
{
    /// <summary>
    /// Every variant; those above 60M parameters (the VGGs, Wide ResNets, EfficientNet-B7) are explicit, run by name or
    /// with <c>--filter "Name~ExportedModel"</c> (about a minute each for a VGG on 2 cores, most of it serialising and
    /// loading 0.5 GB of weights). Their ops (conv, ReLU, max pooling, adaptive pooling to 7×7, Gemm, dropout) are all
    /// exported by the variants CI runs.
    /// </summary>
    private static IEnumerable<TestCaseData> Variants() => ModelRegistry.Names.Select(n =>
    {
        var data = new TestCaseData(n).SetName($"ExportedModelMatchesTheEngineInOnnxRuntime(\"{n}\")");
        return ParameterCount(n) > 60_000_000 ? data.Explicit("over 60M parameters: run by name") : data;
    });

    private static long ParameterCount(string name)
    {
        using var meta = Tensor.OnMetaDevice();
        var info = ModelRegistry.Info(name);
        using var model = ModelRegistry.Create(name, new ModelOptions(10, info.DefaultChannels, new Generator(0)));
        return model.ParameterCount();
    }

    private static float[] RunOnnx(byte[] model, float[] input, long[] shape)
    {
        using var session = new InferenceSession(model);
        var tensor = new DenseTensor<float>(input, [.. shape.Select(d => (int)d)]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", tensor)]);
        return [.. results.First().AsEnumerable<float>()];
    }

    [TestCaseSource(nameof(Variants))]
    public void ExportedModelMatchesTheEngineInOnnxRuntime(string name)
    {
        var info = ModelRegistry.Info(name);
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        using var model = ModelRegistry.Create(name, new ModelOptions(10, info.DefaultChannels, g));
        // Random running statistics, so batch norm is not the identity the fresh model's stats would make it.
        using (Tensor.NoGrad())
            foreach (var (bname, b) in model.NamedBuffers())
                if (bname.EndsWith("running_mean", StringComparison.Ordinal)) b.CopyFrom(Tensor.Randn(b.Shape, b.DType, g).Mul(0.1));
                else if (bname.EndsWith("running_var", StringComparison.Ordinal)) b.CopyFrom(Tensor.Rand(b.Shape, b.DType, g).Add(0.5));
        int size = Math.Max(info.MinSize, Math.Min(32, info.DefaultSize));
        long[] shape = [1, .. info.InputShape(size, info.IsVideo ? Math.Min(info.Frames, 4) : null)];
        if (model.NamedModules().Any(m => m.Module is DeformConv2d or DeformConv2dPack))
        {
            // ONNX's DeformConv arrived in opset 19: at opset 17 the export must refuse, naming the op.
            Assert.That(() => Onnx.ToBytes(model, shape), Throws.TypeOf<OnnxExportException>().With.Message.Contains("deform_conv2d"));
            return;
        }
        var bytes = Onnx.ToBytes(model, shape);
        var x = Tensor.Randn(shape, DType.Float32, g);
        using var expected = Tensor.NoGrad();
        var logits = model.Eval().Call(x).ToArray<float>();
        var actual = RunOnnx(bytes, x.ToArray<float>(), shape);
        Assert.That(actual, Has.Length.EqualTo(logits.Length), $"{name}: logits count");
        double scale = logits.Max(v => Math.Abs((double)v));
        for (int i = 0; i < logits.Length; i++)
            Assert.That(actual[i], Is.EqualTo(logits[i]).Within(1e-4 * Math.Max(scale, 1)), $"{name}: logit {i} (ONNX Runtime vs engine, scale {scale:G3})");
    }

    [Test]
    public void AnOpOnnxLacksIsNamed()
    {
        using var avg = new Sequential(new AvgPool2d(2, divisorOverride: 3));
        Assert.That(() => Onnx.ToBytes(avg, [1, 1, 4, 4]), Throws.TypeOf<OnnxExportException>().With.Message.Contains("avg_pool2d"));
        Assert.That(() => Onnx.ToBytes(avg, [4]), Throws.TypeOf<OnnxExportException>().With.Message.Contains("input shape"));
    }

    [TestCase(10, 3, 7, 7)]
    [TestCase(5, 7, 1, 6)]
    [TestCase(6, 6, 6, 4)]
    public void UnevenAdaptivePoolingExportsExactly(int h, int w, int outH, int outW)
    {
        var g = TestUtil.Gen();
        using var model = new Sequential(new Conv2d(2, 3, 1), new AdaptiveAvgPool2d(outH, outW), new ReLU(), new AdaptiveMaxPool2d(outH, 2));
        long[] shape = [2, 2, h, w];
        var bytes = Onnx.ToBytes(model, shape);
        var x = Tensor.Randn(shape, DType.Float32, g);
        using var _ = Tensor.NoGrad();
        var expected = model.Call(x).ToArray<float>();
        Assert.That(RunOnnx(bytes, x.ToArray<float>(), shape), Is.EqualTo(expected).Within(1e-5));
    }

    [Test]
    public void ExportWritesTheFileAtomically()
    {
        string dir = Directory.CreateTempSubdirectory("onnx").FullName;
        try
        {
            using var model = new Sequential(new Conv2d(1, 2, 3), new ReLU(), new Flatten(), new Linear(2 * 4 * 4, 3));
            string path = Path.Combine(dir, "m.onnx");
            Onnx.Export(model, [1, 1, 6, 6], path);
            Assert.That(new FileInfo(path).Length, Is.GreaterThan(100));
            Assert.That(Directory.GetFiles(dir), Has.Length.EqualTo(1), "no temporary file is left");
            Assert.That(() => Onnx.Export(model, [1, 1, 6, 6], Path.Combine(dir, "missing", "m.onnx")),
                Throws.TypeOf<OnnxExportException>().With.Message.Contains("missing"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void EngineExportWritesATrainedCheckpointThatOnnxRuntimeRuns()
    {
        string dir = Directory.CreateTempSubdirectory("onnx-cli").FullName;
        try
        {
            var log = new StringWriter();
            int rc = Engine.Cli.TrainCommand.Run(new Engine.Cli.TrainSettings { Epochs = 1, LimitTrain = 64, LimitTest = 32, Output = dir, Workers = 1, Device = "cpu" }, log);
            Assert.That(rc, Is.Zero, log.ToString());
            string ckpt = Path.Combine(dir, "best.safetensors"), onnx = Path.Combine(dir, "lenet5.onnx");
            var outLog = new StringWriter();
            Assert.That(Engine.Cli.ExportCommand.Run(ckpt, onnx, Engine.Cli.ExportFormat.Onnx, null, 2, outLog), Is.Zero, outLog.ToString());
            Assert.That(outLog.ToString(), Does.Contain("[2, 1, 28, 28]"));
            using var model = ModelRegistry.Create("lenet5", new ModelOptions(10, 1, new Generator(0)));
            Checkpoint.Load(ckpt, model);
            var x = Tensor.Randn([2, 1, 28, 28], DType.Float32, TestUtil.Gen());
            using var _ = Tensor.NoGrad();
            var expected = model.Eval().Call(x).ToArray<float>();
            Assert.That(RunOnnx(File.ReadAllBytes(onnx), x.ToArray<float>(), [2, 1, 28, 28]), Is.EqualTo(expected).Within(1e-4));
            var bad = new StringWriter();
            Assert.That(Engine.Cli.ExportCommand.Run(Path.Combine(dir, "none.safetensors"), onnx, Engine.Cli.ExportFormat.Onnx, null, 1, bad), Is.EqualTo(2));
            Assert.That(bad.ToString(), Does.StartWith("error: ").And.Contain("none.safetensors"));
        }
        finally { Directory.Delete(dir, true); }
    }
}
