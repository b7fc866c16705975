using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// torchvision's <c>Bottleneck</c>, ResNet v1.5: conv1 1×1 – bn1 – relu – conv2 3×3 (stride, groups) – bn2 – relu –
/// conv3 1×1 to 4·planes – bn3, plus the shortcut. The stride sits on the 3×3 conv (the 2015 paper put it on the first
/// 1×1), as torchvision and NVIDIA's "v1.5". The inner width is ⌊planes·widthPerGroup/64⌋·groups, which gives
/// ResNeXt (groups 32) and Wide ResNet (width 128). With <c>squeezeExcitation</c> the block also has a child
/// <c>se</c> (SE-ResNet, Hu et al. 2017, reduction 16) gating bn3's output before the addition. Children in order:
/// conv1, bn1, conv2, bn2, conv3, bn3, relu, downsample, se. When <c>deformable</c>, conv2 is a modulated deformable conv
/// (<see cref="DeformConv2dPack"/>; ResNet-DCN).
/// </summary>
public sealed class Bottleneck : ResidualBlock
{
    /// <summary>Output channels per unit of planes.</summary>
    public const int Expansion = 4;

    /// <summary>SE reduction ratio r of Hu et al.: the gate squeezes 4·planes channels to 4·planes/r.</summary>
    public const int SeReduction = 16;

    private readonly Conv2d _conv1, _conv3;
    private readonly Module _conv2;
    private readonly BatchNorm2d _bn1, _bn2, _bn3;

    /// <summary>The squeeze-excitation gate (SE-ResNet / SE-ResNeXt), or null.</summary>
    public SqueezeExcitation? Se { get; }

    /// <summary>Creates the block from <paramref name="inChannels"/> to 4·<paramref name="planes"/> channels.</summary>
    public Bottleneck(long inChannels, long planes, int stride = 1, int groups = 1, int widthPerGroup = 64, bool squeezeExcitation = false,
        Generator? generator = null, bool deformable = false)
    {
        long width = (long)(planes * (widthPerGroup / 64.0)) * groups;
        long outChannels = planes * Expansion;
        _conv1 = RegisterModule("conv1", new Conv2d(inChannels, width, 1, bias: false, generator: generator));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(width));
        _conv2 = RegisterModule("conv2", Conv3x3(width, width, stride, groups, deformable, generator));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(width));
        _conv3 = RegisterModule("conv3", new Conv2d(width, outChannels, 1, bias: false, generator: generator));
        _bn3 = RegisterModule("bn3", new BatchNorm2d(outChannels));
        RegisterModule("relu", new ReLU());
        AddDownsample(inChannels, outChannels, stride, generator);
        if (squeezeExcitation) Se = RegisterModule("se", new SqueezeExcitation(outChannels, outChannels / SeReduction, generator: generator));
    }

    /// <inheritdoc/>
    public override BatchNormBase LastNorm => _bn3;

    /// <inheritdoc/>
    public override Tensor Branch(Tensor input)
    {
        var x = _bn1.Call(_conv1.Call(input)).Relu();
        x = _bn2.Call(_conv2.Call(x)).Relu();
        x = _bn3.Call(_conv3.Call(x));
        return Se is null ? x : Se.Call(x);
    }
}
