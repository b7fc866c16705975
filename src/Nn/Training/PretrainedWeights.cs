using System.Text.Json;

namespace Engine.Nn;

/// <summary>
/// Loading pretrained weights for transfer learning or as a teacher, from an engine checkpoint (<see cref="Checkpoint"/>,
/// whose <c>model.</c> tensors are taken and the rest ignored) or a plain safetensors state dict such as
/// <c>safetensors.torch.save_file(model.state_dict(), path)</c> writes from PyTorch.
/// </summary>
public static class PretrainedWeights
{
    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="model"/>. Every parameter and buffer must be present with its
    /// shape, except those under <paramref name="skip"/> (the path of a head that will be replaced, or was: its
    /// weights are left as they are); anything else raises a <see cref="RecipeException"/> that says the file holds
    /// another model, and nothing is loaded. When the checkpoint records a model name (the <c>model</c> extra value
    /// engine training writes) and <paramref name="expectedModel"/> is given, they must be equal.
    /// </summary>
    public static LoadResult Load(Module model, string path, string? skip = null, string? expectedModel = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string op = "pretrained_weights";
        if (!File.Exists(path)) throw new RecipeException(op, $"no weights file '{path}'");
        using var scope = Tensor.NewDisposeScope();
        var all = SafeTensors.Load(path, out var meta);
        var source = new StateDict();
        bool isCheckpoint = meta.ContainsKey(Checkpoint.FormatKey);
        if (isCheckpoint && expectedModel is not null && RecordedModel(meta) is { } recorded && recorded != expectedModel)
            throw new RecipeException(op, $"'{path}' is a checkpoint of '{recorded}', not of '{expectedModel}'");
        foreach (var (k, t) in all)
        {
            if (!isCheckpoint) source.Add(k, t);
            else if (k.StartsWith("model.", StringComparison.Ordinal)) source.Add(k["model.".Length..], t);
        }
        bool Skipped(string k) => skip is not null && (skip.Length == 0 || k.StartsWith(skip + ".", StringComparison.Ordinal));
        var own = model.StateDict();
        var kept = new StateDict();
        foreach (var (k, t) in source) if (!Skipped(k)) kept.Add(k, t);
        var missing = own.Keys.Where(k => !Skipped(k) && !kept.ContainsKey(k)).ToList();
        var unexpected = kept.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = kept.Keys.Where(k => own.ContainsKey(k) && !own[k].Shape.SequenceEqual(kept[k].Shape)).ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
            throw new RecipeException(op, $"'{path}' holds the weights of another model: "
                + Describe("missing", missing) + Describe("unexpected", unexpected) + Describe("of another shape", mismatched));
        return model.LoadStateDict(kept, strict: false);
    }

    /// <summary>The model name an engine checkpoint records in its extra values, or null.</summary>
    public static string? RecordedModel(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("extra", out var text)) return null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString() : null;
        }
        catch (JsonException) { return null; }
    }

    private static string Describe(string what, List<string> keys) =>
        keys.Count == 0 ? "" : $"{keys.Count} {what} ({string.Join(", ", keys.Take(4))}{(keys.Count > 4 ? ", …" : "")}) ";
}
