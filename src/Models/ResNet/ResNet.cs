using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// ResNet (He et al. 2015), ResNeXt (Xie et al. 2016), Wide ResNet (Zagoruyko &amp; Komodakis 2016), the CIFAR ResNets
/// (He et al. 2015, section 4.2), SE-ResNet/SE-ResNeXt (Hu et al. 2017) and ResNet-DCN (resnet18_dcn, resnet50_dcn: every
/// 3×3 conv of layer2..layer4, i.e. conv3_x..conv5_x, a modulated deformable conv, Zhu et al. 2019; torchvision has no
/// such model, the PyTorch twin is <c>ref_resnet_dcn.py</c> in the tests), built from a <see cref="ResNetSpec"/> row.
/// <para>
/// ImageNet models are torchvision 0.14's <c>ResNet</c> with the same state-dict names, shapes and order: conv1 (7×7,
/// stride 2), bn1, relu, maxpool (3×3, stride 2), layer1..layer4 (Sequentials of blocks "0", "1", …; stride 2 from
/// layer2 on, on the first block), avgpool, fc. Blocks are <see cref="BasicBlock"/> or <see cref="Bottleneck"/>.
/// </para>
/// <para>
/// CIFAR models (resnet20/32/44/56/110, depth 6n+2): conv1 (3×3, 16 channels, stride 1), bn1, relu, then layer1..layer3
/// of n BasicBlocks with 16/32/64 channels and strides 1/2/2, avgpool, fc; block children as torchvision's BasicBlock.
/// Where the shape changes the shortcut is the paper's option B, a projection (<c>downsample.0</c> 1×1 conv,
/// <c>downsample.1</c> BN), not the paper's CIFAR choice, option A (identity with zero-padded channels and stride-2
/// subsampling, no parameters): option B reuses torchvision's block unchanged so the weights load into it, and adds only
/// 2,752 parameters to resnet20 (0.27M either way). The PyTorch twin is <c>ref_resnet.py</c> in the tests.
/// </para>
/// <para>
/// Initialisation as torchvision: convs He-normal (fan-out, ReLU gain), BatchNorm weight 1 and bias 0, fc PyTorch's
/// default Linear init; with <see cref="ModelOptions.ZeroInitResidual"/> the last BN of every block gets weight 0, so
/// each block starts as relu(shortcut(x)). SE gates' 1×1 convs get zero bias (the rule the engine uses for conv biases).
/// Deformable convs get the He-normal weight of the conv they replace and a zero offset predictor (so offsets start at 0).
/// </para>
/// </summary>
public sealed class ResNet : Module
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly MaxPool2d? _maxpool;
    private readonly Sequential[] _stages;
    private readonly Linear _fc;

    /// <summary>The architecture this model was built from.</summary>
    public ResNetSpec Spec { get; }

    /// <summary>Every residual block, stage by stage.</summary>
    public IEnumerable<ResidualBlock> Blocks => _stages.SelectMany(s => Enumerable.Range(0, s.Count).Select(i => (ResidualBlock)s[i]));

    /// <summary>Builds <paramref name="spec"/> for <paramref name="options"/>' input channels and classes.</summary>
    public ResNet(ResNetSpec spec, ModelOptions options)
    {
        Spec = spec;
        var g = options.Generator;
        int stem = spec.StemChannels;
        _conv1 = RegisterModule("conv1", spec.CifarStem
            ? new Conv2d(options.InChannels, stem, 3, 1, 1, bias: false, generator: g)
            : new Conv2d(options.InChannels, stem, 7, 2, 3, bias: false, generator: g));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(stem));
        RegisterModule("relu", new ReLU());
        if (!spec.CifarStem) _maxpool = RegisterModule("maxpool", new MaxPool2d(3, 2, 1));
        _stages = new Sequential[spec.Layers.Length];
        long channels = stem;
        for (int s = 0; s < spec.Layers.Length; s++)
        {
            var stage = new Sequential(Array.Empty<Module>());
            for (int b = 0; b < spec.Layers[s]; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                stage.Append(CreateBlock(spec, channels, spec.Planes(s), stride, spec.IsDeformable(s), g));
                channels = spec.Planes(s) * spec.Expansion;
            }
            _stages[s] = RegisterModule($"layer{s + 1}", stage);
        }
        RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        _fc = RegisterModule("fc", new Linear(channels, options.NumClasses, generator: g));

        ModelInit.KaimingFanOut(this, g, linearStd: null);
        if (options.ZeroInitResidual)
            foreach (var block in Blocks) ModelInit.ZeroGamma(block.LastNorm);
    }

    private static ResidualBlock CreateBlock(ResNetSpec spec, long inChannels, int planes, int stride, bool deformable, Generator? g) => spec.Block switch
    {
        ResidualBlockKind.Basic when spec.Groups == 1 && spec.WidthPerGroup == 64 && !spec.SqueezeExcitation => new BasicBlock(inChannels, planes, stride, g, deformable),
        ResidualBlockKind.Basic => throw new ArgumentValueException("resnet", "BasicBlock supports only groups 1, width per group 64 and no squeeze-excitation (as torchvision)"),
        _ => new Bottleneck(inChannels, planes, stride, spec.Groups, spec.WidthPerGroup, spec.SqueezeExcitation, g, deformable),
    };

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = _bn1.Call(_conv1.Call(input)).Relu();
        if (_maxpool is not null) x = _maxpool.Call(x);
        foreach (var stage in _stages) x = stage.Call(x);
        return _fc.Call(Functional.AdaptiveAvgPool2d(x, 1, 1).Flatten(1));
    }

    private const string He2015 = "He et al. 2015, Deep residual learning for image recognition";

    /// <summary>The ImageNet table: torchvision's builders with their (block, layers, groups, width per group).</summary>
    private static readonly (string Name, ResNetSpec Spec, string Paper)[] s_table =
    [
        ("resnet18", new(ResidualBlockKind.Basic, [2, 2, 2, 2]), He2015),
        ("resnet34", new(ResidualBlockKind.Basic, [3, 4, 6, 3]), He2015),
        ("resnet50", new(ResidualBlockKind.Bottleneck, [3, 4, 6, 3]), He2015 + " (v1.5: stride on the 3x3 conv)"),
        ("resnet101", new(ResidualBlockKind.Bottleneck, [3, 4, 23, 3]), He2015 + " (v1.5: stride on the 3x3 conv)"),
        ("resnet152", new(ResidualBlockKind.Bottleneck, [3, 8, 36, 3]), He2015 + " (v1.5: stride on the 3x3 conv)"),
        ("resnext50_32x4d", new(ResidualBlockKind.Bottleneck, [3, 4, 6, 3], 32, 4), "Xie et al. 2016, Aggregated residual transformations for deep neural networks (ResNeXt)"),
        ("resnext101_32x8d", new(ResidualBlockKind.Bottleneck, [3, 4, 23, 3], 32, 8), "Xie et al. 2016, Aggregated residual transformations for deep neural networks (ResNeXt)"),
        ("wide_resnet50_2", new(ResidualBlockKind.Bottleneck, [3, 4, 6, 3], 1, 128), "Zagoruyko & Komodakis 2016, Wide residual networks (torchvision's bottleneck form)"),
        ("resnet18_dcn", new(ResidualBlockKind.Basic, [2, 2, 2, 2], DeformableStages: 3), DcnPaper),
        ("resnet50_dcn", new(ResidualBlockKind.Bottleneck, [3, 4, 6, 3], DeformableStages: 3), DcnPaper),
    ];

    private const string DcnPaper = "Zhu et al. 2019, Deformable ConvNets v2 (modulated deformable 3x3 convs in conv3_x-conv5_x; Dai et al. 2017, Deformable convolutional networks)";

    /// <summary>The ImageNet rows by registry name (resnet18 … wide_resnet50_2), for building variants of them.</summary>
    public static IReadOnlyDictionary<string, ResNetSpec> ImageNet { get; } = s_table.ToDictionary(r => r.Name, r => r.Spec);

    /// <summary>The CIFAR ResNets of He et al. section 4.2 by depth 6n+2.</summary>
    private static readonly int[] s_cifarDepths = [20, 32, 44, 56, 110];

    /// <summary>The CIFAR ResNet of depth 6n+2: three stages of n BasicBlocks after a 3×3 stem.</summary>
    public static ResNetSpec Cifar(int depth) => (depth - 2) % 6 == 0 && depth >= 8
        ? new(ResidualBlockKind.Basic, [(depth - 2) / 6, (depth - 2) / 6, (depth - 2) / 6], CifarStem: true)
        : throw new ArgumentValueException("resnet", $"CIFAR ResNet depth {depth} is not 6n+2");

    /// <summary>The registered ResNet variants (ImageNet table and CIFAR depths).</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
        s_table.Select(r => Info(r.Name, ModelFamily.ResNet, r.Spec, r.Paper))
            .Concat(s_cifarDepths.Select(d => new ModelInfo($"resnet{d}", ModelFamily.ResNet, 32, 8,
                $"He et al. 2015, Deep residual learning for image recognition, section 4.2 (CIFAR-10, depth 6n+2 = {d}; projection shortcuts, option B)",
                o => new ResNet(Cifar(d), o))));

    /// <summary>An ImageNet-size (224, min 1 as torchvision's meta) variant built from <paramref name="spec"/>.</summary>
    internal static ModelInfo Info(string name, ModelFamily family, ResNetSpec spec, string paper) =>
        new(name, family, 224, 1, paper, o => new ResNet(spec, o));
}
