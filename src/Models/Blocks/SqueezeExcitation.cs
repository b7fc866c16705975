using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// Squeeze-and-excitation (Hu et al. 2017) in torchvision's layout: global average pool, <c>fc1</c> (1×1 conv to
/// <c>squeezeChannels</c>), activation, <c>fc2</c> (1×1 conv back), a gate (sigmoid or hard sigmoid), and the input
/// scaled per channel by the gate. Composed from primitives (pool, conv, activation, broadcast multiply).
/// </summary>
public sealed class SqueezeExcitation : Module
{
    private readonly Module _pool;
    private readonly Module? _activation, _gate;

    /// <summary>The reduction conv.</summary>
    public Conv2d Fc1 { get; }

    /// <summary>The expansion conv.</summary>
    public Conv2d Fc2 { get; }

    /// <summary>Creates the block for <paramref name="channels"/> channels squeezed to <paramref name="squeezeChannels"/>.</summary>
    public SqueezeExcitation(long channels, long squeezeChannels, Activation activation = Activation.ReLU, Activation gate = Activation.Sigmoid,
        Generator? generator = null)
    {
        _pool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Fc1 = RegisterModule("fc1", new Conv2d(channels, squeezeChannels, 1, generator: generator));
        Fc2 = RegisterModule("fc2", new Conv2d(squeezeChannels, channels, 1, generator: generator));
        if (Activations.Create(activation) is { } a) _activation = RegisterModule("activation", a);
        if (Activations.Create(gate) is { } g) _gate = RegisterModule("scale_activation", g);
    }

    /// <summary>The per-channel gate [N, C, 1, 1] for <paramref name="input"/>.</summary>
    public Tensor Scale(Tensor input)
    {
        var s = Fc1.Call(_pool.Call(input));
        if (_activation is not null) s = _activation.Call(s);
        s = Fc2.Call(s);
        return _gate is null ? s : _gate.Call(s);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Mul(Scale(input));
}
