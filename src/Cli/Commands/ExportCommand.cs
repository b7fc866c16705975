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
            if (!File.Exists(checkpoint)) throw new ArgumentValueException("export", $"no checkpoint '{checkpoint}'");
            var metadata = SafeTensors.ReadHeader(checkpoint).Metadata;
            string? recorded = PretrainedWeights.RecordedModel(metadata);
            var info = ModelRegistry.Info(modelName ?? recorded ?? "lenet5");
            if (info.IsVideo) throw new ArgumentValueException("export", $"{info.Name} is a video model; export it in code with Onnx.Export(model, [N, C, T, H, W], path)");
            var dataInfo = FashionMnist.Info;
            int side = ModelInput.Side(info, dataInfo, RecordedSide(metadata));
            // Auxiliary heads as trained (the checkpoint holds them); in eval mode they do not run, so the graph has none.
            using var net = info.Create(ModelInput.Options(dataInfo) with { AuxLogits = Recorded(metadata, "aux_logits") != "false" });
            Checkpoint.Load(checkpoint, net);
            long[] shape = [batch, dataInfo.Channels, side, side];
            Onnx.Export(net, shape, output);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {output} ({format}, opset 17): {info.Name}, input 'input' [{string.Join(", ", shape)}] float32, output 'output' [{batch}, {dataInfo.NumClasses}]"));
            return 0;
        }
        catch (EngineException e)
        {
            log.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    private static int RecordedSide(IReadOnlyDictionary<string, string> metadata) =>
        int.TryParse(Recorded(metadata, "image_size"), CultureInfo.InvariantCulture, out int s) ? s : 0;

    // A string value training recorded in the checkpoint's "extra" metadata, or null.
    private static string? Recorded(IReadOnlyDictionary<string, string> metadata, string key)
    {
        if (!metadata.TryGetValue("extra", out var json)) return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && doc.RootElement.TryGetProperty(key, out var v)
                && v.ValueKind == System.Text.Json.JsonValueKind.String ? v.GetString() : null;
        }
        catch (System.Text.Json.JsonException) { return null; }
    }
}
