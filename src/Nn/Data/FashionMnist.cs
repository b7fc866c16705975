namespace Engine.Nn.Data;

/// <summary>Where a <see cref="FashionMnist"/> dataset was read from.</summary>
public enum FashionMnistSource
{
    /// <summary>The folder passed to <see cref="FashionMnist.Load"/>.</summary>
    Path,
    /// <summary>The full set installed by Debian/Ubuntu's <c>dataset-fashion-mnist</c> package (<see cref="FashionMnist.InstalledPath"/>).</summary>
    Installed,
    /// <summary>The stratified subset embedded in Engine.Nn (600 training and 100 test images per class).</summary>
    EmbeddedSubset,
}

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf, Zalando Research, 2017; MIT licence): 28×28 grey images of
/// clothing in 10 classes, 60,000 for training and 10,000 for testing, in the IDX format. Without a path,
/// <see cref="Load"/> uses the full set when the <c>dataset-fashion-mnist</c> package is installed and
/// otherwise a stratified subset embedded in this assembly (6,000 training and 1,000 test images);
/// <see cref="Source"/> says which.
/// </summary>
public sealed class FashionMnist : IdxDataset
{
    /// <summary>Where Debian's and Ubuntu's <c>dataset-fashion-mnist</c> package installs the files.</summary>
    public const string InstalledPath = "/usr/share/datasets/fashion-mnist";

    /// <summary>Seed used to choose the embedded subset (see <see cref="WriteStratifiedSubset"/>).</summary>
    public const ulong SubsetSeed = 20170825;

    /// <summary>Training images per class in the embedded subset.</summary>
    public const int SubsetTrainPerClass = 600;

    /// <summary>Test images per class in the embedded subset.</summary>
    public const int SubsetTestPerClass = 100;

    /// <summary>The class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Shape, classes and pixel statistics (mean 0.2860, std 0.3530 over the 60,000 training images).</summary>
    public static DatasetInfo Info { get; } = new("Fashion-MNIST", 1, 28, 28, ClassNames, [0.2860f], [0.3530f]);

    /// <summary>Where the data came from.</summary>
    public FashionMnistSource Source { get; }

    /// <summary>True for the training split, false for the test split.</summary>
    public bool Train { get; }

    private FashionMnist((byte[], int, int, int) images, byte[] labels, string imagesFile, string labelsFile, FashionMnistSource source, bool train)
        : base(images, labels, imagesFile, labelsFile, ClassNames)
    {
        Source = source;
        Train = train;
        if (Height != 28 || Width != 28)
            throw new DataException("fashion_mnist", imagesFile, $"holds {Height}x{Width} images; Fashion-MNIST images are 28x28");
    }

    /// <summary>
    /// Loads the training (<paramref name="train"/>) or test split. With <paramref name="path"/>, from that folder
    /// (files <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-…</c>, each raw or ".gz");
    /// without, from <see cref="InstalledPath"/> when the files are there, else from the embedded subset.
    /// </summary>
    public static FashionMnist Load(string? path = null, bool train = true)
    {
        if (path is not null)
        {
            if (!Directory.Exists(path)) throw new DataException("fashion_mnist", path, "no such folder");
            return FromFolder(path, train, FashionMnistSource.Path);
        }
        if (IsInstalled()) return FromFolder(InstalledPath, train, FashionMnistSource.Installed);
        return Embedded(train);
    }

    /// <summary>True when the full set is installed under <see cref="InstalledPath"/>.</summary>
    public static bool IsInstalled() => IsComplete(InstalledPath);

    /// <summary>True when <paramref name="folder"/> holds the four Fashion-MNIST files (raw or gzipped).</summary>
    public static bool IsComplete(string folder)
    {
        if (!Directory.Exists(folder)) return false;
        var (a, b) = FileNames(true);
        var (c, d) = FileNames(false);
        return Find(folder, a) is not null && Find(folder, b) is not null && Find(folder, c) is not null && Find(folder, d) is not null;
    }

    /// <summary>The embedded stratified subset (600 training or 100 test images per class).</summary>
    public static FashionMnist Embedded(bool train = true)
    {
        var (images, labels) = FileNames(train);
        var asm = typeof(FashionMnist).Assembly;
        string imagesName = $"Engine.Nn.Data.FashionMnistSubset.{images}.gz", labelsName = $"Engine.Nn.Data.FashionMnistSubset.{labels}.gz";
        using var imagesStream = asm.GetManifestResourceStream(imagesName) ?? throw new DataException("fashion_mnist", imagesName, "embedded resource missing from Engine.Nn");
        using var labelsStream = asm.GetManifestResourceStream(labelsName) ?? throw new DataException("fashion_mnist", labelsName, "embedded resource missing from Engine.Nn");
        return new FashionMnist(Idx.ReadImages(imagesStream, imagesName), Idx.ReadLabels(labelsStream, labelsName), imagesName, labelsName,
            FashionMnistSource.EmbeddedSubset, train);
    }

    /// <summary>
    /// Writes a stratified subset of the full set in <paramref name="sourceFolder"/> to <paramref name="outputFolder"/>
    /// as four gzipped IDX files: <paramref name="trainPerClass"/> training and <paramref name="testPerClass"/> test
    /// images of every class, chosen by <see cref="Datasets.StratifiedIndices"/> with one generator seeded by
    /// <paramref name="seed"/> (training split first), kept in their original order. This is how the embedded subset
    /// was made (see Data/FashionMnistSubset/README.md); the same arguments give the same files.
    /// </summary>
    public static void WriteStratifiedSubset(string sourceFolder, string outputFolder, int trainPerClass = SubsetTrainPerClass,
        int testPerClass = SubsetTestPerClass, ulong seed = SubsetSeed)
    {
        Directory.CreateDirectory(outputFolder);
        var generator = new Generator(seed);
        foreach (var (train, perClass) in new[] { (true, trainPerClass), (false, testPerClass) })
        {
            var full = FromFolder(sourceFolder, train, FashionMnistSource.Path);
            var chosen = Datasets.StratifiedIndices(full, perClass, generator);
            int n = full.Height * full.Width;
            var pixels = new byte[chosen.Length * n];
            var labels = new byte[chosen.Length];
            for (int i = 0; i < chosen.Length; i++)
            {
                full.RawImage(chosen[i]).CopyTo(pixels.AsSpan(i * n, n));
                labels[i] = (byte)full.LabelOf(chosen[i]);
            }
            var (imagesName, labelsName) = FileNames(train);
            Idx.Write(System.IO.Path.Combine(outputFolder, imagesName + ".gz"), [chosen.Length, full.Height, full.Width], pixels);
            Idx.Write(System.IO.Path.Combine(outputFolder, labelsName + ".gz"), [chosen.Length], labels);
        }
    }

    private static (string Images, string Labels) FileNames(bool train)
    {
        string prefix = train ? "train" : "t10k";
        return ($"{prefix}-images-idx3-ubyte", $"{prefix}-labels-idx1-ubyte");
    }

    private static string? Find(string folder, string name)
    {
        foreach (var candidate in new[] { name + ".gz", name })
        {
            string p = System.IO.Path.Combine(folder, candidate);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    private static FashionMnist FromFolder(string folder, bool train, FashionMnistSource source)
    {
        var (images, labels) = FileNames(train);
        string imagesPath = Find(folder, images) ?? throw new DataException("fashion_mnist", System.IO.Path.Combine(folder, images + "[.gz]"), "file not found");
        string labelsPath = Find(folder, labels) ?? throw new DataException("fashion_mnist", System.IO.Path.Combine(folder, labels + "[.gz]"), "file not found");
        return new FashionMnist(Idx.ReadImages(imagesPath), Idx.ReadLabels(labelsPath), imagesPath, labelsPath, source, train);
    }
}
