using System.CommandLine;
using System.Globalization;
using Engine.Models;
using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary>Formats <c>engine export</c> writes.</summary>
internal enum ExportFormat
{
    /// <summary>ONNX, opset 17.</summary>
    Onnx,
}

/// <summary><c>engine export CHECKPOINT --output model.onnx</c>: a trained checkpoint as an ONNX model (<see cref="Nn.Onnx"/>).</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A checkpoint written by 'engine train' (e.g. runs/latest/best.safetensors)." };
        var output = new Option<string>("--output") { Description = "The file to write.", Required = true };
        var format = new Option<ExportFormat>("--format") { Description = "The format (onnx).", DefaultValueFactory = _ => ExportFormat.Onnx };
        var model = new Option<string?>("--model") { Description = "The model, when the checkpoint does not record it." };
        var batch = new Option<int>("--batch") { Description = "The batch size the exported graph takes.", DefaultValueFactory = _ => 1 };
        var cmd = new Command("export", "Write a trained checkpoint as an ONNX model (opset 17) for ONNX Runtime and other runtimes.") { checkpoint, output, format, model, batch };
        cmd.SetAction(r => Run(r.GetValue(checkpoint)!, r.GetValue(output)!, r.GetValue(format), r.GetValue(model), r.GetValue(batch), EngineCommand.Output));
        return cmd;
    }

    public static int Run(string checkpoint, string output, ExportFormat format, string? modelName, int batch, TextWriter log)
    {
        try
        {
            if (batch < 1) throw new ArgumentValueException("export", $"--batch must be at least 1, got {batch}");
            OptionFiles.ReadableFile("checkpoint", checkpoint);
            var dataInfo = FashionMnist.Info;
            var (info, side, auxLogits) = ModelInput.FromCheckpoint(checkpoint, modelName, dataInfo);
            if (info.IsVideo) throw new ArgumentValueException("export", $"{info.Name} is a video model; export it in code with Onnx.Export(model, [N, C, T, H, W], path)");
            // Auxiliary heads as trained (the checkpoint holds them); in eval mode they do not run, so the graph has none.
            using var net = info.Create(ModelInput.Options(dataInfo) with { AuxLogits = auxLogits });
            Checkpoint.Load(checkpoint, net);
            long[] shape = [batch, dataInfo.Channels, side, side];
            Onnx.Export(net, shape, output);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {output} ({format}, opset 17): {info.Name}, input 'input' [{string.Join(", ", shape)}] float32, output 'output' [{batch}, {dataInfo.NumClasses}]"));
            return 0;
        }
        catch (Exception e) when (EngineCommand.IsUserError(e))
        {
            log.WriteLine(EngineCommand.Describe(e));
            return 2;
        }
    }
}
