using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Engine.Nn;

namespace Engine.Cli;

/// <summary>
/// <c>engine distill</c>: knowledge distillation (Hinton et al. 2015). A trained teacher checkpoint, frozen in eval mode,
/// gives soft targets at <c>--temperature</c>; the student (<c>--student</c> or <c>--model</c>) minimises
/// α·T²·KL + (1 − α)·CE on the labelled split. <c>--cache-teacher</c> computes the teacher's logits once (exact without
/// augmentation; see <see cref="TeacherLogitCache"/>).
/// </summary>
internal static class DistillCommand
{
    public static Command Create()
    {
        var common = new RecipeOptions("runs/distill", epochs: 15, lr: 0.05);
        var teacher = new Option<string>("--teacher") { Description = "The teacher's checkpoint (e.g. runs/latest/best.safetensors).", Required = true };
        var teacherModel = new Option<string?>("--teacher-model") { Description = "The teacher's model (default: the one recorded in its checkpoint)." };
        var student = new Option<string?>("--student") { Description = "The student model (same as --model)." };
        var temperature = new Option<double>("--temperature") { Description = "Softmax temperature T.", DefaultValueFactory = _ => 4.0 };
        var alpha = new Option<double>("--alpha") { Description = "Weight of the soft (teacher) term; 1 - alpha weighs the labels' cross-entropy.", DefaultValueFactory = _ => 0.7 };
        var cache = new Option<bool>("--cache-teacher") { Description = "Compute the teacher's logits once on unaugmented images (exact with --augment none, an approximation otherwise)." };
        var cmd = new Command("distill", "Knowledge distillation: train a student on a frozen teacher's soft targets and the labels.");
        common.AddTo(cmd);
        foreach (var o in new Option[] { teacher, teacherModel, student, temperature, alpha, cache }) cmd.Add(o);
        cmd.SetAction(r =>
        {
            var s = common.Read(r);
            if (r.GetValue(student) is { } st) s = s with { Model = st };
            return Run(s, r.GetValue(teacher)!, r.GetValue(teacherModel), r.GetValue(temperature), r.GetValue(alpha), r.GetValue(cache), EngineCommand.Output);
        });
        return cmd;
    }

    public static int Run(RecipeSettings s, string teacherPath, string? teacherModel, double temperature, double alpha, bool cacheTeacher, TextWriter log) => RecipeRunner.Guard(log, () =>
    {
        if (!File.Exists(teacherPath)) throw new RecipeException("distill", $"no teacher checkpoint '{teacherPath}'");
        var clock = Stopwatch.StartNew();
        var recorded = PretrainedWeights.RecordedModel(SafeTensors.ReadHeader(teacherPath).Metadata);
        string teacherName = teacherModel ?? recorded
            ?? throw new RecipeException("distill", $"'{teacherPath}' records no model name; pass --teacher-model");
        var data = RecipeData.Load(s, log);
        using var teacher = data.CreateModel(teacherName, s.Seed);
        PretrainedWeights.Load(teacher, teacherPath, expectedModel: teacherName);
        using var kd = new Distillation(teacher, temperature, alpha);
        using var student = data.CreateModel(s.Model, s.Seed + 1);
        using var val = data.EvalLoader(data.Validation, s);
        using (var probe = new SGD(teacher.Parameters(), 0.0))
        {
            var (_, tm) = new Trainer(teacher, probe, data.NumClasses).Evaluate(val);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"teacher {teacherName} ({teacher.ParameterCount():N0} parameters): validation accuracy {100 * tm.Top1:F2}%; student {s.Model} ({student.ParameterCount():N0}); T = {temperature}, alpha = {alpha}"));
        }
        if (cacheTeacher)
        {
            if (s.Augment != "none") log.WriteLine($"note: --cache-teacher with --augment {s.Augment}: the teacher sees the clean images, the student augmented ones (an approximation)");
            kd.CacheTeacher(data.Labelled, data.CleanTransform, device: data.Device, workers: s.Workers);
        }
        var (opt, sched) = RecipeRunner.Sgd([new ParamGroup(student.Parameters())], s, s.Epochs);
        using (opt)
        {
            using var train = data.TrainLoader(data.Labelled, s);
            var trainer = new Trainer(student, opt, data.NumClasses, sched) { Objective = kd.Objective };
            RecipeRunner.Fit(trainer, train, val, s.Epochs, s.Output, data, s.Model, log, new Dictionary<string, string> { ["recipe"] = "distill", ["teacher"] = teacherName });
        }
        RecipeRunner.ReportTest("distill", student, data, s, s.Output, clock, log, new Dictionary<string, object>
        {
            ["teacher"] = teacherName, ["temperature"] = temperature, ["alpha"] = alpha, ["cache_teacher"] = cacheTeacher,
        });
        return 0;
    });
}
