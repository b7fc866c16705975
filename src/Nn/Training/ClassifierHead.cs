namespace Engine.Nn;

/// <summary>
/// Finding and replacing a model's classification head (the last Linear, or the 1×1 convolution of SqueezeNet-style
/// heads) for transfer learning to a new number of classes. A head is named by its module path: <c>fc</c> (ResNet),
/// <c>classifier.6</c> (AlexNet, VGG), <c>classifier.1</c> (MobileNet, EfficientNet), or a container such as
/// <c>classifier</c>, in which case its last Linear (or convolution) is the head. Without a name the model's last
/// Linear is taken.
/// </summary>
public static class ClassifierHead
{
    /// <summary>The head's module path and layer (a <see cref="Linear"/> or <see cref="Conv2d"/>).</summary>
    public static (string Name, Module Layer) Find(Module model, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        const string op = "classifier_head";
        if (string.IsNullOrEmpty(name))
        {
            var last = model.NamedModules().LastOrDefault(m => m.Module is Linear);
            if (last.Module is null) throw new RecipeException(op, $"{model.GetType().Name} has no Linear layer; name its head (a Linear or Conv2d)");
            return last;
        }
        Module root;
        try { root = model.GetSubmodule(name); }
        catch (ArgumentValueException e) { throw new RecipeException(op, $"no head '{name}' in {model.GetType().Name}: {e.Message}"); }
        if (root is Linear or Conv2d) return (name, root);
        var inner = root.NamedModules(name).LastOrDefault(m => m.Module is Linear or Conv2d);
        if (inner.Module is null) throw new RecipeException(op, $"'{name}' ({root.GetType().Name}) holds no Linear or Conv2d layer to use as the head");
        return inner;
    }

    /// <summary>The number of classes the head at <paramref name="name"/> (or the last Linear) outputs.</summary>
    public static long OutFeatures(Module model, string? name = null) => Weight(Find(model, name).Layer).Size(0);

    /// <summary>The size of the features the head reads (its in-features or input channels).</summary>
    public static long InFeatures(Module model, string? name = null) => Weight(Find(model, name).Layer).Size(1);

    /// <summary>
    /// Replaces the head's weights by a freshly initialised layer with <paramref name="numClasses"/> outputs and the
    /// same inputs, bias, dtype and device (PyTorch's default Linear/Conv2d initialisation from
    /// <paramref name="generator"/>). The layer object is kept and its parameters reshaped, so references the model
    /// holds to it stay valid, and the new parameters are trainable. Returns the head's path (its parameters are <c>path.weight</c>, <c>path.bias</c>).
    /// </summary>
    public static string Replace(Module model, int numClasses, string? name = null, Generator? generator = null)
    {
        if (numClasses < 1) throw new RecipeException("classifier_head", $"the new head needs at least one class, got {numClasses}");
        var (path, layer) = Find(model, name);
        var w = Weight(layer);
        var b = layer.NamedParameters(recurse: false).FirstOrDefault(p => p.Name == "bias").Parameter;
        if (layer is Conv2d { Groups: not 1 }) throw new RecipeException("classifier_head", $"'{path}' is a grouped convolution; a head must be a dense layer");
        using Module fresh = layer is Conv2d c
            ? new Conv2d(w.Size(1) * c.Groups, numClasses, [(int)w.Size(2), (int)w.Size(3)], c.Stride, c.Padding, c.Dilation, 1, b is not null, w.DType, generator)
            : new Linear(w.Size(1), numClasses, b is not null, w.DType, generator);
        var device = w.Device;
        foreach (var (pn, p) in fresh.NamedParameters(recurse: false))
        {
            using var scope = Tensor.NewDisposeScope(); // the parameter leaves it when it is registered
            using var noGrad = Tensor.NoGrad();
            var copy = p.Clone().To(device);
            model.SetParameter(path.Length == 0 ? pn : path + "." + pn, copy);
        }
        return path;
    }

    private static Tensor Weight(Module layer) => layer switch
    {
        Linear l => l.Weight,
        Conv2d c => c.Weight,
        _ => throw new RecipeException("classifier_head", $"a head must be a Linear or Conv2d layer, got {layer.GetType().Name}"),
    };
}
