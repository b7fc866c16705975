namespace Engine.Nn;

/// <summary>
/// The two transfer-learning approaches on a model with a pretrained backbone and a (replaced) head, named as in
/// <see cref="ClassifierHead"/>. Approach 1 (<see cref="FreezeBackbone"/>): train the head only, the backbone frozen
/// with its BatchNorm in eval mode. Approach 2 (<see cref="DiscriminativeGroups"/>): fine-tune everything, the
/// backbone at a small learning rate and the head at a large one.
/// </summary>
/// <example>
/// <code>
/// ClassifierHead.Replace(model, numClasses: 5, "classifier.4", generator);
/// var groups = FineTuning.DiscriminativeGroups(model, "classifier.4", backboneLr: 1e-3, headLr: 1e-2);
/// using var opt = new SGD(groups, momentum: 0.9);
/// </code>
/// </example>
public static class FineTuning
{
    /// <summary>Freezes every parameter outside the head (and keeps the backbone's BatchNorm in eval mode); returns the head's parameters.</summary>
    public static IReadOnlyList<Tensor> FreezeBackbone(Module model, string? head = null)
    {
        var (path, layer) = ClassifierHead.Find(model, head);
        var headParams = layer.Parameters().ToHashSet();
        foreach (var p in model.Parameters()) p.RequiresGrad = headParams.Contains(p);
        foreach (var (name, m) in model.NamedModules())
            if (m is BatchNormBase && !IsUnder(name, path)) m.KeepEval = true;
        return [.. layer.Parameters()];
    }

    /// <summary>
    /// Two parameter groups: every trainable parameter outside the head at <paramref name="backboneLr"/>, and the
    /// head's at <paramref name="headLr"/> (other hyper-parameters come from the optimizer's defaults).
    /// </summary>
    public static IReadOnlyList<ParamGroup> DiscriminativeGroups(Module model, string? head, double backboneLr, double headLr)
    {
        if (!(backboneLr >= 0) || !(headLr > 0)) throw new RecipeException("fine_tuning", $"learning rates must be non-negative (head: positive), got backbone {backboneLr}, head {headLr}");
        var (_, layer) = ClassifierHead.Find(model, head);
        var headParams = layer.Parameters().ToHashSet();
        var backbone = model.Parameters().Where(p => p.RequiresGrad && !headParams.Contains(p)).ToList();
        return [new ParamGroup(backbone, lr: backboneLr), new ParamGroup(layer.Parameters(), lr: headLr)];
    }

    private static bool IsUnder(string name, string path) => path.Length == 0 || name == path || name.StartsWith(path + ".", StringComparison.Ordinal);
}
