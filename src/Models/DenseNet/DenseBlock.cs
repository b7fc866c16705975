using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// A dense block (torchvision's <c>_DenseBlock</c>): children denselayer1 … denselayerN, layer i seeing the block
/// input and the growth channels of every layer before it; the output concatenates them all
/// (in + N·growth channels).
/// </summary>
public sealed class DenseBlock : Module
{
    private readonly List<DenseLayer> _layers = [];

    /// <summary>Creates <paramref name="numLayers"/> layers over <paramref name="inFeatures"/> input channels.</summary>
    public DenseBlock(int numLayers, long inFeatures, int bnSize, int growthRate, double dropRate, Generator? generator)
    {
        for (int i = 0; i < numLayers; i++)
            _layers.Add(RegisterModule($"denselayer{i + 1}", new DenseLayer(inFeatures + (long)i * growthRate, growthRate, bnSize, dropRate, generator)));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        // Growing the concatenation one layer at a time gives the same tensor torchvision's cat of the list does.
        var features = input;
        foreach (var layer in _layers) features = Tensor.Cat([features, layer.Call(features)], 1);
        return features;
    }
}
