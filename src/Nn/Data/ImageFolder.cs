namespace Engine.Nn.Data;

/// <summary>
/// A folder-per-class image dataset, like torchvision's <c>ImageFolder</c>: every subfolder of the root is a
/// class (labels by ordinal-sorted folder name), and every PNG, JPEG or BMP file below it (searched
/// recursively, sorted by path) is a sample. Images are decoded by <see cref="ImageDecoding"/> (structure checked
/// first, pixel count and decode time bounded) when read, so <see cref="DataLoader"/> workers decode in parallel, into float32 [C, H, W] in [0, 1] with
/// <see cref="Channels"/> channels (1 grey or 3 RGB); with <c>preload</c> they are decoded once and kept as 8-bit
/// planes (a quarter of the float size), which the crop and resize transforms read directly. Images may differ in size; add a
/// <see cref="Resize"/> or crop transform before batching them.
/// <para>
/// Construction reads every file's header and rejects the folder with a <see cref="DataException"/> naming the
/// first file that is not a PNG, JPEG or BMP, has a damaged header, or declares more than
/// <see cref="ImageDecoding.MaxImagePixels"/> pixels (<see cref="ImageTooLargeException"/>); with <c>preload</c> it
/// decodes everything up front so that no error can come later. A file that is damaged or truncated past its header
/// raises <see cref="DataException"/> naming it and the reason when read.
/// </para>
/// </summary>
public sealed class ImageFolder : IDataset
{
    private const string Op = "image_folder";
    private readonly (string Path, int Label)[] _files;
    private readonly (byte[] Planar, int Height, int Width)[]? _decoded;

    /// <summary>The root folder.</summary>
    public string Root { get; }

    /// <summary>Class names (the subfolder names, sorted), indexed by label.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Channels of the images produced: 1 (grey) or 3 (RGB).</summary>
    public int Channels { get; }

    /// <summary>The image files, sorted by class then path.</summary>
    public IReadOnlyList<string> Files => [.. _files.Select(f => f.Path)];

    /// <inheritdoc/>
    public int Count => _files.Length;

    /// <summary>
    /// Scans <paramref name="root"/>. <paramref name="channels"/> is 1 (grey) or 3 (RGB); with
    /// <paramref name="preload"/> every image is decoded now and kept in memory (8 bits per value).
    /// </summary>
    public ImageFolder(string root, int channels = 3, bool preload = false)
    {
        if (channels is not (1 or 3)) throw new ArgumentValueException(Op, $"channels must be 1 or 3, got {channels}");
        if (!Directory.Exists(root)) throw new DataException(Op, root, "no such folder");
        Root = root;
        Channels = channels;
        var classDirs = Directory.GetDirectories(root).Order(StringComparer.Ordinal).ToArray();
        if (classDirs.Length == 0) throw new DataException(Op, root, "has no class subfolders");
        Classes = [.. classDirs.Select(Path.GetFileName).Select(n => n!)];
        var files = new List<(string, int)>();
        for (int label = 0; label < classDirs.Length; label++)
        {
            var found = Directory.GetFiles(classDirs[label], "*", SearchOption.AllDirectories)
                .Where(ImageFiles.IsImage)
                .Order(StringComparer.Ordinal);
            foreach (var f in found)
            {
                CheckHeader(f);
                files.Add((f, label));
            }
        }
        if (files.Count == 0) throw new DataException(Op, root, $"no {string.Join("/", ImageFiles.Extensions)} files in its class subfolders");
        _files = [.. files];
        if (preload)
        {
            var decoded = new (byte[], int, int)[_files.Length];
            for (int i = 0; i < decoded.Length; i++)
            {
                var image = Decode(_files[i].Path);
                decoded[i] = (ImageOps.InterleavedToPlanarBytes(image.Data.AsSpan(0, Channels * image.Height * image.Width), Channels), image.Height, image.Width);
            }
            _decoded = decoded;
        }
    }

    private static void CheckHeader(string path) => ImageFiles.ReadHeader(path);

    private (byte[] Data, int Height, int Width) Decode(string path) => ImageFiles.Decode(Op, path, Channels);

    private (string Path, int Label) Entry(int index) => (uint)index < (uint)_files.Length
        ? _files[index]
        : throw new IndexException(Op, $"index {index} is out of range for {_files.Length} samples");

    /// <inheritdoc/>
    public Sample Get(int index)
    {
        var buffer = new ImageBuffer();
        long label = ReadInto(index, buffer);
        return new Sample(buffer.ToTensor(), label);
    }

    /// <inheritdoc/>
    public long LabelOf(int index) => Entry(index).Label;

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image)
    {
        var (path, label) = Entry(index);
        if (_decoded is not null)
        {
            var (planar, h, w) = _decoded[index];
            image.SetBytes(planar, Channels, h, w);
            return label;
        }
        var decoded = Decode(path);
        image.Resize(Channels, decoded.Height, decoded.Width);
        ImageOps.InterleavedToPlanar(decoded.Data.AsSpan(0, Channels * decoded.Height * decoded.Width), Channels, image.Pixels);
        return label;
    }
}
