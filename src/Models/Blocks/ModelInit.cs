using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// The families' weight initialisation rules, applied after construction over every layer of a model (torchvision
/// does the same in each model's <c>__init__</c>). All draws come from the given generator, so a seed fixes the model.
/// </summary>
public static class ModelInit
{
    /// <summary>
    /// The ResNet/VGG/MobileNet/VideoResNet rule: convolutions (2-D and 3-D) He-normal (fan-out, ReLU gain) and zero bias, BatchNorm weight 1 and
    /// bias 0, linear layers N(0, <paramref name="linearStd"/>²) (or PyTorch's default when null) and zero bias.
    /// </summary>
    public static void KaimingFanOut(Module model, Generator? generator, double? linearStd = 0.01)
    {
        foreach (var (_, m) in model.NamedModules())
        {
            switch (m)
            {
                case ConvNd c:
                    Init.KaimingNormal(c.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu, generator: generator);
                    if (c.Bias is { } cb) Init.Zeros(cb);
                    break;
                case BatchNormBase bn:
                    if (bn.Weight is { } w) Init.Ones(w);
                    if (bn.Bias is { } b) Init.Zeros(b);
                    break;
                case Linear l when linearStd is { } std:
                    Init.Normal(l.Weight, 0, std, generator);
                    if (l.Bias is { } lb) Init.Zeros(lb);
                    break;
            }
        }
        // a deformable conv's offset predictor (a Conv2d child, re-drawn above) starts at zero: offsets 0, the regular grid
        foreach (var (_, m) in model.NamedModules())
            if (m is DeformConv2dPack pack) pack.ResetOffsetPredictor();
    }

    /// <summary>Sets a BatchNorm's weight to zero, so its residual branch starts as the identity (zero-init residual).</summary>
    public static void ZeroGamma(BatchNormBase bn)
    {
        if (bn.Weight is { } w) Init.Zeros(w);
    }
}
