namespace Engine.Nn;

/// <summary>
/// Loads weights exported from PyTorch (<c>safetensors.torch.save_file(model.state_dict(), path)</c>) into a model
/// built for another dataset, as fine-tuning does: names must match exactly (strict by name: a missing or unexpected
/// key is an error and nothing is loaded), and shapes that differ are handled so:
/// <list type="bullet">
/// <item>a first-layer convolution weight [O, C, k, k] with C = 3 loaded into a model with one input channel is summed
/// over its input channels: exactly what the network computes on the grey image replicated to RGB;</item>
/// <item>any other shape mismatch (the classifier head when the number of classes differs) is skipped with a note,
/// keeping the model's own initialisation for that tensor.</item>
/// </list>
/// </summary>
public static class ImportedWeights
{
    /// <summary>Loads <paramref name="path"/> into <paramref name="model"/>; returns one line per adapted or skipped tensor.</summary>
    public static IReadOnlyList<string> Load(Module model, string path)
    {
        var src = SafeTensors.Load(path);
        var notes = new List<string>();
        var owned = new List<Tensor>();
        try
        {
            var own = model.StateDict();
            var missing = own.Keys.Where(k => !src.ContainsKey(k)).ToList();
            var unexpected = src.Keys.Where(k => !own.ContainsKey(k)).ToList();
            if (missing.Count > 0 || unexpected.Count > 0) throw new StateDictException(new LoadResult(missing, unexpected, []));
            var fitted = new StateDict();
            foreach (var (key, t) in src)
            {
                if (t.Shape.SequenceEqual(own[key].Shape)) { fitted.Add(key, t); continue; }
                var want = own[key].Shape;
                if (t.Rank == 4 && want.Length == 4 && t.Size(1) == 3 && want[1] == 1 && t.Size(0) == want[0] && t.Shape[2..].SequenceEqual(want[2..]))
                {
                    var grey = t.Sum(1, keepDim: true);
                    owned.Add(grey);
                    fitted.Add(key, grey);
                    notes.Add($"{key}: {Shape(t.Shape)} summed over its 3 input channels to {Shape(want)} (the grey image seen as RGB)");
                }
                else notes.Add($"{key}: skipped, the file has {Shape(t.Shape)} but the model {Shape(want)} (kept the model's initialisation)");
            }
            model.LoadStateDict(fitted, strict: false); // names were checked above; skipped tensors keep the model's values
            return notes;
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
            foreach (var (_, t) in src) t.Dispose();
        }
    }

    private static string Shape(IEnumerable<long> s) => $"[{string.Join(", ", s)}]";
}
