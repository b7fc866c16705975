using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Engine.Nn;

namespace Engine.Cli;

/// <summary>
/// <c>engine noisy-student</c>: noisy student (Xie et al. 2020). Phase 0 trains a teacher (<c>--model</c>) on the
/// labelled split; each of <c>--iterations</c> phases labels the unlabelled split with the previous model without noise
/// and trains an equal-or-larger student (<c>--student-model</c>) with noise (<c>--noise-augment</c>, default RandAugment
/// via the "strong" preset, plus <c>--dropout</c> and <c>--stochastic-depth</c> for models that have them). Every phase
/// writes under <c>--output</c>/iteration{k}/; running the same command again resumes where it stopped.
/// </summary>
internal static class NoisyStudentCommand
{
    public static Command Create()
    {
        var common = new RecipeOptions("runs/noisy-student", epochs: 15, lr: 0.05);
        var iterations = new Option<int>("--iterations") { Description = "Student iterations after the teacher.", DefaultValueFactory = _ => 3 };
        var studentModel = new Option<string?>("--student-model") { Description = "The students' model (default: --model); it must have at least as many parameters as the teacher." };
        var threshold = new Option<double>("--threshold") { Description = "Teacher confidence a pseudo-label needs.", DefaultValueFactory = _ => 0.3 };
        var hard = new Option<bool>("--hard-labels") { Description = "Train on the teacher's arg-max class instead of its probabilities." };
        var noBalance = new Option<bool>("--no-balance") { Description = "Keep every confident pseudo-label instead of balancing the classes." };
        var perClass = new Option<int>("--per-class") { Description = "Pseudo-labelled images per class when balancing (0: the mean after filtering).", DefaultValueFactory = _ => 0 };
        var noise = new Option<string>("--noise-augment") { Description = "The students' input noise: an augmentation preset.", DefaultValueFactory = _ => "strong" };
        noise.AcceptOnlyFromAmong([.. Engine.Nn.Data.Augmentations.PresetNames]);
        var dropout = new Option<double?>("--dropout") { Description = "Dropout rate of the students (models with dropout)." };
        var depth = new Option<double?>("--stochastic-depth") { Description = "Stochastic-depth rate of the students (models with residual blocks)." };
        var cmd = new Command("noisy-student", "Noisy student: iterated self-training with an equal-or-larger, noised student; resumable per phase.");
        common.AddTo(cmd);
        foreach (var o in new Option[] { iterations, studentModel, threshold, hard, noBalance, perClass, noise, dropout, depth }) cmd.Add(o);
        cmd.SetAction(r => Run(common.Read(r), new NoisySettings(r.GetValue(iterations), r.GetValue(studentModel), r.GetValue(threshold), !r.GetValue(hard),
            !r.GetValue(noBalance), r.GetValue(perClass), r.GetValue(noise)!, r.GetValue(dropout), r.GetValue(depth)), EngineCommand.Output));
        return cmd;
    }

    internal sealed record NoisySettings(int Iterations, string? StudentModel, double Threshold, bool Soft, bool Balance, int PerClass, string Noise, double? Dropout, double? StochasticDepth);

    public static int Run(RecipeSettings s, NoisySettings n, TextWriter log) => RecipeRunner.Guard(log, () =>
    {
        var clock = Stopwatch.StartNew();
        var data = RecipeData.Load(s, log);
        string student = n.StudentModel ?? s.Model;
        Engine.Models.ModelRegistry.Info(student); // validates the name before any training
        var h = (int)data.InputShape[1];
        var options = new NoisyStudentOptions
        {
            Iterations = n.Iterations, Epochs = s.Epochs, BatchSize = s.BatchSize, Lr = s.Lr, Momentum = s.Momentum, WeightDecay = s.WeightDecay,
            Threshold = n.Threshold, SoftLabels = n.Soft, Balance = n.Balance, PerClass = n.PerClass, CleanTransform = data.CleanTransform,
            NoisyTransform = Engine.Nn.Data.Augmentations.Preset(n.Noise, h, (int)data.InputShape[2], RecipeData.Normalization),
            NumClasses = data.NumClasses, Device = data.Device, Seed = s.Seed, Workers = s.Workers,
        };
        var ns = new NoisyStudent(data.Labelled, data.Unlabelled, data.Validation,
            k => k == 0 ? data.CreateModel(s.Model, s.Seed) : data.CreateModel(student, s.Seed + (ulong)k, dropout: n.Dropout, stochasticDepth: n.StochasticDepth),
            options, s.Output) { Log = log };
        ns.ConfigureTrainer = (trainer, k) =>
        {
            string dir = ns.PhaseFolder(k);
            log.WriteLine($"iteration {k}: {(k == 0 ? "teacher " + s.Model + " on the labelled split" : "student " + student + " on labelled + pseudo-labelled data, with noise")}");
            trainer.Callbacks.Add(new ProgressReporter(ReferenceEquals(log, Console.Out) ? null : log));
            trainer.Callbacks.Add(new CsvLogger(Path.Combine(dir, "log.csv")));
            trainer.Callbacks.Add(new JsonLinesLogger(Path.Combine(dir, "log.jsonl")));
        };
        var (final, phases) = ns.Run();
        final.Dispose();
        var val = new double[phases.Count];
        var test = new double[phases.Count];
        foreach (var p in phases)
        {
            string dir = ns.PhaseFolder(p.Iteration);
            if (p.History.Count > 0) Plots.Write(dir, p.History, data.ClassNames);
            using var model = p.Iteration == 0 ? data.CreateModel(s.Model, s.Seed) : data.CreateModel(student, s.Seed);
            Checkpoint.Load(Path.Combine(dir, "final.safetensors"), model);
            using var opt = new SGD(model.Parameters(), 0.0);
            var trainer = new Trainer(model, opt, data.NumClasses);
            using (var vl = data.EvalLoader(data.Validation, s)) val[p.Iteration] = trainer.Evaluate(vl).Metrics.Top1;
            using (var tl = data.EvalLoader(data.Test, s)) test[p.Iteration] = trainer.Evaluate(tl).Metrics.Top1;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"iteration {p.Iteration}{(p.Loaded ? " (loaded)" : "")}: {p.TrainSamples} training samples ({p.PseudoLabelled} pseudo-labelled), validation {100 * val[p.Iteration]:F2}%, test {100 * test[p.Iteration]:F2}%"));
            RecipeRunner.AppendResult(s.Output, "noisy-student", s, new Dictionary<string, object>
            {
                ["iteration"] = p.Iteration, ["val_acc"] = val[p.Iteration], ["test_acc"] = test[p.Iteration], ["pseudo_labelled"] = p.PseudoLabelled,
                ["threshold"] = n.Threshold, ["soft"] = n.Soft, ["balance"] = n.Balance, ["seconds"] = clock.Elapsed.TotalSeconds,
            });
        }
        RecipePlots.Accuracy(Path.Combine(s.Output, "iterations.png"), "Noisy student: accuracy per iteration (0 = teacher)", "iteration",
            [.. Enumerable.Range(0, phases.Count).Select(i => (double)i)], ("validation", val), ("test", test));
        log.WriteLine($"wrote {s.Output}/iteration*/ (final, best, last checkpoints, logs, plots), results.json, iterations.png; {clock.Elapsed.TotalSeconds:F0}s");
        return 0;
    });
}
