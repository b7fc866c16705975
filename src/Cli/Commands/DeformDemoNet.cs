using Engine.Nn;

namespace Engine.Cli;

/// <summary>
/// The nets of <c>engine deform-demo</c> for 1×28×28 inputs: conv 3×3 to 16 – conv 3×3 stride 2 to 32 – then three 3×3
/// convs (32, stride 2 to 64, 64) that are deformable (<see cref="DeformConv2dPack"/>, offset predictors at zero) or
/// plain, each followed by BatchNorm and ReLU; global average pooling and a linear classifier. Both variants draw
/// every shared weight in the same order from the seed, so they start from the same convolution weights.
/// </summary>
internal static class DeformDemoNet
{
    /// <summary>The net: deformable (DCNv1, or DCNv2 when <paramref name="modulated"/>) or its plain twin.</summary>
    public static Sequential Create(bool deformable, bool modulated, Generator g)
    {
        Module Conv(int cin, int cout, int stride) => deformable
            ? new DeformConv2dPack(cin, cout, 3, stride, 1, modulated: modulated, bias: false, generator: g)
            : new Conv2d(cin, cout, 3, stride, 1, bias: false, generator: g);
        return new Sequential(
            new Conv2d(1, 16, 3, 1, 1, bias: false, generator: g), new BatchNorm2d(16), new ReLU(),
            new Conv2d(16, 32, 3, 2, 1, bias: false, generator: g), new BatchNorm2d(32), new ReLU(),
            Conv(32, 32, 1), new BatchNorm2d(32), new ReLU(),
            Conv(32, 64, 2), new BatchNorm2d(64), new ReLU(),
            Conv(64, 64, 1), new BatchNorm2d(64), new ReLU(),
            new AdaptiveAvgPool2d(1), new Flatten(), new Linear(64, 10, generator: g));
    }
}
