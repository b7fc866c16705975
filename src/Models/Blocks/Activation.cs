using Engine.Nn;

namespace Engine.Models;

/// <summary>The activations the families use after a convolution.</summary>
public enum Activation
{
    /// <summary>No activation (a linear bottleneck's projection).</summary>
    None,
    /// <summary>max(x, 0).</summary>
    ReLU,
    /// <summary>min(max(x, 0), 6) (MobileNet v1/v2).</summary>
    ReLU6,
    /// <summary>x·sigmoid(x), swish (EfficientNet).</summary>
    SiLU,
    /// <summary>x·relu6(x + 3)/6 (MobileNet v3).</summary>
    Hardswish,
    /// <summary>relu6(x + 3)/6 (MobileNet v3's SE gate).</summary>
    Hardsigmoid,
    /// <summary>1/(1 + e^−x) (SE gate).</summary>
    Sigmoid,
}

/// <summary>Builds activation modules from <see cref="Activation"/>.</summary>
public static class Activations
{
    /// <summary>A new module computing <paramref name="kind"/>, or null for <see cref="Activation.None"/>.</summary>
    public static Module? Create(Activation kind) => kind switch
    {
        Activation.None => null,
        Activation.ReLU => new ReLU(),
        Activation.ReLU6 => new ReLU6(),
        Activation.SiLU => new SiLU(),
        Activation.Hardswish => new Hardswish(),
        Activation.Hardsigmoid => new Hardsigmoid(),
        Activation.Sigmoid => new Sigmoid(),
        _ => throw new ArgumentValueException("activation", $"unknown activation {kind}"),
    };
}
