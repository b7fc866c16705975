using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary>
/// What the recipe commands share around training: the callbacks of <c>engine train</c> (progress, CSV and JSON-lines
/// logs, best and last checkpoints chosen on the validation split), its plots, the final test-set report of the
/// best-on-validation model, and a results.json line for the experiment tables.
/// </summary>
internal static class RecipeRunner
{
    /// <summary>Trains with the standard callbacks under <paramref name="folder"/> and writes the plots (the "test" curves there are the validation split).</summary>
    public static IReadOnlyList<EpochStats> Fit(Trainer trainer, DataLoader train, DataLoader validation, int epochs, string folder, RecipeData data,
        string modelName, TextWriter log, IReadOnlyDictionary<string, string>? extra = null)
    {
        Directory.CreateDirectory(folder);
        var meta = new Dictionary<string, string>(extra ?? new Dictionary<string, string>()) { ["model"] = modelName };
        trainer.Callbacks.Add(new ProgressReporter(ReferenceEquals(log, Console.Out) ? null : log));
        trainer.Callbacks.Add(new CsvLogger(Path.Combine(folder, "log.csv")));
        trainer.Callbacks.Add(new JsonLinesLogger(Path.Combine(folder, "log.jsonl")));
        trainer.Callbacks.Add(new BestCheckpoint(Path.Combine(folder, "best.safetensors"), Path.Combine(folder, "last.safetensors"), null, meta));
        log.WriteLine("(in the epoch lines and plots, \"test\" is the validation split; the test set is reported once at the end)");
        var history = trainer.Fit(train, validation, epochs);
        Plots.Write(folder, trainer.History, data.ClassNames);
        return history;
    }

    /// <summary>
    /// Loads <paramref name="folder"/>/best.safetensors (chosen on validation) into <paramref name="model"/>, evaluates it
    /// on the test set, prints and appends the result to <paramref name="folder"/>/results.json; returns the test accuracy.
    /// </summary>
    public static double ReportTest(string recipe, Module model, RecipeData data, RecipeSettings s, string folder, Stopwatch clock, TextWriter log,
        IReadOnlyDictionary<string, object>? details = null)
    {
        string best = Path.Combine(folder, "best.safetensors");
        var info = Checkpoint.Load(best, model);
        using var opt = new SGD(model.Parameters(), 0.0);
        using var loader = data.EvalLoader(data.Test, s);
        var (_, metrics) = new Trainer(model, opt, data.NumClasses).Evaluate(loader);
        double val = info.Extra.TryGetValue("test_acc", out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : double.NaN;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{recipe}: validation accuracy {100 * val:F2}% (best epoch {info.Epoch + 1}), test accuracy {100 * metrics.Top1:F2}%, {clock.Elapsed.TotalSeconds:F0}s; wrote {folder}/best.safetensors, last.safetensors, log.csv, loss.png, accuracy.png, confusion.png"));
        Plots.WriteConfusion(Path.Combine(folder, "confusion_test.png"), metrics.Confusion, data.ClassNames);
        AppendResult(folder, recipe, s, new Dictionary<string, object>(details ?? new Dictionary<string, object>())
        {
            ["val_acc"] = val, ["test_acc"] = metrics.Top1, ["best_epoch"] = info.Epoch + 1, ["seconds"] = clock.Elapsed.TotalSeconds,
        });
        return metrics.Top1;
    }

    /// <summary>Appends one JSON object (recipe, seed, labels per class, model, and <paramref name="values"/>) to folder/results.json.</summary>
    public static void AppendResult(string folder, string recipe, RecipeSettings s, IReadOnlyDictionary<string, object> values)
    {
        var row = new Dictionary<string, object?> { ["recipe"] = recipe, ["model"] = s.Model, ["seed"] = s.Seed, ["labels_per_class"] = s.LabelsPerClass, ["classes"] = s.Classes };
        foreach (var (k, v) in values) row[k] = v;
        Directory.CreateDirectory(folder);
        File.AppendAllText(Path.Combine(folder, "results.json"), JsonSerializer.Serialize(row) + "\n");
    }

    /// <summary>SGD with Nesterov momentum over <paramref name="groups"/> and a cosine schedule over <paramref name="epochs"/>.</summary>
    public static (Optimizer Optimizer, LRScheduler Schedule) Sgd(IEnumerable<ParamGroup> groups, RecipeSettings s, int epochs)
    {
        var opt = new SGD(groups, s.Lr, momentum: s.Momentum, weightDecay: s.WeightDecay, nesterov: s.Momentum > 0);
        return (opt, new CosineAnnealingLR(opt, Math.Max(1, epochs)));
    }

    /// <summary>Runs a command body, turning engine errors (typed, with the op and what was wrong) into "error: …" and exit code 2.</summary>
    public static int Guard(TextWriter log, Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (e is EngineException or FileNotFoundException)
        {
            log.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
