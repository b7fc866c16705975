using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Models;
using Engine.Nn;

namespace Engine.Benchmarks;

/// <summary>
/// CPU training and inference throughput of the model families at CIFAR size (3×32×32, 10 classes; video models on
/// clips of a given frame count, 3×T×32×32): one SGD step (forward, cross-entropy incl. auxiliary heads, backward,
/// update) and one eval-mode forward without gradients, on a fixed random batch. The column <c>images/s</c> is the batch over the median time. <c>benchmarks/models-cpu.sh</c>
/// runs the same cases in Debian's PyTorch (same threads) in the same run and prints the ratio.
/// </summary>
[Config(typeof(ColumnsConfig))]
public class ModelBenchmarks
{
    private sealed class ColumnsConfig : ManualConfig
    {
        public ColumnsConfig() =>
            AddColumn(new ThroughputColumn("images/s", "batch / median time",
                c => c.Parameters.Items.FirstOrDefault(p => p.Name == nameof(Case))?.Value is ModelCase m ? m.Batch * 1e9 : null));
    }

    /// <summary>A model at an input size and batch, and for a video model the clip length.</summary>
    public sealed record ModelCase(string Name, int Size, int Batch, int Frames = 0)
    {
        /// <summary>The model name alone: BenchmarkDotNet shortens longer parameter texts, and a name is one case.</summary>
        public override string ToString() => Name;
    }

    /// <summary>The default cases: the small models the README records accuracy for, and one of each larger family at 32×32.</summary>
    public const string DefaultCases =
        "lenet5:28:128,resnet20:32:64,resnet18:32:32,mobilenet_v2:32:32,efficientnet_b0:32:32,densenet121:32:16,vgg11_bn:32:32," +
        "googlenet:32:16,shufflenet_v2_x1_0:32:32,squeezenet1_1:32:32,r3d_18:32:4:8";

    /// <summary>The cases, "name:size:batch[:frames],..." (frames for video models only) from <c>ENGINE_MODEL_CASES</c> (models-cpu.sh passes the same list to PyTorch) or <see cref="DefaultCases"/>.</summary>
    public static IEnumerable<ModelCase> Cases()
    {
        foreach (var (item, f) in CaseList.Read("ENGINE_MODEL_CASES", DefaultCases))
        {
            if (f.Length is not (3 or 4)) throw new ArgumentException($"ENGINE_MODEL_CASES: '{item}' is not name:size:batch or name:size:batch:frames");
            if (!ModelRegistry.Names.Contains(f[0], StringComparer.OrdinalIgnoreCase)) continue;
            // PyTorch's side cannot see ModelInfo, so a clip length must be named exactly for the video models.
            if (ModelRegistry.Info(f[0]).IsVideo != (f.Length == 4))
                throw new ArgumentException($"ENGINE_MODEL_CASES: '{item}': video models take name:size:batch:frames, image models name:size:batch");
            yield return new ModelCase(f[0], int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture),
                f.Length == 4 ? int.Parse(f[3], CultureInfo.InvariantCulture) : 0);
        }
    }

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public ModelCase Case { get; set; } = new("lenet5", 28, 128);

    private Module _model = null!;
    private SGD _sgd = null!;
    private Trainer _trainer = null!;
    private Tensor _images = null!, _labels = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(42);
        var info = ModelRegistry.Info(Case.Name);
        _model = ModelRegistry.Create(Case.Name, new ModelOptions(10, info.DefaultChannels, g));
        _sgd = new SGD(_model.Parameters(), 0.01, momentum: 0.9);
        _trainer = new Trainer(_model, _sgd, 10);
        _images = Tensor.Randn([Case.Batch, .. info.InputShape(Case.Size, Case.Frames)], DType.Float32, g).DetachFromDisposeScope();
        var labels = new long[Case.Batch];
        for (int i = 0; i < labels.Length; i++) labels[i] = i % 10;
        _labels = Tensor.FromArray(labels, Case.Batch).DetachFromDisposeScope();
    }

    [Benchmark]
    public void TrainStep()
    {
        using var s = Tensor.NewDisposeScope();
        _model.Train();
        _sgd.ZeroGrad();
        _trainer.TrainingLoss(_images, _labels).Loss.Backward();
        _sgd.Step();
    }

    [Benchmark]
    public void Inference()
    {
        using var s = Tensor.NewDisposeScope();
        using var ng = Tensor.NoGrad();
        _model.Eval();
        _model.Call(_images);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _images.Dispose();
        _labels.Dispose();
        _sgd.Dispose();
        _model.Dispose();
    }
}
