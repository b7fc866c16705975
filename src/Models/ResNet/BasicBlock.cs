using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// torchvision's <c>BasicBlock</c> (ResNet-18/34 and the CIFAR ResNets): conv1 3×3 (stride) – bn1 – relu – conv2 3×3 –
/// bn2, plus the shortcut. Children in torchvision's order: conv1, bn1, relu, conv2, bn2, downsample. When
/// <c>deformable</c>, both 3×3 convs are modulated deformable convs (<see cref="DeformConv2dPack"/>; ResNet-DCN).
/// </summary>
public sealed class BasicBlock : ResidualBlock
{
    /// <summary>Output channels per unit of planes (the block keeps the width).</summary>
    public const int Expansion = 1;

    private readonly Module _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;

    /// <summary>Creates the block from <paramref name="inChannels"/> to <paramref name="planes"/> channels.</summary>
    public BasicBlock(long inChannels, long planes, int stride = 1, Generator? generator = null, bool deformable = false)
    {
        _conv1 = RegisterModule("conv1", Conv3x3(inChannels, planes, stride, 1, deformable, generator));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        RegisterModule("relu", new ReLU());
        _conv2 = RegisterModule("conv2", Conv3x3(planes, planes, 1, 1, deformable, generator));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        AddDownsample(inChannels, planes * Expansion, stride, generator);
    }

    /// <inheritdoc/>
    public override BatchNormBase LastNorm => _bn2;

    /// <inheritdoc/>
    public override Tensor Branch(Tensor input) => _bn2.Call(_conv2.Call(_bn1.Call(_conv1.Call(input)).Relu()));
}
