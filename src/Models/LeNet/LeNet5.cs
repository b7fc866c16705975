using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// LeNet-5 in its modern form (LeCun et al., 1998, with ReLU and max pooling): conv 6@5×5 (padding 2 for 28×28
/// input) – pool – conv 16@5×5 – pool – fc 120 – fc 84 – fc classes. Parameter names follow a PyTorch
/// definition with <c>features</c> and <c>classifier</c> Sequentials, so weights interchange with it.
/// </summary>
public sealed class LeNet5 : Module
{
    /// <summary>The convolutional part: features.0 (conv), .3 (conv).</summary>
    public Sequential Features { get; }

    /// <summary>The fully connected part: classifier.0, .2, .4.</summary>
    public Sequential Classifier { get; }

    /// <summary>Creates the network for single-channel 28×28 (or 32×32 with <paramref name="padFirst"/> false) images.</summary>
    public LeNet5(int numClasses = 10, int inChannels = 1, bool padFirst = true, Generator? generator = null)
    {
        Features = RegisterModule("features", new Sequential(
            new Conv2d(inChannels, 6, 5, padding: padFirst ? 2 : 0, generator: generator),
            new ReLU(),
            new MaxPool2d(2),
            new Conv2d(6, 16, 5, generator: generator),
            new ReLU(),
            new MaxPool2d(2)));
        Classifier = RegisterModule("classifier", new Sequential(
            new Linear(16 * 5 * 5, 120, generator: generator),
            new ReLU(),
            new Linear(120, 84, generator: generator),
            new ReLU(),
            new Linear(84, numClasses, generator: generator)));
    }

    /// <summary>The registered variant.</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
    [
        new("lenet5", ModelFamily.LeNet, 28, 28, "LeCun et al. 1998, Gradient-based learning applied to document recognition (ReLU, max pooling, 28x28 input padded by 2)",
            o => new LeNet5(o.NumClasses, o.InChannels, padFirst: true, o.Generator), DefaultChannels: 1, DefaultClasses: 10),
    ];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(Features.Call(input).Flatten(1));
}
