using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// SqueezeNet's Fire module (Iandola et al. 2016): a 1×1 "squeeze" convolution to few channels, then 1×1 and 3×3
/// "expand" convolutions side by side whose ReLU outputs are concatenated along channels. Children are named as
/// torchvision's: squeeze, squeeze_activation, expand1x1, expand1x1_activation, expand3x3, expand3x3_activation.
/// </summary>
public sealed class Fire : Module
{
    private readonly Conv2d _squeeze, _expand1x1, _expand3x3;
    private readonly ReLU _squeezeActivation, _expand1x1Activation, _expand3x3Activation;

    /// <summary>Output channels: <c>expand1x1Planes + expand3x3Planes</c>.</summary>
    public long OutChannels { get; }

    /// <summary>Creates a Fire module from <paramref name="inPlanes"/> channels.</summary>
    public Fire(long inPlanes, long squeezePlanes, long expand1x1Planes, long expand3x3Planes, Generator? generator = null)
    {
        _squeeze = RegisterModule("squeeze", new Conv2d(inPlanes, squeezePlanes, 1, generator: generator));
        _squeezeActivation = RegisterModule("squeeze_activation", new ReLU());
        _expand1x1 = RegisterModule("expand1x1", new Conv2d(squeezePlanes, expand1x1Planes, 1, generator: generator));
        _expand1x1Activation = RegisterModule("expand1x1_activation", new ReLU());
        _expand3x3 = RegisterModule("expand3x3", new Conv2d(squeezePlanes, expand3x3Planes, 3, padding: 1, generator: generator));
        _expand3x3Activation = RegisterModule("expand3x3_activation", new ReLU());
        OutChannels = expand1x1Planes + expand3x3Planes;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var s = _squeezeActivation.Call(_squeeze.Call(input));
        return Tensor.Cat([_expand1x1Activation.Call(_expand1x1.Call(s)), _expand3x3Activation.Call(_expand3x3.Call(s))], 1);
    }
}
