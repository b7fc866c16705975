using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// EfficientNet B0–B7 (Tan &amp; Le 2019) as torchvision builds them: <c>features.0</c> a 3×3 stride-2 stem (SiLU),
/// <c>features.1</c>–<c>features.7</c> one Sequential per stage of MBConv blocks (<see cref="InvertedResidual"/> with
/// SE and stochastic depth: <c>features.S.B.block.K</c>), <c>features.8</c> a 1×1 conv to 4× the last width (SiLU),
/// global average pooling (<c>avgpool</c>), and <c>classifier</c> = Dropout (0) + Linear (1). Every variant comes from
/// the one B0 stage table, compound-scaled by the variant's width (channels, to multiples of 8) and depth (block
/// counts, rounded up) multipliers. The stochastic-depth rate rises linearly over the blocks, block i of n dropping
/// with rate p·i/n (p = 0.2).
/// </summary>
public sealed class EfficientNet : Module
{
    /// <summary>One MBConv stage of B0 (Table 1): expansion ratio, depthwise kernel, stride of its first block, input and output widths, blocks.</summary>
    public readonly record struct Stage(int Expand, int Kernel, int Stride, int In, int Out, int Layers);

    /// <summary>The B0 stages (Tan &amp; Le 2019, Table 1).</summary>
    public static IReadOnlyList<Stage> B0Stages { get; } =
    [
        new(1, 3, 1, 32, 16, 1), new(6, 3, 2, 16, 24, 2), new(6, 5, 2, 24, 40, 2), new(6, 3, 2, 40, 80, 3),
        new(6, 5, 1, 80, 112, 3), new(6, 5, 2, 112, 192, 4), new(6, 3, 1, 192, 320, 1),
    ];

    /// <summary>
    /// A variant's compound scaling: width and depth multipliers, input resolution, classifier dropout, and BatchNorm
    /// ε / momentum (torchvision's B5–B7 use TensorFlow's 0.001 / 0.01, as their weights were ported from it).
    /// </summary>
    public readonly record struct Scaling(double Width, double Depth, int Resolution, double Dropout, double BnEps = 1e-5, double BnMomentum = 0.1);

    /// <summary>B0–B7, in order (torchvision's <c>efficientnet_b0</c> … <c>efficientnet_b7</c>).</summary>
    public static IReadOnlyList<Scaling> Scalings { get; } =
    [
        new(1.0, 1.0, 224, 0.2), new(1.0, 1.1, 240, 0.2), new(1.1, 1.2, 260, 0.3), new(1.2, 1.4, 300, 0.3),
        new(1.4, 1.8, 380, 0.4), new(1.6, 2.2, 456, 0.4, 0.001, 0.01), new(1.8, 2.6, 528, 0.5, 0.001, 0.01), new(2.0, 3.1, 600, 0.5, 0.001, 0.01),
    ];

    /// <summary>The B0 table scaled by <paramref name="s"/>: widths to multiples of 8, block counts rounded up.</summary>
    public static IReadOnlyList<Stage> ScaledStages(Scaling s) =>
        [.. B0Stages.Select(st => st with
        {
            In = Channels.MakeDivisible(st.In * s.Width),
            Out = Channels.MakeDivisible(st.Out * s.Width),
            Layers = (int)Math.Ceiling(st.Layers * s.Depth),
        })];

    /// <summary>Stem, stages and the last 1×1 conv.</summary>
    public Sequential Features { get; }

    /// <summary>Dropout and the linear classifier.</summary>
    public Sequential Classifier { get; }

    /// <summary>Creates the variant scaled by <paramref name="scaling"/>.</summary>
    /// <param name="scaling">One of <see cref="Scalings"/> (or any other compound scaling).</param>
    /// <param name="numClasses">Output classes.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="dropout">Classifier dropout, or null for the variant's.</param>
    /// <param name="stochasticDepth">The final block's stochastic-depth rate scale p (block i of n drops with p·i/n).</param>
    /// <param name="generator">Draws the initial weights and the dropout / stochastic-depth masks.</param>
    public EfficientNet(Scaling scaling, int numClasses = 1000, int inChannels = 3, double? dropout = null, double stochasticDepth = 0.2,
        Generator? generator = null)
    {
        var stages = ScaledStages(scaling);
        var (eps, momentum) = (scaling.BnEps, scaling.BnMomentum);
        var features = new Sequential(ConvNormActivation.Create(inChannels, stages[0].In, 3, 2, activation: Activation.SiLU, bnEps: eps, bnMomentum: momentum, generator: generator));
        int total = stages.Sum(st => st.Layers), id = 0;
        foreach (var st in stages)
        {
            var stage = new Sequential(Array.Empty<Module>());
            for (int i = 0; i < st.Layers; i++, id++)
            {
                int input = i == 0 ? st.In : st.Out;
                stage.Append(new InvertedResidual(input, Channels.MakeDivisible(input * (double)st.Expand), st.Out, st.Kernel, i == 0 ? st.Stride : 1,
                    Activation.SiLU, Math.Max(1, input / 4), Activation.SiLU, Activation.Sigmoid, eps, momentum,
                    stochasticDepth: stochasticDepth * id / total, generator: generator));
            }
            features.Append(stage);
        }
        int lastIn = stages[^1].Out, lastOut = 4 * lastIn;
        features.Append(ConvNormActivation.Create(lastIn, lastOut, 1, activation: Activation.SiLU, bnEps: eps, bnMomentum: momentum, generator: generator));
        Features = RegisterModule("features", features);
        RegisterModule("avgpool", new AdaptiveAvgPool2d(1, 1));
        Classifier = RegisterModule("classifier", new Sequential(new Dropout(dropout ?? scaling.Dropout, generator), new Linear(lastOut, numClasses, generator: generator)));
        // torchvision: convolutions He-normal (fan-out), BatchNorm 1/0, linear layers U(−1/√out, 1/√out) with zero bias.
        ModelInit.KaimingFanOut(this, generator, linearStd: null);
        foreach (var (_, m) in NamedModules())
        {
            if (m is not Linear l) continue;
            double range = 1 / Math.Sqrt(l.Weight.Size(0));
            Init.Uniform(l.Weight, -range, range, generator);
            if (l.Bias is { } b) Init.Zeros(b);
        }
    }

    /// <summary>The registered variants b0–b7.</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
        Scalings.Select((s, b) => new ModelInfo($"efficientnet_b{b}", ModelFamily.EfficientNet, s.Resolution, 1,
            FormattableString.Invariant($"Tan & Le 2019, EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks (B{b}: width {s.Width}, depth {s.Depth})"),
            o => new EfficientNet(s, o.NumClasses, o.InChannels, o.Dropout, o.StochasticDepth ?? 0.2, o.Generator)));

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Classifier.Call(Functional.AdaptiveAvgPool2d(Features.Call(input), 1, 1).Flatten(1));
}
