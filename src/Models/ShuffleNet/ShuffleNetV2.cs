using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// ShuffleNet v2 (Ma et al. 2018) in torchvision's layout: <c>conv1</c> (3×3/2 conv-BN-ReLU), <c>maxpool</c>
/// (3×3/2), <c>stage2</c>–<c>stage4</c> (Sequentials of <see cref="ShuffleUnit"/>, the first of each with stride 2),
/// <c>conv5</c> (1×1 conv-BN-ReLU), global mean and <c>fc</c>. Initialised with PyTorch's layer defaults, as torchvision.
/// </summary>
public sealed class ShuffleNetV2 : Module
{
    private readonly Sequential _conv1, _stage2, _stage3, _stage4, _conv5;
    private readonly MaxPool2d _maxpool;
    private readonly Linear _fc;

    /// <summary>
    /// Builds the network: <paramref name="stageRepeats"/> units in stages 2–4 and <paramref name="stageOutChannels"/>
    /// the channels of conv1, the three stages and conv5.
    /// </summary>
    public ShuffleNetV2(int[] stageRepeats, int[] stageOutChannels, int numClasses = 1000, int inChannels = 3, Generator? generator = null)
    {
        if (stageRepeats.Length != 3) throw new ArgumentValueException("ShuffleNetV2", "expected 3 stage repeats");
        if (stageOutChannels.Length != 5) throw new ArgumentValueException("ShuffleNetV2", "expected 5 stage output channels");
        _conv1 = RegisterModule("conv1", ConvNormActivation.Create(inChannels, stageOutChannels[0], 3, stride: 2, generator: generator));
        _maxpool = RegisterModule("maxpool", new MaxPool2d(3, stride: 2, padding: 1));
        var stages = new Sequential[3];
        int channels = stageOutChannels[0];
        for (int s = 0; s < 3; s++)
        {
            int outChannels = stageOutChannels[s + 1];
            var stage = new Sequential(new ShuffleUnit(channels, outChannels, 2, generator));
            for (int i = 1; i < stageRepeats[s]; i++) stage.Append(new ShuffleUnit(outChannels, outChannels, 1, generator));
            stages[s] = RegisterModule($"stage{s + 2}", stage);
            channels = outChannels;
        }
        (_stage2, _stage3, _stage4) = (stages[0], stages[1], stages[2]);
        _conv5 = RegisterModule("conv5", ConvNormActivation.Create(channels, stageOutChannels[4], 1, generator: generator));
        _fc = RegisterModule("fc", new Linear(stageOutChannels[4], numClasses, generator: generator));
    }

    /// <summary>torchvision's table: (name, units per stage, channels of conv1, stages 2–4 and conv5).</summary>
    private static readonly (string Name, int[] Repeats, int[] Channels)[] s_variants =
    [
        ("shufflenet_v2_x1_0", [4, 8, 4], [24, 116, 232, 464, 1024]),
    ];

    /// <summary>The registered variants; torchvision's x0.5, x1.5 and x2.0 widths would each be one more row of the table.</summary>
    internal static IEnumerable<ModelInfo> Variants() => s_variants.Select(v => new ModelInfo(v.Name, ModelFamily.ShuffleNet, 224, 1,
        $"Ma et al. 2018, ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design (stage channels {string.Join("-", v.Channels[1..4])})",
        o => new ShuffleNetV2(v.Repeats, v.Channels, o.NumClasses, o.InChannels, o.Generator)));

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = _maxpool.Call(_conv1.Call(input));
        x = _conv5.Call(_stage4.Call(_stage3.Call(_stage2.Call(x))));
        return _fc.Call(x.Mean([2, 3]));
    }
}
