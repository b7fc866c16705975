using System.Text.RegularExpressions;

namespace Engine.Nn;

/// <summary>
/// Freezing parts of a model for transfer learning: frozen parameters stop requiring gradients (so optimizers skip
/// them and backward does not compute them), and every BatchNorm inside a frozen part is pinned to evaluation mode
/// (<see cref="Module.KeepEval"/>), so it normalises with its pretrained running statistics and leaves them
/// unchanged even while the rest of the model is put in training mode.
/// </summary>
public static class Freezing
{
    /// <summary>
    /// Freezes every parameter whose dotted name matches one of <paramref name="patterns"/>: a glob over the whole name
    /// (<c>*</c> any run of characters, <c>?</c> one) or a module path, which freezes everything under it
    /// (<c>"features"</c> freezes <c>features.0.weight</c>, …). BatchNorm layers whose path matches, or whose
    /// parameters are all frozen, are kept in eval mode. Returns the number of parameters frozen; none is an error.
    /// </summary>
    public static int Freeze(Module model, params string[] patterns)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (patterns.Length == 0) throw new RecipeException("freeze", "no pattern given");
        var regexes = patterns.Select(Glob).ToArray();
        bool Matches(string name) => regexes.Any(r => r.IsMatch(name));
        int frozen = 0;
        foreach (var (name, p) in model.NamedParameters())
            if (Matches(name)) { p.RequiresGrad = false; frozen++; }
        foreach (var (name, m) in model.NamedModules())
            if (m is BatchNormBase && (Matches(name) || (m.Parameters().Any() && m.Parameters().All(p => !p.RequiresGrad))))
                m.KeepEval = true;
        if (frozen == 0)
            throw new RecipeException("freeze", $"no parameter matches {string.Join(", ", patterns.Select(p => $"'{p}'"))} (parameters: {Sample(model)})");
        return frozen;
    }

    /// <summary>Freezes every parameter of <paramref name="part"/> (a submodule of the model) and keeps its BatchNorm layers in eval mode.</summary>
    public static void Freeze(Module part)
    {
        ArgumentNullException.ThrowIfNull(part);
        part.RequiresGrad(false);
        foreach (var (_, m) in part.NamedModules())
            if (m is BatchNormBase) m.KeepEval = true;
    }

    /// <summary>Makes every parameter of <paramref name="part"/> trainable again and releases its BatchNorm layers from eval mode.</summary>
    public static void Unfreeze(Module part)
    {
        ArgumentNullException.ThrowIfNull(part);
        part.RequiresGrad(true);
        foreach (var (_, m) in part.NamedModules()) m.KeepEval = false;
    }

    /// <summary>The parameters that still require gradients (what an optimizer of a partly frozen model should get).</summary>
    public static IEnumerable<Tensor> TrainableParameters(Module model) => model.Parameters().Where(p => p.RequiresGrad);

    // A glob over the whole name, or a module path prefix ("features" → "features" or "features.…").
    private static Regex Glob(string pattern)
    {
        if (string.IsNullOrEmpty(pattern)) throw new RecipeException("freeze", "an empty pattern matches nothing");
        var body = Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".");
        return new Regex($"^{body}(\\..*)?$", RegexOptions.CultureInvariant);
    }

    private static string Sample(Module model)
    {
        var names = model.NamedParameters().Select(p => p.Name).Take(6).ToList();
        return names.Count == 0 ? "none" : string.Join(", ", names) + (model.NamedParameters().Count() > names.Count ? ", …" : "");
    }
}
