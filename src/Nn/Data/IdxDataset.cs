namespace Engine.Nn.Data;

/// <summary>
/// An image dataset read from a pair of IDX files (MNIST layout): 8-bit grey images [N, rows, cols] and 8-bit
/// labels [N]. Images come out as float32 [1, rows, cols] in [0, 1] (value / 255). Everything is read and
/// checked at load, so a bad file raises <see cref="DataException"/> and no dataset.
/// </summary>
public class IdxDataset : IDataset
{
    private readonly byte[] _pixels;
    private readonly byte[] _labels;

    /// <summary>Where the images came from (a path or a resource name).</summary>
    public string ImagesFile { get; }

    /// <summary>Where the labels came from (a path or a resource name).</summary>
    public string LabelsFile { get; }

    /// <summary>Image height.</summary>
    public int Height { get; }

    /// <summary>Image width.</summary>
    public int Width { get; }

    /// <summary>Number of classes: labels lie in [0, NumClasses).</summary>
    public int NumClasses { get; }

    /// <summary>Class names, indexed by label.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <inheritdoc/>
    public int Count { get; }

    /// <summary>Builds the dataset from already-read IDX contents, checking that they agree.</summary>
    protected IdxDataset((byte[] Pixels, int Count, int Rows, int Cols) images, byte[] labels, string imagesFile, string labelsFile,
        IReadOnlyList<string>? classes)
    {
        const string op = "idx_dataset";
        if (labels.Length != images.Count)
            throw new DataException(op, labelsFile, $"holds {labels.Length} labels but {imagesFile} holds {images.Count} images");
        int max = -1;
        for (int i = 0; i < labels.Length; i++)
        {
            if (classes is not null && labels[i] >= classes.Count)
                throw new DataException(op, labelsFile, $"label {labels[i]} at index {i} is out of range for {classes.Count} classes");
            max = Math.Max(max, labels[i]);
        }
        (_pixels, _labels, ImagesFile, LabelsFile) = (images.Pixels, labels, imagesFile, labelsFile);
        (Count, Height, Width) = (images.Count, images.Rows, images.Cols);
        Classes = classes ?? [.. Enumerable.Range(0, max + 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        NumClasses = Classes.Count;
    }

    /// <summary>
    /// Loads an images file and a labels file (each raw or gzipped). <paramref name="classes"/>, when given,
    /// names the classes and bounds the labels (a label outside it is an error); otherwise the classes are
    /// "0" … "max label".
    /// </summary>
    public static IdxDataset Load(string imagesPath, string labelsPath, IReadOnlyList<string>? classes = null) =>
        new(Idx.ReadImages(imagesPath), Idx.ReadLabels(labelsPath), imagesPath, labelsPath, classes);

    /// <summary>The raw 8-bit pixels of image <paramref name="index"/>, [rows, cols].</summary>
    public ReadOnlySpan<byte> RawImage(int index)
    {
        Check(index);
        int n = Height * Width;
        return _pixels.AsSpan(index * n, n);
    }

    private void Check(int index)
    {
        if ((uint)index >= (uint)Count) throw new IndexException("idx_dataset", $"index {index} is out of range for {Count} samples");
    }

    /// <inheritdoc/>
    public Sample Get(int index)
    {
        var buffer = new ImageBuffer();
        long label = ReadInto(index, buffer);
        return new Sample(buffer.ToTensor(), label);
    }

    /// <inheritdoc/>
    public long LabelOf(int index)
    {
        Check(index);
        return _labels[index];
    }

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image)
    {
        Check(index);
        int n = Height * Width;
        image.SetBytes(_pixels.AsMemory(index * n, n), 1, Height, Width);
        return _labels[index];
    }
}
