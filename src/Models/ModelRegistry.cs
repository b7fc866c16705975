namespace Engine.Models;

/// <summary>What a model family needs to be built: classes, input channels and a seed source.</summary>
public sealed record ModelOptions(int NumClasses = 10, int InChannels = 1, Generator? Generator = null);

/// <summary>The model families by name (case-insensitive), so the CLI and configs can ask for "lenet5".</summary>
public static class ModelRegistry
{
    private static readonly Dictionary<string, (string Description, long[] InputShape, Func<ModelOptions, Nn.Module> Create)> s_models =
        new(StringComparer.OrdinalIgnoreCase)
        {
            ["lenet5"] = ("LeNet-5 (conv 6@5x5 - pool - conv 16@5x5 - pool - fc 120 - fc 84 - fc classes), for 28x28 images",
                [1, 28, 28], o => new LeNet5(o.NumClasses, o.InChannels, padFirst: true, o.Generator)),
        };

    /// <summary>Registered names, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. s_models.Keys.Order()];

    /// <summary>A one-line description of model <paramref name="name"/>.</summary>
    public static string Describe(string name) => Lookup(name).Description;

    /// <summary>The per-sample input shape (C, H, W) the model expects by default.</summary>
    public static long[] InputShape(string name) => (long[])Lookup(name).InputShape.Clone();

    /// <summary>Builds model <paramref name="name"/>.</summary>
    public static Nn.Module Create(string name, ModelOptions? options = null) => Lookup(name).Create(options ?? new ModelOptions());

    /// <summary>Adds (or replaces) a model family.</summary>
    public static void Register(string name, string description, long[] inputShape, Func<ModelOptions, Nn.Module> create) =>
        s_models[name] = (description, inputShape, create);

    private static (string Description, long[] InputShape, Func<ModelOptions, Nn.Module> Create) Lookup(string name) =>
        s_models.TryGetValue(name, out var m) ? m
            : throw new ArgumentValueException("model", $"unknown model '{name}'; known models: {string.Join(", ", Names)}");
}
