namespace Engine.Models;

/// <summary>
/// What a model needs to be built. <see cref="NumClasses"/> and <see cref="InChannels"/> size the head and the stem
/// (torchvision's models use 1000 and 3; Fashion-MNIST training uses 10 and 1). <see cref="Dropout"/> and
/// <see cref="StochasticDepth"/> override the family's default rates when set; <see cref="AuxLogits"/> builds the
/// auxiliary heads of GoogLeNet / Inception v3 (their parameters exist only when it is true, as in torchvision).
/// </summary>
public sealed record ModelOptions(int NumClasses = 10, int InChannels = 1, Generator? Generator = null)
{
    /// <summary>Build the auxiliary classifier heads (GoogLeNet, Inception v3). Default true, as torchvision's training setup.</summary>
    public bool AuxLogits { get; init; } = true;

    /// <summary>Dropout rate before the classifier, or null for the family's default.</summary>
    public double? Dropout { get; init; }

    /// <summary>Final stochastic-depth rate (EfficientNet), or null for the family's default (0.2).</summary>
    public double? StochasticDepth { get; init; }

    /// <summary>Zero-initialise the last BatchNorm of every residual branch (Goyal et al. 2017), as torchvision's <c>zero_init_residual</c>.</summary>
    public bool ZeroInitResidual { get; init; }
}

/// <summary>One registered model variant: its builder and the facts <c>engine models</c> shows.</summary>
/// <param name="Name">Registry name (torchvision's builder name where one exists).</param>
/// <param name="Family">The family it belongs to.</param>
/// <param name="DefaultSize">The square input size (H = W) it was designed for (224 for ImageNet models, 112 for the video models).</param>
/// <param name="MinSize">The smallest square input it accepts (torchvision's <c>min_size</c>).</param>
/// <param name="Paper">The paper it comes from.</param>
/// <param name="Create">Builds the model.</param>
/// <param name="DefaultChannels">Input channels of the published model.</param>
/// <param name="DefaultClasses">Classes of the published model (1000 for ImageNet models).</param>
public sealed record ModelInfo(string Name, ModelFamily Family, int DefaultSize, int MinSize, string Paper,
    Func<ModelOptions, Nn.Module> Create, int DefaultChannels = 3, int DefaultClasses = 1000)
{
    /// <summary>
    /// The smallest square input of a training-mode forward with the auxiliary heads, where that exceeds
    /// <see cref="MinSize"/> (Inception v3's head needs a 17×17 map, so 299), else 0.
    /// </summary>
    public int AuxMinSize { get; init; }

    /// <summary>
    /// Frames of the published input clip for a video model, whose inputs are [N, C, T, H, W] (torchvision's video
    /// models: 16), or 0 for an image model, whose inputs are [N, C, H, W].
    /// </summary>
    public int Frames { get; init; }

    /// <summary>Whether inputs are clips [N, C, T, H, W] rather than images [N, C, H, W].</summary>
    public bool IsVideo => Frames > 0;

    /// <summary>
    /// torchvision's builder, as a path under <c>torchvision.models</c> ("resnet18", "video.r3d_18"); also the key of
    /// the torchvision facts (state-dict keys, parameter counts) in <c>shared/ref</c>. Defaults to <see cref="Name"/>.
    /// </summary>
    public string TorchvisionBuilder { get => field ?? Name; init; }

    /// <summary>The published per-sample input shape: [C, H, W], or [C, T, H, W] for a video model.</summary>
    public long[] DefaultInputShape => InputShape(DefaultSize);

    /// <summary>
    /// The per-sample input shape at side <paramref name="size"/>: [C, H, W], or [C, T, H, W] for a video model with
    /// <paramref name="frames"/> frames (default <see cref="Frames"/>; an image model ignores it).
    /// </summary>
    public long[] InputShape(int size, int? frames = null)
    {
        int t = frames ?? Frames;
        if (size < 1 || IsVideo && t < 1)
            throw new ArgumentValueException("model", $"{Name}: input side ({size}) and clip length ({t}) must be positive");
        return IsVideo ? [DefaultChannels, t, size, size] : [DefaultChannels, size, size];
    }

    /// <summary>Builds the published model: its channels and classes.</summary>
    public Nn.Module CreatePublished(Generator? generator = null) => Create(new ModelOptions(DefaultClasses, DefaultChannels, generator));
}

/// <summary>The model families, in roughly historical order.</summary>
public enum ModelFamily
{
    /// <summary>LeNet-5 (LeCun et al. 1998).</summary>
    LeNet,
    /// <summary>AlexNet (Krizhevsky et al. 2012).</summary>
    AlexNet,
    /// <summary>VGG (Simonyan &amp; Zisserman 2014).</summary>
    Vgg,
    /// <summary>GoogLeNet / Inception (Szegedy et al. 2014, 2015).</summary>
    Inception,
    /// <summary>ResNet, ResNeXt, Wide ResNet (He et al. 2015; Xie et al. 2016; Zagoruyko &amp; Komodakis 2016).</summary>
    ResNet,
    /// <summary>Squeeze-and-excitation networks (Hu et al. 2017).</summary>
    SENet,
    /// <summary>DenseNet (Huang et al. 2016).</summary>
    DenseNet,
    /// <summary>MobileNet v1–v3 (Howard et al. 2017, Sandler et al. 2018, Howard et al. 2019).</summary>
    MobileNet,
    /// <summary>EfficientNet (Tan &amp; Le 2019).</summary>
    EfficientNet,
    /// <summary>SqueezeNet (Iandola et al. 2016).</summary>
    SqueezeNet,
    /// <summary>ShuffleNet v2 (Ma et al. 2018).</summary>
    ShuffleNet,
    /// <summary>Video classifiers, inputs [N, C, T, H, W]: the video ResNets R3D, MC3, R(2+1)D (Tran et al. 2018), and the small 3-D CNN and single-frame baseline of the Moving Fashion-MNIST experiment.</summary>
    Video,
}

/// <summary>
/// Every model variant by name (case-insensitive), so the CLI and configs can ask for "resnet50". Each family
/// folder contributes its variants from one table (its <c>Variants()</c>); this class only gathers them.
/// </summary>
public static class ModelRegistry
{
    private static readonly Dictionary<string, ModelInfo> s_models = Build();

    private static Dictionary<string, ModelInfo> Build()
    {
        var all = new Dictionary<string, ModelInfo>(StringComparer.OrdinalIgnoreCase);
        IEnumerable<ModelInfo>[] families =
        [
            LeNet5.Variants(),
            DenseNet.Variants(),
            ShuffleNetV2.Variants(),
            AlexNet.Variants(),
            Vgg.Variants(),
            SqueezeNet.Variants(),
            ResNet.Variants(),
            SENet.Variants(),
            InceptionNet.Variants(),
            MobileNet.Variants(),
            EfficientNet.Variants(),
            TinyVideoNet.Variants(),
            VideoResNet.Variants(),
        ];
        foreach (var family in families)
            foreach (var m in family)
                if (!all.TryAdd(m.Name, m)) throw new InvalidOperationException($"model '{m.Name}' is registered twice");
        return all;
    }

    /// <summary>Registered names, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. s_models.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Every registered variant, in family order, then by name.</summary>
    public static IReadOnlyList<ModelInfo> All => [.. s_models.Values.OrderBy(m => m.Family).ThenBy(m => m.Name, StringComparer.Ordinal)];

    /// <summary>The facts of model <paramref name="name"/>.</summary>
    public static ModelInfo Info(string name) => Lookup(name);

    /// <summary>A one-line description of model <paramref name="name"/>.</summary>
    public static string Describe(string name) => Lookup(name).Paper;

    /// <summary>The per-sample input shape the model expects by default: (C, H, W), or (C, T, H, W) for a video model.</summary>
    public static long[] InputShape(string name) => Lookup(name).DefaultInputShape;

    /// <summary>Builds model <paramref name="name"/>.</summary>
    public static Nn.Module Create(string name, ModelOptions? options = null) => Lookup(name).Create(options ?? new ModelOptions());

    /// <summary>Adds (or replaces) a model variant.</summary>
    public static void Register(ModelInfo info) => s_models[info.Name] = info;

    private static ModelInfo Lookup(string name) =>
        s_models.TryGetValue(name, out var m) ? m
            : throw new ArgumentValueException("model", $"unknown model '{name}'; known models: {string.Join(", ", Names)}");
}
