using System.Text.Json;

namespace Engine.Nn;

/// <summary>What <see cref="PretrainedWeights.Load"/> does with a tensor whose name matches but whose shape does not.</summary>
public enum ShapeMismatch
{
    /// <summary>Refuse the file (a <see cref="RecipeException"/>; nothing is loaded): the file holds another model.</summary>
    Error,

    /// <summary>
    /// Adapt what has an exact meaning and skip the rest with a note, as importing torchvision weights for another data set
    /// needs: a first-layer convolution weight [O, 3, k, k] loaded into a model with one input channel is summed over its
    /// input channels (exactly what the network computes on the grey image replicated to RGB); any other mismatch (a
    /// classifier head for another number of classes) keeps the model's own initialisation.
    /// </summary>
    AdaptOrSkip,
}

/// <summary>The outcome of <see cref="PretrainedWeights.Load"/>: what was loaded, and one line per adapted or skipped tensor.</summary>
/// <param name="Result">Missing and unexpected keys of the final load (empty: names are checked before anything loads).</param>
/// <param name="Notes">One human-readable line per tensor adapted or skipped under <see cref="ShapeMismatch.AdaptOrSkip"/>.</param>
public sealed record PretrainedLoad(LoadResult Result, IReadOnlyList<string> Notes);

/// <summary>
/// The one loader of pretrained weights (transfer learning, a teacher, <c>engine train --weights</c>), from an engine
/// checkpoint (<see cref="Checkpoint"/>, whose <c>model.</c> tensors are taken and the rest ignored) or a plain safetensors
/// state dict such as <c>safetensors.torch.save_file(model.state_dict(), path)</c> writes from PyTorch. Names are strict:
/// every parameter and buffer must be present and nothing else, except under the <c>skip</c> prefix; shapes follow a
/// <see cref="ShapeMismatch"/> policy. The whole file is checked before the model changes: a refused file loads nothing.
/// </summary>
public static class PretrainedWeights
{
    private const string Op = "pretrained_weights";

    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="model"/>. Tensors under <paramref name="skip"/> (the path of a
    /// head that will be replaced, or was; "" skips everything) are left as they are. When the checkpoint records a model
    /// name (the <c>model</c> extra value engine training writes) and <paramref name="expectedModel"/> is given, they
    /// must be equal. Missing or unexpected names, or (under <see cref="ShapeMismatch.Error"/>) a tensor of another
    /// shape, raise a <see cref="RecipeException"/> saying the file holds another model, and nothing is loaded.
    /// </summary>
    public static PretrainedLoad Load(Module model, string path, string? skip = null, string? expectedModel = null,
        ShapeMismatch mismatch = ShapeMismatch.Error)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!File.Exists(path)) throw new RecipeException(Op, $"no weights file '{path}'");
        using var scope = Tensor.NewDisposeScope();
        var all = SafeTensors.Load(path, out var meta);
        var source = new StateDict();
        bool isCheckpoint = meta.ContainsKey(Checkpoint.FormatKey);
        if (isCheckpoint && expectedModel is not null && RecordedModel(meta) is { } recorded && recorded != expectedModel)
            throw new RecipeException(Op, $"'{path}' is a checkpoint of '{recorded}', not of '{expectedModel}'");
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
        var notes = new List<string>();
        var fitted = new StateDict();
        var mismatched = new List<string>();
        foreach (var (k, t) in kept)
        {
            if (!own.ContainsKey(k)) continue;
            var target = own[k];
            if (t.Shape.SequenceEqual(target.Shape)) { fitted.Add(k, t); continue; }
            if (mismatch == ShapeMismatch.Error) { mismatched.Add(k); continue; }
            if (GreyStem(t, target.Shape) is { } grey)
            {
                fitted.Add(k, grey);
                notes.Add($"{k}: {ShapeText(t.Shape)} summed over its 3 input channels to {ShapeText(target.Shape)} (the grey image seen as RGB)");
            }
            else notes.Add($"{k}: skipped, the file has {ShapeText(t.Shape)} but the model {ShapeText(target.Shape)} (kept the model's initialisation)");
        }
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
            throw new RecipeException(Op, $"'{path}' holds the weights of another model: "
                + Describe("missing", missing) + Describe("unexpected", unexpected) + Describe("of another shape", mismatched));
        return new PretrainedLoad(model.LoadStateDict(fitted, strict: false), notes);
    }

    // [O, 3, k…] into [O, 1, k…]: the sum over the input channels, or null when the shapes differ in any other way.
    private static Tensor? GreyStem(Tensor t, long[] want)
    {
        bool conv = t.Rank >= 3 && want.Length == t.Rank && t.Size(1) == 3 && want[1] == 1 && t.Size(0) == want[0]
            && t.Shape[2..].SequenceEqual(want[2..]);
        return conv ? t.Sum(1, keepDim: true) : null;
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

    private static string ShapeText(IEnumerable<long> s) => $"[{string.Join(", ", s)}]";

    private static string Describe(string what, List<string> keys) =>
        keys.Count == 0 ? "" : $"{keys.Count} {what} ({string.Join(", ", keys.Take(4))}{(keys.Count > 4 ? ", …" : "")}) ";
}
