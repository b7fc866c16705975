using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// MobileNet v1's depthwise separable convolution (Howard et al. 2017, Figure 3): <c>dw</c>, a 3×3 depthwise
/// convolution (one filter per input channel) with BatchNorm and ReLU, then <c>pw</c>, a 1×1 pointwise convolution
/// with BatchNorm and ReLU that mixes the channels. Both are <see cref="ConvNormActivation"/> Sequentials, so the
/// parameters are <c>dw.0.weight</c>, <c>dw.1.*</c>, <c>pw.0.weight</c>, <c>pw.1.*</c>.
/// </summary>
public sealed class DepthwiseSeparable : Module
{
    /// <summary>The depthwise 3×3 stage (carries the stride).</summary>
    public Sequential Dw { get; }

    /// <summary>The pointwise 1×1 stage.</summary>
    public Sequential Pw { get; }

    /// <summary>Creates the block <paramref name="inChannels"/> → <paramref name="outChannels"/>.</summary>
    public DepthwiseSeparable(int inChannels, int outChannels, int stride, Generator? generator = null)
    {
        Dw = RegisterModule("dw", ConvNormActivation.Create(inChannels, inChannels, 3, stride, groups: inChannels, generator: generator));
        Pw = RegisterModule("pw", ConvNormActivation.Create(inChannels, outChannels, 1, generator: generator));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Pw.Call(Dw.Call(input));
}
