using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// The ShuffleNet v2 unit (torchvision's <c>shufflenetv2.InvertedResidual</c>). Stride 1: the channels split in two
/// halves, the second goes through <c>branch2</c> (1×1 conv-BN-ReLU, 3×3 depthwise conv-BN, 1×1 conv-BN-ReLU) and is
/// concatenated to the untouched first. Stride 2: <c>branch1</c> (3×3/2 depthwise conv-BN, 1×1 conv-BN-ReLU) and
/// <c>branch2</c> both see the whole input. Either way the result is channel-shuffled with 2 groups. Children
/// branch1 (empty for stride 1, as torchvision) and branch2, indexed as torchvision's Sequentials.
/// </summary>
public sealed class ShuffleUnit : Module
{
    private readonly int _stride;
    private readonly Sequential _branch1, _branch2;

    /// <summary>Creates a unit from <paramref name="inChannels"/> to <paramref name="outChannels"/> (even) channels.</summary>
    public ShuffleUnit(int inChannels, int outChannels, int stride, Generator? generator)
    {
        if (stride is < 1 or > 3) throw new ArgumentValueException("ShuffleUnit", $"stride must be 1, 2 or 3, got {stride}");
        int branch = outChannels / 2;
        if (stride == 1 && inChannels != branch * 2)
            throw new ArgumentValueException("ShuffleUnit", $"with stride 1 the input channels ({inChannels}) must equal the output channels ({outChannels}), rounded to even");
        _stride = stride;
        _branch1 = RegisterModule("branch1", stride > 1
            ? new Sequential(
                Depthwise(inChannels, stride, generator), new BatchNorm2d(inChannels),
                Pointwise(inChannels, branch, generator), new BatchNorm2d(branch), new ReLU())
            : new Sequential(Array.Empty<Module>()));
        _branch2 = RegisterModule("branch2", new Sequential(
            Pointwise(stride > 1 ? inChannels : branch, branch, generator), new BatchNorm2d(branch), new ReLU(),
            Depthwise(branch, stride, generator), new BatchNorm2d(branch),
            Pointwise(branch, branch, generator), new BatchNorm2d(branch), new ReLU()));
    }

    private static Conv2d Depthwise(int channels, int stride, Generator? g) => new(channels, channels, 3, stride, 1, groups: channels, bias: false, generator: g);

    private static Conv2d Pointwise(int inChannels, int outChannels, Generator? g) => new(inChannels, outChannels, 1, bias: false, generator: g);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Tensor y;
        if (_stride == 1)
        {
            var halves = input.Chunk(2, 1);
            y = Tensor.Cat([halves[0], _branch2.Call(halves[1])], 1);
        }
        else y = Tensor.Cat([_branch1.Call(input), _branch2.Call(input)], 1);
        return Functional.ChannelShuffle(y, 2);
    }
}
