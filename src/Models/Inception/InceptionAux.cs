using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// Inception v3's auxiliary classifier (torchvision's <c>inception.InceptionAux</c>, registered as <c>AuxLogits</c>):
/// average pool 5×5 stride 3 (17×17 → 5×5), <c>conv0</c> (1×1 to 128), <c>conv1</c> (5×5 to 768, so 5×5 → 1×1),
/// adaptive average pool to 1×1, flatten, <c>fc</c> (768 → classes). The unpadded pool and 5×5 conv need a 17×17
/// feature map, i.e. the full 299×299 input: at smaller inputs PyTorch's head fails as this one does.
/// </summary>
public sealed class InceptionAux : Module
{
    private readonly BasicConv2d _conv0, _conv1;

    /// <summary>The classifier, initialised with std 0.001 (torchvision's <c>fc.stddev</c>).</summary>
    public Linear Fc { get; }

    /// <summary>Creates the head over <paramref name="inChannels"/> feature channels.</summary>
    public InceptionAux(long inChannels, int numClasses, Generator? generator = null)
    {
        _conv0 = RegisterModule("conv0", new BasicConv2d(inChannels, 128, 1, generator: generator));
        _conv1 = RegisterModule("conv1", new BasicConv2d(128, 768, 5, generator: generator));
        Fc = RegisterModule("fc", new Linear(768, numClasses, generator: generator));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = _conv1.Call(_conv0.Call(Functional.AvgPool2d(input, 5, 3)));
        return Fc.Call(Functional.AdaptiveAvgPool2d(x, 1, 1).Flatten(1));
    }
}
