using System.CommandLine;
using System.Globalization;
using Engine.Models;

namespace Engine.Cli;

/// <summary><c>engine summary NAME</c>: the per-layer table of a registered model (output shape, parameters, MACs, receptive field) and its totals.</summary>
internal static class SummaryCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("model") { Description = "A registered model (see 'engine models')." };
        var input = new Option<string?>("--input") { Description = "Input shape C,H,W, or C,T,H,W for a video model (default: the model's published input, e.g. 3,224,224 or 3,16,112,112)." };
        var classes = new Option<int>("--classes") { Description = "Classes of the head (0: the published model's)." };
        var cmd = new Command("summary", "Per-layer table of a model: output shape, parameters, MACs and receptive field, with totals.") { name, input, classes };
        cmd.SetAction(r => Run(r.GetValue(name)!, r.GetValue(input), r.GetValue(classes), EngineCommand.Output));
        return cmd;
    }

    public static int Run(string name, string? input, int classes, TextWriter log)
    {
        try
        {
            var info = ModelRegistry.Info(name);
            var shape = input is null ? info.DefaultInputShape : ParseShape(input, info.DefaultInputShape.Length);
            long h = shape[^2], w = shape[^1];
            if (h < info.MinSize || w < info.MinSize)
                throw new ArgumentValueException("input", $"{info.Name} needs inputs of at least {info.MinSize}x{info.MinSize}; got {h}x{w}");
            log.WriteLine($"{info.Name} ({info.Family}): {info.Paper}");
            log.WriteLine(ModelsCommand.Inspect(info, shape, classes > 0 ? classes : null).Format());
            return 0;
        }
        catch (EngineException e)
        {
            log.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>Parses C,H,W (<paramref name="rank"/> 3) or C,T,H,W (<paramref name="rank"/> 4, a video model's clip).</summary>
    private static long[] ParseShape(string text, int rank)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != rank || !parts.All(p => long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out long v) && v > 0))
            throw new ArgumentValueException("input", $"expected {(rank == 4 ? "C,T,H,W with four" : "C,H,W with three")} positive integers, got '{text}'");
        return [.. parts.Select(p => long.Parse(p, CultureInfo.InvariantCulture))];
    }
}
