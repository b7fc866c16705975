using System.Globalization;
using Engine.Models;
using Engine.Nn;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// Whole training steps of the model families on the GPU, fp32 at each model's published input (224×224 for the
/// image models; 16 frames of 112×112 for r3d_18, issue 13's video case, whose 3-D convolutions go to cuDNN) with 1000
/// classes (the cases, next to PyTorch's images/s on an H100 where issue 12 gives one): SGD with momentum, forward, cross-entropy (plus weighted auxiliary heads for
/// GoogLeNet), backward, update. The same cases run in the GPU machine's own PyTorch from <c>benchmarks/models_torch.py</c>
/// in the same session (<c>gpu-session.sh</c>), which gives the ratio on the same GPU. Each case frees its model and
/// activations before the next, and a case that fails (e.g. out of memory) is reported and the rest still run.
/// </summary>
public sealed class ModelTrainingGpuBenchmarks : IGpuBenchmark
{
    /// <summary>(model, batch, PyTorch images/s on an H100 from issue 12, or null where it has none).</summary>
    public static readonly (string Model, int Batch, double? H100)[] Cases =
    [
        ("resnet50", 64, 1705), ("vgg16", 64, 1202), ("alexnet", 128, 15764), ("resnet18", 128, 4728),
        ("efficientnet_b0", 128, 1842), ("mobilenet_v2", 128, 2301), ("densenet121", 64, 1066), ("googlenet", 128, 3273),
        ("r3d_18", 8, null),
    ];

    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        var device = Device.Cuda(0);
        foreach (var (name, batch, h100) in Cases)
        {
            if (!ModelRegistry.Names.Contains(name, StringComparer.OrdinalIgnoreCase)) continue;
            try
            {
                var g = new Generator(0);
                var shape = ModelRegistry.InputShape(name);
                using var model = ModelRegistry.Create(name, new ModelOptions(1000, 3, g));
                model.To(device).Train();
                using var sgd = new SGD(model.Parameters(), 0.01, momentum: 0.9);
                var trainer = new Trainer(model, sgd, 1000);
                using var x = Tensor.Randn([batch, .. shape], DType.Float32, g, device);
                var labels = new long[batch];
                for (int i = 0; i < batch; i++) labels[i] = i * 7 % 1000;
                using var yCpu = Tensor.FromArray(labels, batch);
                using var y = yCpu.To(device);
                suite.ModelCase(name, string.Join("x", shape), batch, () =>
                {
                    using var s = Tensor.NewDisposeScope();
                    sgd.ZeroGrad();
                    trainer.TrainingLoss(x, y).Loss.Backward();
                    sgd.Step();
                }, h100);
            }
            catch (EngineException e)
            {
                Console.WriteLine($"| {name} | failed: {e.Message.Split('\n')[0]} |");
            }
            Cuda.EmptyCache();
        }
    }
}
