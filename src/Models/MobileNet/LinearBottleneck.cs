using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// MobileNet v2's inverted residual with a linear bottleneck (Sandler et al. 2018, Table 1), in torchvision's layout:
/// a Sequential <c>conv</c> of an optional 1×1 expansion to t·in channels (<see cref="ConvNormActivation"/> with ReLU6,
/// absent when t = 1), the 3×3 depthwise convolution (ReLU6), then the linear projection as a bare 1×1 conv and
/// BatchNorm (children 2 and 3, or 1 and 2 without expansion). The input is added back when the stride is 1 and the
/// widths agree.
/// </summary>
public sealed class LinearBottleneck : Module
{
    private readonly bool _residual;

    /// <summary>The residual branch.</summary>
    public Sequential Conv { get; }

    /// <summary>Creates the block: <paramref name="inChannels"/> → ×<paramref name="expandRatio"/> → <paramref name="outChannels"/>.</summary>
    public LinearBottleneck(int inChannels, int outChannels, int stride, int expandRatio, Generator? generator = null)
    {
        if (stride is < 1 or > 2) throw new ArgumentValueException("mobilenet_v2", $"stride must be 1 or 2, got {stride}");
        _residual = stride == 1 && inChannels == outChannels;
        int hidden = inChannels * expandRatio;
        var conv = new Sequential(Array.Empty<Module>());
        if (expandRatio != 1) conv.Append(ConvNormActivation.Create(inChannels, hidden, 1, activation: Activation.ReLU6, generator: generator));
        conv.Append(ConvNormActivation.Create(hidden, hidden, 3, stride, groups: hidden, activation: Activation.ReLU6, generator: generator));
        conv.Append(new Conv2d(hidden, outChannels, 1, bias: false, generator: generator));
        conv.Append(new BatchNorm2d(outChannels));
        Conv = RegisterModule("conv", conv);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => _residual ? input.Add(Conv.Call(input)) : Conv.Call(input);
}
