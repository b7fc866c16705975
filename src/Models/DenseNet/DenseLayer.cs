using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// DenseNet-BC's bottleneck layer (torchvision's <c>_DenseLayer</c>): BN-ReLU-conv1×1 to bnSize·growth channels,
/// then BN-ReLU-conv3×3 to growth channels, children norm1, relu1, conv1, norm2, relu2, conv2. Its input is the
/// concatenation of every earlier feature map of the block; it returns only the new growth channels.
/// </summary>
public sealed class DenseLayer : Module
{
    private readonly Module _norm1, _relu1, _conv1, _norm2, _relu2, _conv2;
    private readonly Dropout? _dropout;

    /// <summary>Creates the layer for <paramref name="inFeatures"/> input channels; a positive <paramref name="dropRate"/> drops the new features in training.</summary>
    public DenseLayer(long inFeatures, int growthRate, int bnSize, double dropRate, Generator? generator)
    {
        _norm1 = RegisterModule("norm1", new BatchNorm2d(inFeatures));
        _relu1 = RegisterModule("relu1", new ReLU());
        _conv1 = RegisterModule("conv1", new Conv2d(inFeatures, bnSize * growthRate, 1, bias: false, generator: generator));
        _norm2 = RegisterModule("norm2", new BatchNorm2d(bnSize * growthRate));
        _relu2 = RegisterModule("relu2", new ReLU());
        _conv2 = RegisterModule("conv2", new Conv2d(bnSize * growthRate, growthRate, 3, padding: 1, bias: false, generator: generator));
        // torchvision calls F.dropout; a (parameter-free) Dropout child lets the trainer and tests set its rate.
        if (dropRate > 0) _dropout = RegisterModule("dropout", new Dropout(dropRate));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var bottleneck = _conv1.Call(_relu1.Call(_norm1.Call(input)));
        var y = _conv2.Call(_relu2.Call(_norm2.Call(bottleneck)));
        return _dropout is null ? y : _dropout.Call(y);
    }
}
