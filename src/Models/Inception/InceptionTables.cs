using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// The Inception architectures as tables, in torchvision's names and registration order, and their initialisation.
/// </summary>
/// <remarks>
/// GoogLeNet follows torchvision, not the paper, in two places: BatchNorm after every convolution (eps 0.001), and a
/// 3×3 instead of 5×5 convolution in each block's <c>branch3</c> (pytorch/vision#906; kept so ImageNet weights load).
/// </remarks>
public static class InceptionTables
{
    /// <summary>
    /// GoogLeNet's Inception blocks (paper Table 1): the max pool (kernel) before the block, or 0, then
    /// #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj.
    /// </summary>
    public static readonly (int PoolBefore, string Name, int Ch1x1, int Ch3x3Red, int Ch3x3, int Ch5x5Red, int Ch5x5, int PoolProj)[] GoogLeNetBlocks =
    [
        (0, "inception3a", 64, 96, 128, 16, 32, 32),
        (0, "inception3b", 128, 128, 192, 32, 96, 64),
        (3, "inception4a", 192, 96, 208, 16, 48, 64),
        (0, "inception4b", 160, 112, 224, 24, 64, 64),
        (0, "inception4c", 128, 128, 256, 24, 64, 64),
        (0, "inception4d", 112, 144, 288, 32, 64, 64),
        (0, "inception4e", 256, 160, 320, 32, 128, 128),
        (2, "inception5a", 256, 160, 320, 32, 128, 128),
        (0, "inception5b", 384, 192, 384, 48, 128, 128),
    ];

    /// <summary>The layers GoogLeNet's auxiliary heads tap, nearest the input first; each head's loss weighs 0.3.</summary>
    public static readonly (string Name, string Tap)[] GoogLeNetAuxHeads = [("aux1", "inception4a"), ("aux2", "inception4d")];

    /// <summary>GoogLeNet's loss weight per auxiliary head.</summary>
    public const double GoogLeNetAuxWeight = 0.3;

    /// <summary>Inception v3's auxiliary head's loss weight.</summary>
    public const double InceptionV3AuxWeight = 0.4;

    private static ConvStep C(string? name, int outChannels, int kernel, int stride = 1, int padding = 0) => new(name, outChannels, kernel, stride, padding);
    private static ConvStep C1x7(string name, int outChannels) => new(name, outChannels, (1, 7), 1, (0, 3));
    private static ConvStep C7x1(string name, int outChannels) => new(name, outChannels, (7, 1), 1, (3, 0));
    private static ConvStep C1x3(string name, int outChannels) => new(name, outChannels, (1, 3), 1, (0, 1));
    private static ConvStep C3x1(string name, int outChannels) => new(name, outChannels, (3, 1), 1, (1, 0));
    private static InceptionBranch B(params InceptionStep[] steps) => new(null, steps);
    private static readonly PoolStep AvgPool3 = new(Max: false, 3, 1, 1);
    private static readonly PoolStep MaxPool3s2 = new(Max: true, 3, 2);

    /// <summary>A GoogLeNet block: branch1 1×1; branch2 1×1 → 3×3; branch3 1×1 → 3×3 (torchvision; 5×5 in the paper); branch4 max pool 3/1 → 1×1.</summary>
    public static InceptionBranch[] GoogLeNetBlock(int ch1x1, int ch3x3Red, int ch3x3, int ch5x5Red, int ch5x5, int poolProj) =>
    [
        new("branch1", C(null, ch1x1, 1)),
        new("branch2", C(null, ch3x3Red, 1), C(null, ch3x3, 3, padding: 1)),
        new("branch3", C(null, ch5x5Red, 1), C(null, ch5x5, 3, padding: 1)),
        new("branch4", new PoolStep(Max: true, 3, 1, 1, CeilMode: true), C(null, poolProj, 1)),
    ];

    /// <summary>Inception v3's 35×35 block (InceptionA, the paper's Figure 5).</summary>
    public static InceptionBranch[] InceptionA(int poolFeatures) =>
    [
        B(C("branch1x1", 64, 1)),
        B(C("branch5x5_1", 48, 1), C("branch5x5_2", 64, 5, padding: 2)),
        B(C("branch3x3dbl_1", 64, 1), C("branch3x3dbl_2", 96, 3, padding: 1), C("branch3x3dbl_3", 96, 3, padding: 1)),
        B(AvgPool3, C("branch_pool", poolFeatures, 1)),
    ];

    /// <summary>Inception v3's 35→17 grid reduction (InceptionB).</summary>
    public static InceptionBranch[] InceptionB() =>
    [
        B(C("branch3x3", 384, 3, stride: 2)),
        B(C("branch3x3dbl_1", 64, 1), C("branch3x3dbl_2", 96, 3, padding: 1), C("branch3x3dbl_3", 96, 3, stride: 2)),
        B(MaxPool3s2),
    ];

    /// <summary>Inception v3's 17×17 block with factorised 7×7 convolutions (InceptionC, the paper's Figure 6).</summary>
    public static InceptionBranch[] InceptionC(int c7) =>
    [
        B(C("branch1x1", 192, 1)),
        B(C("branch7x7_1", c7, 1), C1x7("branch7x7_2", c7), C7x1("branch7x7_3", 192)),
        B(C("branch7x7dbl_1", c7, 1), C7x1("branch7x7dbl_2", c7), C1x7("branch7x7dbl_3", c7), C7x1("branch7x7dbl_4", c7), C1x7("branch7x7dbl_5", 192)),
        B(AvgPool3, C("branch_pool", 192, 1)),
    ];

    /// <summary>Inception v3's 17→8 grid reduction (InceptionD).</summary>
    public static InceptionBranch[] InceptionD() =>
    [
        B(C("branch3x3_1", 192, 1), C("branch3x3_2", 320, 3, stride: 2)),
        B(C("branch7x7x3_1", 192, 1), C1x7("branch7x7x3_2", 192), C7x1("branch7x7x3_3", 192), C("branch7x7x3_4", 192, 3, stride: 2)),
        B(MaxPool3s2),
    ];

    /// <summary>Inception v3's 8×8 block with expanded 1×3/3×1 outputs (InceptionE, the paper's Figure 7).</summary>
    public static InceptionBranch[] InceptionE() =>
    [
        B(C("branch1x1", 320, 1)),
        B(C("branch3x3_1", 384, 1), new ForkStep(C1x3("branch3x3_2a", 384), C3x1("branch3x3_2b", 384))),
        B(C("branch3x3dbl_1", 448, 1), C("branch3x3dbl_2", 384, 3, padding: 1), new ForkStep(C1x3("branch3x3dbl_3a", 384), C3x1("branch3x3dbl_3b", 384))),
        B(AvgPool3, C("branch_pool", 192, 1)),
    ];

    /// <summary>
    /// Inception v3's body after the stem: block name and rows; the auxiliary head sits after Mixed_6e
    /// (torchvision registers it there, before Mixed_7a).
    /// </summary>
    public static (string Name, InceptionBranch[] Block)[] InceptionV3Blocks() =>
    [
        ("Mixed_5b", InceptionA(32)),
        ("Mixed_5c", InceptionA(64)),
        ("Mixed_5d", InceptionA(64)),
        ("Mixed_6a", InceptionB()),
        ("Mixed_6b", InceptionC(128)),
        ("Mixed_6c", InceptionC(160)),
        ("Mixed_6d", InceptionC(160)),
        ("Mixed_6e", InceptionC(192)),
        ("Mixed_7a", InceptionD()),
        ("Mixed_7b", InceptionE()),
        ("Mixed_7c", InceptionE()),
    ];

    /// <summary>GoogLeNet (torchvision's <c>googlenet</c>: main dropout 0.2, auxiliary dropout 0.7).</summary>
    public static Module GoogLeNet(ModelOptions o)
    {
        var g = o.Generator;
        var layers = new List<InceptionLayer>
        {
            new("conv1", new BasicConv2d(o.InChannels, 64, 7, stride: 2, padding: 3, g)),
            new("maxpool1", new MaxPool2d(3, 2, ceilMode: true)),
            new("conv2", new BasicConv2d(64, 64, 1, generator: g)),
            new("conv3", new BasicConv2d(64, 192, 3, padding: 1, generator: g)),
            new("maxpool2", new MaxPool2d(3, 2, ceilMode: true)),
        };
        long c = 192;
        var channelsAt = new Dictionary<string, long>();
        int pools = 2;
        foreach (var (poolBefore, name, ch1, ch3r, ch3, ch5r, ch5, proj) in GoogLeNetBlocks)
        {
            if (poolBefore > 0) layers.Add(new($"maxpool{++pools}", new MaxPool2d(poolBefore, 2, ceilMode: true)));
            var block = new InceptionBlock(c, GoogLeNetBlock(ch1, ch3r, ch3, ch5r, ch5, proj), g);
            layers.Add(new(name, block));
            channelsAt[name] = c = block.OutChannels;
        }
        if (o.AuxLogits)
            foreach (var (name, tap) in GoogLeNetAuxHeads)
                layers.Add(new(name, new GoogLeNetAux(channelsAt[tap], o.NumClasses, 0.7, g), tap, GoogLeNetAuxWeight));
        var net = new InceptionNet(layers, c, o.NumClasses, o.Dropout ?? 0.2, g);
        TruncNormalInit(net, _ => 0.01, g);
        return net;
    }

    /// <summary>Inception v3 (torchvision's <c>inception_v3</c> without pretrained weights: no input transform, dropout 0.5).</summary>
    public static Module InceptionV3(ModelOptions o)
    {
        var g = o.Generator;
        var layers = new List<InceptionLayer>
        {
            new("Conv2d_1a_3x3", new BasicConv2d(o.InChannels, 32, 3, stride: 2, generator: g)),
            new("Conv2d_2a_3x3", new BasicConv2d(32, 32, 3, generator: g)),
            new("Conv2d_2b_3x3", new BasicConv2d(32, 64, 3, padding: 1, generator: g)),
            new("maxpool1", new MaxPool2d(3, 2)),
            new("Conv2d_3b_1x1", new BasicConv2d(64, 80, 1, generator: g)),
            new("Conv2d_4a_3x3", new BasicConv2d(80, 192, 3, generator: g)),
            new("maxpool2", new MaxPool2d(3, 2)),
        };
        long c = 192;
        foreach (var (name, rows) in InceptionV3Blocks())
        {
            var block = new InceptionBlock(c, rows, g);
            layers.Add(new(name, block));
            c = block.OutChannels;
            if (name == "Mixed_6e" && o.AuxLogits)
                layers.Add(new("AuxLogits", new InceptionAux(c, o.NumClasses, g), name, InceptionV3AuxWeight));
        }
        var net = new InceptionNet(layers, c, o.NumClasses, o.Dropout ?? 0.5, g);
        // torchvision's rule: std 0.1 for every conv and linear weight unless the nn.Conv2d/nn.Linear itself carries a
        // `stddev`; only AuxLogits.fc does (0.001): the 0.01 it sets on AuxLogits.conv1 is on the BasicConv2d, so unused.
        TruncNormalInit(net, name => name == "AuxLogits.fc" ? 0.001 : 0.1, g);
        return net;
    }

    /// <summary>
    /// The families' init: conv and linear weights N(0, std(name)²) truncated to [−2, 2] (absolute bounds, as
    /// torchvision passes them), BatchNorm weight 1 and bias 0; linear biases keep PyTorch's default.
    /// </summary>
    private static void TruncNormalInit(Module model, Func<string, double> std, Generator? g)
    {
        foreach (var (name, m) in model.NamedModules())
        {
            switch (m)
            {
                case Conv2d conv: Init.TruncNormal(conv.Weight, 0, std(name), -2, 2, g); break;
                case Linear linear: Init.TruncNormal(linear.Weight, 0, std(name), -2, 2, g); break;
                case BatchNorm2d bn:
                    if (bn.Weight is { } w) Init.Ones(w);
                    if (bn.Bias is { } b) Init.Zeros(b);
                    break;
            }
        }
    }
}
