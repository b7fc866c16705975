using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// A ResNet residual block: relu(branch(x) + shortcut(x)), where the shortcut is the identity or, when the block
/// changes the stride or the channel count, torchvision's projection <c>downsample</c> (a Sequential of a 1×1 conv,
/// child "0", and a BatchNorm, child "1").
/// </summary>
public abstract class ResidualBlock : Module
{
    /// <summary>The projection shortcut, or null for the identity.</summary>
    public Sequential? Downsample { get; private set; }

    /// <summary>The branch's last BatchNorm, the one <see cref="ModelOptions.ZeroInitResidual"/> zeroes.</summary>
    public abstract BatchNormBase LastNorm { get; }

    /// <summary>The residual branch, up to (not including) the addition.</summary>
    public abstract Tensor Branch(Tensor input);

    /// <summary>
    /// Registers <c>downsample</c> (at the point of the subclass's constructor where torchvision has it) when
    /// <paramref name="stride"/> ≠ 1 or the channel count changes: torchvision's rule in <c>_make_layer</c>.
    /// </summary>
    private protected void AddDownsample(long inChannels, long outChannels, int stride, Generator? generator)
    {
        if (stride == 1 && inChannels == outChannels) return;
        SetDownsample(new Sequential(
            new Conv2d(inChannels, outChannels, 1, stride, bias: false, generator: generator),
            new BatchNorm2d(outChannels)));
    }

    /// <summary>
    /// A block's 3×3 conv (no bias, padding 1): a plain <see cref="Conv2d"/>, or when <paramref name="deformable"/> a
    /// modulated deformable one (<see cref="DeformConv2dPack"/>, DCNv2, one offset group, its offset predictor
    /// <c>conv_offset</c> at zero), with the same <c>weight</c> name and shape.
    /// </summary>
    private protected static Module Conv3x3(long inChannels, long outChannels, int stride, int groups, bool deformable, Generator? generator) => deformable
        ? new DeformConv2dPack(inChannels, outChannels, 3, stride, 1, groups: groups, modulated: true, bias: false, generator: generator)
        : new Conv2d(inChannels, outChannels, 3, stride, 1, groups: groups, bias: false, generator: generator);

    /// <summary>Registers <paramref name="downsample"/> as the projection shortcut (a subclass with its own rule, e.g. the 3-D one of <see cref="VideoBasicBlock"/>).</summary>
    private protected void SetDownsample(Sequential downsample) => Downsample = RegisterModule("downsample", downsample);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var shortcut = Downsample?.Call(input) ?? input;
        return Branch(input).Add(shortcut).Relu();
    }
}
