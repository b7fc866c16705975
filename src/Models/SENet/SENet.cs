namespace Engine.Models;

/// <summary>
/// Squeeze-and-excitation ResNets (Hu et al. 2017): torchvision's ResNet-50 / ResNeXt-50 (32×4d) whose every
/// <see cref="Bottleneck"/> has a child <c>se</c> (<see cref="SqueezeExcitation"/>: <c>se.fc1</c>, <c>se.fc2</c> 1×1
/// convs with bias, reduction 16, ReLU, sigmoid) applied to bn3's output before the residual addition. State-dict names
/// are torchvision's ResNet ones plus <c>layerK.B.se.fc1.weight</c>/<c>.bias</c>, <c>se.fc2.weight</c>/<c>.bias</c>,
/// after the block's <c>downsample</c>; the PyTorch twin is <c>ref_resnet.py</c> in the tests.
/// </summary>
public static class SENet
{
    private const string Paper = "Hu et al. 2017, Squeeze-and-excitation networks (SE after the last BN of each bottleneck, reduction 16)";

    /// <summary>The registered SE variants.</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
    [
        ResNet.Info("se_resnet50", ModelFamily.SENet, new(ResidualBlockKind.Bottleneck, [3, 4, 6, 3], SqueezeExcitation: true), Paper),
        ResNet.Info("se_resnext50_32x4d", ModelFamily.SENet, new(ResidualBlockKind.Bottleneck, [3, 4, 6, 3], 32, 4, SqueezeExcitation: true), Paper),
    ];
}
