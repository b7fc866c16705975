using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// GoogLeNet's auxiliary classifier (torchvision's <c>googlenet.InceptionAux</c>): adaptive average pool to 4×4,
/// <c>conv</c> (1×1 <see cref="BasicConv2d"/> to 128), flatten, <c>fc1</c> (2048 → 1024) with ReLU, <c>dropout</c>
/// (0.7), <c>fc2</c> (1024 → classes). The paper pools 5×5/3 from a 14×14 map, which is 4×4 there; the adaptive pool
/// keeps the head valid for any input size.
/// </summary>
public sealed class GoogLeNetAux : Module
{
    private readonly BasicConv2d _conv;
    private readonly Linear _fc1, _fc2;
    private readonly Dropout _dropout;

    /// <summary>Creates the head over <paramref name="inChannels"/> feature channels.</summary>
    public GoogLeNetAux(long inChannels, int numClasses, double dropout = 0.7, Generator? generator = null)
    {
        _conv = RegisterModule("conv", new BasicConv2d(inChannels, 128, 1, generator: generator));
        _fc1 = RegisterModule("fc1", new Linear(2048, 1024, generator: generator));
        _fc2 = RegisterModule("fc2", new Linear(1024, numClasses, generator: generator));
        _dropout = RegisterModule("dropout", new Dropout(dropout, generator));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = _conv.Call(Functional.AdaptiveAvgPool2d(input, 4, 4)).Flatten(1);
        return _fc2.Call(_dropout.Call(_fc1.Call(x).Relu()));
    }
}
