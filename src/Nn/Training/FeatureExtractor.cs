using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>
/// Feature vectors for a k-NN or linear probe: raw pixels, or a trained network's penultimate features, the input of
/// its classification head captured by a forward hook (<see cref="Module.RegisterForwardHook"/>) during an ordinary
/// eval-mode forward pass.
/// </summary>
public static class FeatureExtractor
{
    /// <summary>Every image of <paramref name="data"/> (through <paramref name="transform"/>) flattened: [N, C·H·W].</summary>
    public static Tensor Pixels(IDataset data, Transform? transform = null, int batchSize = 256, Device? device = null)
    {
        using var none = new Identity();
        return DatasetInference.Map(none, data, (_, x) => x.Flatten(1).Clone(), transform, batchSize, device); // a copy: batch memory is reused
    }

    /// <summary>
    /// The input of <paramref name="model"/>'s head (named as in <see cref="ClassifierHead"/>; null: the last Linear) for
    /// every image, flattened: [N, features].
    /// </summary>
    public static Tensor Penultimate(Module model, IDataset data, string? head = null, Transform? transform = null, int batchSize = 256, Device? device = null)
    {
        var (_, layer) = ClassifierHead.Find(model, head);
        Tensor? captured = null;
        using var hook = layer.RegisterForwardHook((_, input, _) => captured = input);
        return DatasetInference.Map(model, data, (m, x) =>
        {
            captured = null;
            m.Call(x);
            return (captured ?? throw new RecipeException("features", "the head did not run in the forward pass")).Flatten(1);
        }, transform, batchSize, device);
    }
}
