using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Engine.Models;
using Engine.Nn;

namespace Engine.Cli;

/// <summary>
/// <c>engine models</c>: every registered variant with its family, parameters and multiply-accumulates at its
/// default input (batch 1, published channels and classes), default and minimum input side, and paper. MACs come
/// from <see cref="ModelInspector"/>. The model is built and run on the shape-only <see cref="Device.Meta"/> device
/// (<see cref="Tensor.OnMetaDevice"/>): no weights are drawn and no arithmetic is done, so even EfficientNet-B7 at
/// 600×600 costs only the bookkeeping of its shapes.
/// </summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var family = new Option<string?>("--family") { Description = "Only this family (e.g. ResNet)." };
        var cmd = new Command("models", "List every registered model: family, parameters, MACs at the default input, input sizes, paper.") { family };
        cmd.SetAction(r => Run(r.GetValue(family), EngineCommand.Output));
        return cmd;
    }

    public static int Run(string? family, TextWriter log)
    {
        var sw = Stopwatch.StartNew();
        var inv = CultureInfo.InvariantCulture;
        var models = ModelRegistry.All.Where(m => family is null || m.Family.ToString().Equals(family, StringComparison.OrdinalIgnoreCase)).ToList();
        if (models.Count == 0)
        {
            log.WriteLine($"error: no family '{family}'; families: {string.Join(", ", ModelRegistry.All.Select(m => m.Family).Distinct())}");
            return 2;
        }
        var rows = new List<string[]>();
        foreach (var m in models)
        {
            var s = Inspect(m, m.DefaultInputShape);
            rows.Add([m.Name, m.Family.ToString(), s.Parameters.ToString("N0", inv), ModelSummary.Abbreviate(s.Macs),
                m.IsVideo ? $"{m.Frames}x{m.DefaultSize}" : $"{m.DefaultSize}", $"{m.MinSize}", m.Paper]);
        }
        string[] head = ["model", "family", "params", "MACs", "default", "min", "paper"];
        var widths = head.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        void Line(string[] cells) => log.WriteLine(string.Join("  ", cells.Select((c, i) =>
            i == cells.Length - 1 ? c : i is 2 or 3 or 4 or 5 ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))));
        Line(head);
        foreach (var r in rows) Line(r);
        log.WriteLine(string.Create(inv, $"{rows.Count} models; params of the published models (their channels and classes; auxiliary heads included), "
            + $"MACs of one evaluation-mode pass at the default square input, batch 1 (convolutions and linear layers); default/min: input side in pixels (video: frames x side) ({sw.Elapsed.TotalSeconds:F1} s)"));
        return 0;
    }

    /// <summary>Inspects the published <paramref name="info"/> on one input of <paramref name="shape"/> [C, H, W] (or [C, T, H, W]) on the shape-only device.</summary>
    public static ModelSummary Inspect(ModelInfo info, long[] shape, int? classes = null)
    {
        Nn.Module model;
        using (Tensor.OnMetaDevice()) model = info.Create(new ModelOptions(classes ?? info.DefaultClasses, (int)shape[0], new Generator(0)));
        using (model) return ModelInspector.Inspect(model, [1, .. shape]);
    }
}
