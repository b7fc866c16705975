using System.CommandLine;
using System.Diagnostics;
using Engine.Nn;

namespace Engine.Cli;

/// <summary>
/// <c>engine finetune</c>: transfer learning. Loads pretrained weights (an engine checkpoint or a PyTorch safetensors
/// state dict) except the head, replaces the head for the task's classes, and trains the head only (approach 1,
/// <c>--approach head</c>: the backbone frozen, its BatchNorm in eval mode) or everything with a small learning rate for
/// the backbone and a large one for the head (approach 2, <c>--approach full</c>); <c>--approach scratch</c> trains the
/// same model from random weights (the baseline, and how to train a source model on some <c>--classes</c>).
/// </summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var common = new RecipeOptions("runs/finetune", epochs: 15, lr: 0.05);
        var weights = new Option<string?>("--weights") { Description = "Pretrained weights: an engine checkpoint or a safetensors state dict (e.g. exported from PyTorch)." };
        var head = new Option<string?>("--head") { Description = "The head's module path (fc, classifier.6, classifier.1, classifier, ...; default: the last Linear layer)." };
        var approach = new Option<string>("--approach") { Description = "head (train the new head only), full (fine-tune everything, --backbone-lr for the backbone) or scratch (no pretrained weights).", DefaultValueFactory = _ => "full" };
        approach.AcceptOnlyFromAmong("head", "full", "scratch");
        var backboneLr = new Option<double?>("--backbone-lr") { Description = "Learning rate of the pretrained part with --approach full (default: --lr / 10)." };
        var cmd = new Command("finetune", "Transfer learning: replace the head of a pretrained model and train the head only or everything with per-group learning rates.");
        common.AddTo(cmd);
        cmd.Add(weights); cmd.Add(head); cmd.Add(approach); cmd.Add(backboneLr);
        cmd.SetAction(r => Run(common.Read(r), r.GetValue(weights), r.GetValue(head), r.GetValue(approach)!, r.GetValue(backboneLr), EngineCommand.Output));
        return cmd;
    }

    public static int Run(RecipeSettings s, string? weights, string? head, string approach, double? backboneLr, TextWriter log) => RecipeRunner.Guard(log, () =>
    {
        const string op = "finetune";
        if (approach == "scratch" && weights is not null) throw new RecipeException(op, "--approach scratch trains from random weights; drop --weights or choose head or full");
        if (approach != "scratch" && weights is null) throw new RecipeException(op, $"--approach {approach} needs --weights (a checkpoint or safetensors file)");
        var clock = Stopwatch.StartNew();
        var data = RecipeData.Load(s, log);
        using var model = data.CreateModel(s.Model, s.Seed);
        string headPath = ClassifierHead.Replace(model, data.NumClasses, head, new Generator(s.Seed + 1));
        IReadOnlyList<ParamGroup> groups;
        if (weights is not null)
        {
            PretrainedWeights.Load(model, weights, skip: headPath, expectedModel: s.Model);
            log.WriteLine($"loaded {weights} into {s.Model} except its head '{headPath}', now {data.NumClasses} classes");
        }
        if (approach == "head")
            groups = [new ParamGroup(FineTuning.FreezeBackbone(model, headPath), lr: s.Lr)];
        else if (approach == "full")
            groups = FineTuning.DiscriminativeGroups(model, headPath, backboneLr ?? s.Lr / 10, s.Lr);
        else
            groups = [new ParamGroup(model.Parameters(), lr: s.Lr)];
        log.WriteLine($"approach {approach}: {groups.Sum(g => g.Params.Sum(p => p.NumEl)):N0} of {model.ParameterCount():N0} parameters trained; learning rates {string.Join(", ", groups.Select(g => g.Lr))}");
        var (opt, sched) = RecipeRunner.Sgd(groups, s, s.Epochs);
        using (opt)
        {
            using var train = data.TrainLoader(data.Labelled, s);
            using var val = data.EvalLoader(data.Validation, s);
            var trainer = new Trainer(model, opt, data.NumClasses, sched);
            RecipeRunner.Fit(trainer, train, val, s.Epochs, s.Output, data, s.Model, log, new Dictionary<string, string> { ["recipe"] = "finetune-" + approach });
        }
        RecipeRunner.ReportTest("finetune-" + approach, model, data, s, s.Output, clock, log, new Dictionary<string, object> { ["approach"] = approach, ["weights"] = weights ?? "" });
        return 0;
    });
}
