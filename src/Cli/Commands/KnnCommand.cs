using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Engine.Nn;

namespace Engine.Cli;

/// <summary>
/// <c>engine knn</c>: the k-nearest-neighbour baseline on raw pixels or on a trained network's penultimate features
/// (<c>--checkpoint</c>), with L1, L2 or cosine distance. The labelled split is the memory; k is chosen from
/// <c>--k</c> on the validation split and then reported on the test set.
/// </summary>
internal static class KnnCommand
{
    public static Command Create()
    {
        var common = new RecipeOptions("runs/knn", epochs: 0, lr: 0, augment: "none");
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A trained network whose penultimate features to use (default: raw pixels)." };
        var head = new Option<string?>("--head") { Description = "The network's head; its input is the feature vector (default: the last Linear)." };
        var metric = new Option<string>("--metric") { Description = "l1, l2 or cosine.", DefaultValueFactory = _ => "l2" };
        metric.AcceptOnlyFromAmong("l1", "l2", "cosine");
        var ks = new Option<string>("--k") { Description = "Comma-separated neighbour counts to try (chosen on validation).", DefaultValueFactory = _ => "1,3,5,9,15" };
        var cmd = new Command("knn", "k-nearest-neighbour classification on pixels or on a network's penultimate features.");
        common.AddTo(cmd);
        foreach (var o in new Option[] { checkpoint, head, metric, ks }) cmd.Add(o);
        cmd.SetAction(r => Run(common.Read(r), r.GetValue(checkpoint), r.GetValue(head), r.GetValue(metric)!, r.GetValue(ks)!, EngineCommand.Output));
        return cmd;
    }

    public static int Run(RecipeSettings s, string? checkpoint, string? head, string metricName, string kList, TextWriter log) => RecipeRunner.Guard(log, () =>
    {
        int[] ks;
        try { ks = [.. kList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(k => int.Parse(k, CultureInfo.InvariantCulture))]; }
        catch (FormatException) { throw new RecipeException("knn", $"--k must be comma-separated integers, got '{kList}'"); }
        if (ks.Length == 0 || ks.Any(k => k < 1)) throw new RecipeException("knn", $"--k needs positive neighbour counts, got '{kList}'");
        var metric = metricName switch { "l1" => DistanceMetric.L1, "cosine" => DistanceMetric.Cosine, _ => DistanceMetric.L2 };
        var clock = Stopwatch.StartNew();
        var data = RecipeData.Load(s, log);
        Directory.CreateDirectory(s.Output);
        Module? model = null;
        try
        {
            if (checkpoint is not null)
            {
                if (!File.Exists(checkpoint)) throw new RecipeException("knn", $"no checkpoint '{checkpoint}'");
                var recorded = PretrainedWeights.RecordedModel(SafeTensors.ReadHeader(checkpoint).Metadata) ?? s.Model;
                model = data.CreateModel(recorded, s.Seed);
                PretrainedWeights.Load(model, checkpoint, expectedModel: recorded);
                s = s with { Model = recorded };
            }
            Tensor Features(Engine.Nn.Data.IDataset d) => model is null
                ? FeatureExtractor.Pixels(d, data.CleanTransform, device: data.Device)
                : FeatureExtractor.Penultimate(model, d, head, data.CleanTransform, device: data.Device);
            Tensor Labels(Engine.Nn.Data.IDataset d) => Tensor.FromArray([.. Enumerable.Range(0, d.Count).Select(d.LabelOf)]).To(data.Device);
            using var scope = Tensor.NewDisposeScope();
            var memory = Features(data.Labelled);
            var memoryLabels = Labels(data.Labelled);
            var valX = Features(data.Validation);
            var testX = Features(data.Test);
            string source = model is null ? "pixels" : $"{s.Model} features";
            log.WriteLine($"k-NN on {source} ({memory.Size(1)} dimensions), {metricName}, {memory.Size(0)} stored images");
            var valAcc = new double[ks.Length];
            for (int i = 0; i < ks.Length; i++)
            {
                using var knn = new KNearestNeighbors(memory, memoryLabels, data.NumClasses, ks[i], metric);
                valAcc[i] = knn.Accuracy(valX, Labels(data.Validation));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"k = {ks[i]}: validation accuracy {100 * valAcc[i]:F2}%"));
            }
            int best = ks[Array.IndexOf(valAcc, valAcc.Max())];
            double testAcc;
            using (var knn = new KNearestNeighbors(memory, memoryLabels, data.NumClasses, best, metric)) testAcc = knn.Accuracy(testX, Labels(data.Test));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"knn: k = {best} (chosen on validation): validation {100 * valAcc.Max():F2}%, test accuracy {100 * testAcc:F2}%, {clock.Elapsed.TotalSeconds:F0}s; wrote {s.Output}/results.json, knn_k.png"));
            RecipePlots.Accuracy(Path.Combine(s.Output, "knn_k.png"), $"k-NN on {source} ({metricName}): validation accuracy", "k", [.. ks.Select(k => (double)k)], ("validation", valAcc));
            RecipeRunner.AppendResult(s.Output, "knn", s, new Dictionary<string, object>
            {
                ["features"] = source, ["metric"] = metricName, ["k"] = best, ["val_acc"] = valAcc.Max(), ["test_acc"] = testAcc, ["seconds"] = clock.Elapsed.TotalSeconds,
            });
            return 0;
        }
        finally { model?.Dispose(); }
    });
}
