using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// torchvision's <c>Conv2dNormActivation</c>: a <see cref="Sequential"/> of conv ("0"), BatchNorm ("1") and an
/// activation ("2"), with "same"-style padding (k−1)/2·dilation and no conv bias when a norm follows. Returning a
/// plain Sequential keeps the state-dict names torchvision gives (<c>features.0.0.weight</c>, <c>features.0.1.running_mean</c>).
/// </summary>
public static class ConvNormActivation
{
    /// <summary>conv k×k (stride, groups, dilation) → BN (eps, momentum) → activation.</summary>
    public static Sequential Create(long inChannels, long outChannels, int kernelSize = 3, int stride = 1, int groups = 1,
        Activation activation = Activation.ReLU, bool norm = true, int dilation = 1, double bnEps = 1e-5, double bnMomentum = 0.1,
        int? padding = null, Generator? generator = null)
    {
        int pad = padding ?? (kernelSize - 1) / 2 * dilation;
        var seq = new Sequential(new Conv2d(inChannels, outChannels, kernelSize, stride, pad, dilation, groups, bias: !norm, generator: generator));
        if (norm) seq.Append(new BatchNorm2d(outChannels, bnEps, bnMomentum));
        if (Activations.Create(activation) is { } act) seq.Append(act);
        return seq;
    }
}
