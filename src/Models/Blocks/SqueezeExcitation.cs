using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// Squeeze-and-excitation (Hu et al. 2017) in torchvision's layout: global average pool, <c>fc1</c> (1×1 conv to
/// <c>squeezeChannels</c>), activation, <c>fc2</c> (1×1 conv back), a gate (sigmoid or hard sigmoid), and the input
/// scaled per channel by the gate. Composed from primitives (pool, conv, activation, broadcast multiply).
/// </summary>
public sealed class SqueezeExcitation : Module
{
    private readonly Activation _activation, _gate;

    /// <summary>The reduction conv.</summary>
    public Conv2d Fc1 { get; }

    /// <summary>The expansion conv.</summary>
    public Conv2d Fc2 { get; }

    /// <summary>Creates the block for <paramref name="channels"/> channels squeezed to <paramref name="squeezeChannels"/>.</summary>
    public SqueezeExcitation(long channels, long squeezeChannels, Activation activation = Activation.ReLU, Activation gate = Activation.Sigmoid,
        Generator? generator = null)
    {
        (_activation, _gate) = (activation, gate);
        RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Fc1 = RegisterModule("fc1", new Conv2d(channels, squeezeChannels, 1, generator: generator));
        Fc2 = RegisterModule("fc2", new Conv2d(squeezeChannels, channels, 1, generator: generator));
        if (Activations.Create(activation) is { } a) RegisterModule("activation", a);
        if (Activations.Create(gate) is { } g) RegisterModule("scale_activation", g);
    }

    /// <summary>The per-channel gate [N, C, 1, 1] for <paramref name="input"/>.</summary>
    public Tensor Scale(Tensor input)
    {
        var s = Functional.AdaptiveAvgPool2d(input, 1, 1);
        s = Apply(_activation, Fc1.Call(s));
        return Apply(_gate, Fc2.Call(s));
    }

    private static Tensor Apply(Activation kind, Tensor x) => kind switch
    {
        Activation.None => x,
        Activation.ReLU => x.Relu(),
        Activation.ReLU6 => x.Relu6(),
        Activation.SiLU => x.Silu(),
        Activation.Hardswish => x.Hardswish(),
        Activation.Hardsigmoid => x.Hardsigmoid(),
        Activation.Sigmoid => x.Sigmoid(),
        _ => throw new ArgumentValueException("squeeze_excitation", $"unknown activation {kind}"),
    };

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Mul(Scale(input));
}
