using Engine.Kernels;
using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// Video ResNets (Tran et al. 2018, "A Closer Look at Spatiotemporal Convolutions for Action Recognition"): R3D-18
/// (3×3×3 convolutions throughout), MC3-18 (3-D in the first stage, 2-D 1×3×3 in the rest: mixed convolutions) and
/// R(2+1)D-18 (each 3×3×3 factored into a 1×3×3 spatial and a 3×1×1 temporal convolution), built from a
/// <see cref="VideoResNetSpec"/> row over inputs [N, C, T, H, W].
/// <para>
/// torchvision 0.14's <c>VideoResNet</c> with the same state-dict names, shapes and order: stem (a Sequential,
/// <see cref="VideoStem"/>), layer1..layer4 (Sequentials of <see cref="VideoBasicBlock"/>s "0", "1", …; planes 64, 128,
/// 256, 512; stride 2 on the first block from layer2 on, in time too except for 1×3×3 stages), avgpool (adaptive to
/// 1×1×1), fc. Published with 400 classes (Kinetics-400) on 16-frame 112×112 clips.
/// </para>
/// <para>
/// Initialisation as torchvision: convs He-normal (fan-out, ReLU gain), BatchNorm weight 1 and bias 0, fc N(0, 0.01²)
/// with zero bias. <see cref="ModelOptions.ZeroInitResidual"/> zeroes each block's last BN (torchvision's flag touches
/// only its video Bottleneck, which no builder uses, so there it has no effect).
/// </para>
/// </summary>
public sealed class VideoResNet : Module
{
    private readonly Sequential _stem;
    private readonly Sequential[] _stages;
    private readonly Linear _fc;

    /// <summary>The architecture this model was built from.</summary>
    public VideoResNetSpec Spec { get; }

    /// <summary>Builds <paramref name="spec"/> for <paramref name="options"/>' input channels and classes.</summary>
    public VideoResNet(VideoResNetSpec spec, ModelOptions options)
    {
        if (spec.ConvMakers.Length != 4 || spec.Layers.Length != 4)
            throw new ArgumentValueException("video_resnet", $"a video ResNet has 4 stages; got {spec.ConvMakers.Length} convolution kinds and {spec.Layers.Length} block counts");
        Spec = spec;
        var g = options.Generator;
        _stem = RegisterModule("stem", VideoStem.Create(spec.Stem, options.InChannels, g));
        _stages = new Sequential[4];
        long channels = VideoStem.Channels;
        for (int s = 0; s < 4; s++)
        {
            var stage = new Sequential(Array.Empty<Module>());
            for (int b = 0; b < spec.Layers[s]; b++)
            {
                stage.Append(new VideoBasicBlock(spec.ConvMakers[s], channels, VideoResNetSpec.Planes(s), s > 0 && b == 0 ? 2 : 1, g));
                channels = VideoResNetSpec.Planes(s);
            }
            _stages[s] = RegisterModule($"layer{s + 1}", stage);
        }
        RegisterModule("avgpool", new AdaptiveAvgPool3d(1));
        _fc = RegisterModule("fc", new Linear(channels, options.NumClasses, generator: g));

        ModelInit.KaimingFanOut(this, g, linearStd: 0.01);
        if (options.ZeroInitResidual)
            foreach (var stage in _stages)
                for (int b = 0; b < stage.Count; b++) ModelInit.ZeroGamma(((ResidualBlock)stage[b]).LastNorm);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 5)
            throw new ShapeException("video_resnet", $"expected a clip batch [N, C, T, H, W], got {ShapeUtil.Format(input.Shape)}");
        var x = _stem.Call(input);
        foreach (var stage in _stages) x = stage.Call(x);
        return _fc.Call(Functional.AdaptiveAvgPool3d(x, 1, 1, 1).Flatten(1));
    }

    private const string Tran2018 = "Tran et al. 2018, A closer look at spatiotemporal convolutions for action recognition";

    /// <summary>torchvision's builders with their (conv_makers, layers, stem).</summary>
    private static readonly (string Name, VideoResNetSpec Spec, string Paper)[] s_table =
    [
        ("r3d_18", new([VideoConvKind.Conv3DSimple, VideoConvKind.Conv3DSimple, VideoConvKind.Conv3DSimple, VideoConvKind.Conv3DSimple], [2, 2, 2, 2], VideoStemKind.Basic),
            Tran2018 + " (R3D-18)"),
        ("mc3_18", new([VideoConvKind.Conv3DSimple, VideoConvKind.Conv3DNoTemporal, VideoConvKind.Conv3DNoTemporal, VideoConvKind.Conv3DNoTemporal], [2, 2, 2, 2], VideoStemKind.Basic),
            Tran2018 + " (MC3-18: 3-D first stage, 2-D after)"),
        ("r2plus1d_18", new([VideoConvKind.Conv2Plus1D, VideoConvKind.Conv2Plus1D, VideoConvKind.Conv2Plus1D, VideoConvKind.Conv2Plus1D], [2, 2, 2, 2], VideoStemKind.R2Plus1d),
            Tran2018 + " (R(2+1)D-18)"),
    ];

    /// <summary>The registered video variants: 16-frame 112×112 RGB clips, 400 classes (Kinetics-400), any side ≥ 1 (torchvision's <c>min_size</c>).</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
        s_table.Select(r => new ModelInfo(r.Name, ModelFamily.Video, 112, 1, r.Paper, o => new VideoResNet(r.Spec, o), DefaultClasses: 400)
        {
            Frames = 16,
            TorchvisionBuilder = "video." + r.Name,
        });
}
