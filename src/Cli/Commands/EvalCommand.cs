using System.CommandLine;
using System.Globalization;
using Engine.Models;
using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary><c>engine eval</c>: loads a checkpoint and reports loss, top-1/top-5 accuracy and the confusion matrix on the test set.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint written by 'engine train' (e.g. runs/latest/best.safetensors).", Required = true };
        var model = new Option<string>("--model") { Description = "Model family (default: the one recorded in the checkpoint, else lenet5)." };
        var data = new Option<string?>("--data") { Description = "Folder with the Fashion-MNIST IDX files (default: installed set, else the embedded subset)." };
        var device = new Option<string>("--device") { Description = TrainCommand.DeviceHelp, DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong(TrainCommand.DeviceNames);
        var output = new Option<string?>("--confusion-png") { Description = "Also write the confusion matrix as a PNG here." };
        var cmd = new Command("eval", "Evaluate a trained checkpoint on the Fashion-MNIST test set.") { checkpoint, model, data, device, output };
        cmd.SetAction(r => Run(r.GetValue(checkpoint)!, r.GetValue(model), r.GetValue(data), r.GetValue(device)!, r.GetValue(output), EngineCommand.Output));
        return cmd;
    }

    public static int Run(string checkpoint, string? modelName, string? data, string deviceName, string? confusionPng, TextWriter log)
    {
        try
        {
            OptionFiles.ReadableFile("--checkpoint", checkpoint);
            var dataInfo = FashionMnist.Info;
            var (info, side, auxLogits) = ModelInput.FromCheckpoint(checkpoint, modelName, dataInfo);
            var device = TrainCommand.ResolveDevice(deviceName, log);
            using var net = info.Create(ModelInput.Options(dataInfo) with { AuxLogits = auxLogits });
            var ckpt = Checkpoint.Load(checkpoint, net);
            net.To(device);
            var test = FashionMnist.Load(data, train: false);
            using var loader = new DataLoader(test, 256, transform: ModelInput.Transform("none", side, dataInfo), device: device);
            using var opt = new SGD(net.Parameters(), 0.0);
            var trainer = new Trainer(net, opt, dataInfo.NumClasses);
            var (loss, metrics) = trainer.Evaluate(loader);
            if (metrics.Count == 0) throw new DataException("eval", data, "the test set has no images, so there is nothing to evaluate");
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{info.Name} from {checkpoint} (epoch {ckpt.Epoch + 1}) on {test.Count} test images ({test.Source}): loss {loss:F4}, top-1 {100 * metrics.Top1:F2}%, top-5 {100 * metrics.TopK:F2}%"));
            var cm = metrics.Confusion;
            log.WriteLine("confusion matrix (rows: true class, columns: predicted):");
            for (int i = 0; i < metrics.NumClasses; i++)
            {
                var row = string.Join(" ", Enumerable.Range(0, metrics.NumClasses).Select(j => cm[i, j].ToString(CultureInfo.InvariantCulture).PadLeft(5)));
                log.WriteLine($"{dataInfo.ClassNames[i],-12}{row}");
            }
            if (confusionPng is not null) Plots.WriteConfusion(confusionPng, cm, dataInfo.ClassNames);
            return 0;
        }
        catch (Exception e) when (EngineCommand.IsUserError(e))
        {
            log.WriteLine(EngineCommand.Describe(e));
            return 2;
        }
    }
}
