namespace Engine.Models;

/// <summary>The residual block a ResNet stacks.</summary>
public enum ResidualBlockKind
{
    /// <summary>Two 3×3 convs (<see cref="BasicBlock"/>).</summary>
    Basic,
    /// <summary>1×1 – 3×3 – 1×1 with 4× expansion (<see cref="Bottleneck"/>).</summary>
    Bottleneck,
}

/// <summary>
/// One row of the ResNet table: the block, the number of blocks per stage, the 3×3 convs' groups and width per group
/// (torchvision's <c>groups</c>, <c>width_per_group</c>), whether the stem is the CIFAR one (3×3 conv to 16 channels,
/// no max pool, stage widths 16·2^i instead of 64·2^i), whether bottlenecks carry a squeeze-excitation gate, and how many
/// of the last stages have modulated deformable 3×3 convs (<see cref="DeformableStages"/>).
/// </summary>
public sealed record ResNetSpec(ResidualBlockKind Block, int[] Layers, int Groups = 1, int WidthPerGroup = 64, bool CifarStem = false,
    bool SqueezeExcitation = false, int DeformableStages = 0)
{
    /// <summary>
    /// Whether the 3×3 convs of stage <paramref name="stage"/> (0-based: layer1 is 0) are deformable: the last
    /// <see cref="DeformableStages"/> stages (3 = layer2..layer4, conv3_x..conv5_x, as Zhu et al. 2019).
    /// </summary>
    public bool IsDeformable(int stage) => stage >= Layers.Length - DeformableStages;

    /// <summary>Channels of the stem, which are also the first stage's planes.</summary>
    public int StemChannels => CifarStem ? 16 : 64;

    /// <summary>The block's output channels per plane.</summary>
    public int Expansion => Block == ResidualBlockKind.Basic ? BasicBlock.Expansion : Bottleneck.Expansion;

    /// <summary>Planes of stage <paramref name="stage"/> (doubling each stage).</summary>
    public int Planes(int stage) => StemChannels << stage;

    /// <summary>Channels the classifier sees.</summary>
    public int FeatureChannels => Planes(Layers.Length - 1) * Expansion;
}
