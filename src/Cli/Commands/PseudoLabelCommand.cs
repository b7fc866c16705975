using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Engine.Nn;

namespace Engine.Cli;

/// <summary>
/// <c>engine pseudo-label</c>: pseudo-labelling (Lee 2013) on the labelled/unlabelled split: every labelled batch is
/// paired with an unlabelled one whose confident predictions (<c>--threshold</c>) become targets, weighted by a linear
/// ramp from <c>--ramp-start</c> to <c>--ramp-end</c> epochs up to <c>--ramp-final</c>.
/// </summary>
internal static class PseudoLabelCommand
{
    public static Command Create()
    {
        var common = new RecipeOptions("runs/pseudo-label", epochs: 15, lr: 0.05);
        var threshold = new Option<double>("--threshold") { Description = "Softmax confidence a prediction needs to become a pseudo-label.", DefaultValueFactory = _ => 0.95 };
        var final = new Option<double>("--ramp-final") { Description = "Weight of the unlabelled loss after the ramp.", DefaultValueFactory = _ => 1.0 };
        var start = new Option<double>("--ramp-start") { Description = "Epoch at which the unlabelled weight starts rising from 0.", DefaultValueFactory = _ => 2.0 };
        var end = new Option<double>("--ramp-end") { Description = "Epoch at which it reaches --ramp-final.", DefaultValueFactory = _ => 8.0 };
        var cmd = new Command("pseudo-label", "Pseudo-labelling: train on labelled data plus the model's own confident predictions on unlabelled data.");
        common.AddTo(cmd);
        foreach (var o in new Option[] { threshold, final, start, end }) cmd.Add(o);
        cmd.SetAction(r => Run(common.Read(r), r.GetValue(threshold), new RampUpSettings(r.GetValue(final), r.GetValue(start), r.GetValue(end)), EngineCommand.Output));
        return cmd;
    }

    internal sealed record RampUpSettings(double Final, double Start, double End);

    public static int Run(RecipeSettings s, double threshold, RampUpSettings ramp, TextWriter log) => RecipeRunner.Guard(log, () =>
    {
        var clock = Stopwatch.StartNew();
        var data = RecipeData.Load(s, log);
        if (data.Unlabelled.Count == 0) throw new RecipeException("pseudo_label", "the unlabelled set is empty: pass --labels-per-class N so part of the training set is unlabelled");
        using var model = data.CreateModel(s.Model, s.Seed);
        var (opt, sched) = RecipeRunner.Sgd([new ParamGroup(model.Parameters())], s, s.Epochs);
        using (opt)
        {
            using var train = data.TrainLoader(data.Labelled, s);
            using var unlabelled = data.TrainLoader(data.Unlabelled, s, salt: 1);
            using var val = data.EvalLoader(data.Validation, s);
            using var pl = new PseudoLabelling(unlabelled, train.Count, threshold, new RampUp(ramp.Final, ramp.Start, ramp.End));
            var trainer = new Trainer(model, opt, data.NumClasses, sched) { Objective = pl.Objective };
            RecipeRunner.Fit(trainer, train, val, s.Epochs, s.Output, data, s.Model, log, new Dictionary<string, string> { ["recipe"] = "pseudo-label" });
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"pseudo-labels: {pl.Accepted:N0} of {pl.Seen:N0} unlabelled samples seen passed the threshold {threshold} ({(pl.Seen == 0 ? 0 : 100.0 * pl.Accepted / pl.Seen):F1}%)"));
        }
        RecipeRunner.ReportTest("pseudo-label", model, data, s, s.Output, clock, log, new Dictionary<string, object>
        {
            ["threshold"] = threshold, ["ramp_final"] = ramp.Final, ["ramp_start"] = ramp.Start, ["ramp_end"] = ramp.End,
        });
        return 0;
    });
}
