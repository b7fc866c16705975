using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary>
/// <c>engine deform-demo</c>: the deformable-convolution experiment. A small CNN whose last three 3×3 convs are
/// deformable (<see cref="DeformConv2dPack"/>) and its plain twin (the same net with <see cref="Conv2d"/> there) are
/// trained with the same seed, data order and epochs on Fashion-MNIST under strong random rotation and scaling
/// (<see cref="RandomAffine"/>, on the test images too), and both test accuracies are reported. It then draws, as Dai
/// et al. 2017 (figure 5) do, the 9×9×9 sampling locations of one activation unit of the last deformable layer,
/// traced back through the three deformable layers onto a few test images (<see cref="SamplingPlot"/>).
/// </summary>
internal static class DeformDemoCommand
{
    public static Command Create()
    {
        var epochs = new Option<int>("--epochs") { Description = "Training epochs of each net.", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch-size") { Description = "Images per batch.", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate (cosine-annealed; the offset predictors get 0.1x, as mmcv's DCN configs).", DefaultValueFactory = _ => 3e-3 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the weights, the data order and the augmentation.", DefaultValueFactory = _ => 1 };
        var degrees = new Option<double>("--degrees") { Description = "Random rotation range, ±degrees.", DefaultValueFactory = _ => 60 };
        var scaleMin = new Option<double>("--scale-min") { Description = "Smallest random scale.", DefaultValueFactory = _ => 0.6 };
        var scaleMax = new Option<double>("--scale-max") { Description = "Largest random scale.", DefaultValueFactory = _ => 1.3 };
        var testSize = new Option<int>("--test-size") { Description = "Test images used, the first of the set (0: all).", DefaultValueFactory = _ => 0 };
        var trainSize = new Option<int>("--train-size") { Description = "Training images used, the first of the set (0: all; the embedded subset has 6,000).", DefaultValueFactory = _ => 6000 };
        var modulated = new Option<bool>("--modulated") { Description = "Modulated deformable convs (DCNv2) instead of DCNv1." };
        var data = new Option<string?>("--data") { Description = "Folder with the Fashion-MNIST IDX files (default: installed set, else the embedded 6,000 + 1,000 subset)." };
        var output = new Option<string>("--output") { Description = "Folder for the sampling-point PNG.", DefaultValueFactory = _ => "runs/deform-demo" };
        var workers = new Option<int>("--workers") { Description = "Background data-loading threads.", DefaultValueFactory = _ => 1 };
        var cmd = new Command("deform-demo", "Train a small deformable CNN and its plain twin on rotated/scaled Fashion-MNIST; draw the learned sampling points.");
        foreach (var o in new Option[] { epochs, batch, lr, seed, degrees, scaleMin, scaleMax, trainSize, testSize, modulated, data, output, workers }) cmd.Add(o);
        cmd.SetAction(r => Run(new DeformDemoSettings(r.GetValue(epochs), r.GetValue(batch), r.GetValue(lr), r.GetValue(seed), r.GetValue(degrees),
            r.GetValue(scaleMin), r.GetValue(scaleMax), r.GetValue(trainSize), r.GetValue(testSize), r.GetValue(modulated), r.GetValue(data), r.GetValue(output)!,
            r.GetValue(workers)), EngineCommand.Output));
        return cmd;
    }

    /// <summary>Runs the experiment, writing progress and the two accuracies to <paramref name="log"/>; 0 on success.</summary>
    public static int Run(DeformDemoSettings s, TextWriter log) => RecipeRunner.Guard(log, () =>
    {
        if (s.Epochs < 1 || s.BatchSize < 1 || s.TrainSize < 0 || s.TestSize < 0 || s.Workers < 0)
            throw new RecipeException("deform-demo", $"--epochs and --batch-size must be positive, --train-size, --test-size and --workers non-negative (got {s.Epochs}, {s.BatchSize}, {s.TrainSize}, {s.TestSize}, {s.Workers})");
        var clock = Stopwatch.StartNew();
        IDataset train = FashionMnist.Load(s.Data, train: true), test = FashionMnist.Load(s.Data, train: false);
        if (s.TrainSize > 0 && s.TrainSize < train.Count) train = new Subset(train, [.. Enumerable.Range(0, s.TrainSize)]);
        if (s.TestSize > 0 && s.TestSize < test.Count) test = new Subset(test, [.. Enumerable.Range(0, s.TestSize)]);
        var augment = new Compose(new RandomAffine(s.Degrees, scale: (s.ScaleMin, s.ScaleMax), interpolation: Interpolation.Bilinear), RecipeData.Normalization);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"data: Fashion-MNIST, {train.Count} training and {test.Count} test images, every one rotated by up to ±{s.Degrees}° and scaled by {s.ScaleMin}-{s.ScaleMax} (a fresh draw per epoch; the test draw is fixed)"));
        Directory.CreateDirectory(s.Output);
        var results = new List<(string Name, double Top1)>();
        foreach (bool deformable in new[] { false, true })
        {
            using var net = DeformDemoNet.Create(deformable, s.Modulated, new Generator(s.Seed));
            string name = deformable ? (s.Modulated ? "deformable (DCNv2)" : "deformable (DCNv1)") : "plain";
            using var trainLoader = new DataLoader(train, s.BatchSize, shuffle: true, dropLast: true, transform: augment, numWorkers: s.Workers, seed: s.Seed);
            using var testLoader = new DataLoader(test, 250, transform: augment, numWorkers: s.Workers, seed: s.Seed + 1);
            bool IsOffset((string Name, Tensor Parameter) p) => p.Name.Contains("conv_offset", StringComparison.Ordinal);
            var offsets = net.NamedParameters().Where(IsOffset).Select(p => p.Parameter).ToList();
            var rest = net.NamedParameters().Where(p => !IsOffset(p)).Select(p => p.Parameter).ToList();
            ParamGroup[] groups = offsets.Count == 0 ? [new(rest)] : [new(rest), new(offsets, lr: s.Lr * 0.1)];
            using var opt = new Adam(groups, lr: s.Lr);
            var schedule = new CosineAnnealingLR(opt, s.Epochs);
            var trainer = new Trainer(net, opt, 10, schedule);
            long parameters = net.ParameterCount();
            var history = trainer.Fit(trainLoader, testLoader, s.Epochs);
            foreach (var e in history)
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-19} epoch {e.Epoch + 1}/{s.Epochs}: train loss {e.TrainLoss:F4}, train {100 * e.TrainTop1:F2}%, test {100 * e.TestTop1!.Value:F2}% ({e.Seconds:F1} s)"));
            results.Add((name, history[^1].TestTop1!.Value));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {parameters:N0} parameters, test top-1 {100 * history[^1].TestTop1!.Value:F2}%"));
            if (deformable)
            {
                string png = Path.Combine(s.Output, "deform_sampling.png");
                using var scope = Tensor.NewDisposeScope();
                var first = testLoader.GetEpoch(0).First();
                int shown = (int)Math.Min(4, first.Size);
                SamplingPlot.Write(png, net, first.Images.Narrow(0, 0, shown), [.. first.Labels.ToArray<long>().Take(shown).Select(l => FashionMnist.ClassNames[(int)l])]);
                first.Dispose();
                log.WriteLine($"sampling points: {png}");
            }
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"result: plain {100 * results[0].Top1:F2}%, {results[1].Name} {100 * results[1].Top1:F2}% test top-1 after {s.Epochs} epochs (seed {s.Seed}, {clock.Elapsed.TotalSeconds:F0} s)"));
        return 0;
    });
}

/// <summary>The options of <c>engine deform-demo</c>.</summary>
internal sealed record DeformDemoSettings(int Epochs, int BatchSize, double Lr, ulong Seed, double Degrees, double ScaleMin, double ScaleMax, int TrainSize,
    int TestSize, bool Modulated, string? Data, string Output, int Workers);
