using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// The inverted residual block of MobileNet v3 (Howard et al. 2019, section 5) and EfficientNet's MBConv (Tan &amp; Le
/// 2019), in torchvision's layout: a Sequential <c>block</c> of an optional 1×1 expansion
/// (<see cref="ConvNormActivation"/>, present only when the expanded width differs from the input width), the k×k
/// depthwise convolution, an optional <see cref="SqueezeExcitation"/>, and the linear 1×1 projection (conv + BN, no
/// activation); then, for EfficientNet, a <c>stochastic_depth</c> module. The input is added back when the stride
/// is 1 and the widths agree, after stochastic depth has (in training) dropped the branch per sample.
/// </summary>
public sealed class InvertedResidual : Module
{
    private readonly bool _residual;

    /// <summary>expand? → depthwise → SE? → project.</summary>
    public Sequential Block { get; }

    /// <summary>The branch's stochastic depth ("row" mode), or null for MobileNet v3, which has none.</summary>
    public StochasticDepth? StochasticDepth { get; }

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input width.</param>
    /// <param name="expandedChannels">Width of the depthwise stage.</param>
    /// <param name="outChannels">Output width.</param>
    /// <param name="kernel">Depthwise kernel size.</param>
    /// <param name="stride">Depthwise stride (ignored, as in torchvision, when <paramref name="dilation"/> is above 1).</param>
    /// <param name="activation">Activation after the expansion and the depthwise convolution.</param>
    /// <param name="squeezeChannels">SE bottleneck width, or 0 for no SE.</param>
    /// <param name="seActivation">SE's inner activation.</param>
    /// <param name="seGate">SE's gate.</param>
    /// <param name="bnEps">BatchNorm epsilon.</param>
    /// <param name="bnMomentum">BatchNorm momentum (PyTorch's convention).</param>
    /// <param name="dilation">Depthwise dilation.</param>
    /// <param name="stochasticDepth">The branch's drop rate, or null for no stochastic-depth module.</param>
    /// <param name="generator">Draws the initial weights and the stochastic-depth masks.</param>
    public InvertedResidual(int inChannels, int expandedChannels, int outChannels, int kernel, int stride, Activation activation,
        int squeezeChannels, Activation seActivation, Activation seGate, double bnEps, double bnMomentum, int dilation = 1,
        double? stochasticDepth = null, Generator? generator = null)
    {
        if (stride is < 1 or > 2) throw new ArgumentValueException("inverted_residual", $"stride must be 1 or 2, got {stride}");
        _residual = stride == 1 && inChannels == outChannels;
        var block = new Sequential(Array.Empty<Module>());
        if (expandedChannels != inChannels)
            block.Append(ConvNormActivation.Create(inChannels, expandedChannels, 1, activation: activation, bnEps: bnEps, bnMomentum: bnMomentum, generator: generator));
        block.Append(ConvNormActivation.Create(expandedChannels, expandedChannels, kernel, dilation > 1 ? 1 : stride, groups: expandedChannels,
            activation: activation, dilation: dilation, bnEps: bnEps, bnMomentum: bnMomentum, generator: generator));
        if (squeezeChannels > 0)
            block.Append(new SqueezeExcitation(expandedChannels, squeezeChannels, seActivation, seGate, generator));
        block.Append(ConvNormActivation.Create(expandedChannels, outChannels, 1, activation: Activation.None, bnEps: bnEps, bnMomentum: bnMomentum, generator: generator));
        Block = RegisterModule("block", block);
        if (stochasticDepth is { } p) StochasticDepth = RegisterModule("stochastic_depth", new StochasticDepth(p, perSample: true, generator));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var result = Block.Call(input);
        if (!_residual) return result;
        if (StochasticDepth is { } sd) result = sd.Call(result);
        return result.Add(input);
    }
}
