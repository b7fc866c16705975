using StbImageWriteSharp;

namespace Engine.Nn.Data;

/// <summary>Writes pictures of images to PNG (encoded by StbImageWriteSharp), e.g. to look at augmentations.</summary>
public static class ImageGrid
{
    /// <summary>
    /// Lays <paramref name="images"/> (float [C, H, W] with C = 1 or 3, all the same C; values clamped to [0, 1])
    /// out in rows of <paramref name="columns"/>, <paramref name="padding"/> pixels apart on a background of
    /// <paramref name="background"/>, and writes the picture as PNG.
    /// </summary>
    public static void WritePng(string path, IReadOnlyList<Tensor> images, int columns, int padding = 2, float background = 1)
    {
        var buffers = new ImageBuffer[images.Count];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = new ImageBuffer();
            buffers[i].CopyFrom(images[i]);
        }
        WritePng(path, buffers, columns, padding, background);
    }

    /// <summary>As <see cref="WritePng(string, IReadOnlyList{Tensor}, int, int, float)"/>, from image buffers.</summary>
    public static void WritePng(string path, IReadOnlyList<ImageBuffer> images, int columns, int padding = 2, float background = 1)
    {
        const string op = "image_grid";
        if (images.Count == 0) throw new ArgumentValueException(op, "no images");
        if (columns < 1 || padding < 0) throw new ArgumentValueException(op, $"need columns >= 1 and padding >= 0, got {columns} and {padding}");
        int c = images[0].Channels, cellH = 0, cellW = 0;
        foreach (var im in images)
        {
            if (im.Channels != c || c is not (1 or 3))
                throw new ShapeException(op, $"images must all have 1 or all have 3 channels, got {c} and {im.Channels}");
            cellH = Math.Max(cellH, im.Height);
            cellW = Math.Max(cellW, im.Width);
        }
        int cols = Math.Min(columns, images.Count), rows = (images.Count + cols - 1) / cols;
        int width = cols * cellW + (cols + 1) * padding, height = rows * cellH + (rows + 1) * padding;
        var pixels = new byte[width * height * c];
        pixels.AsSpan().Fill(ToByte(background));
        for (int i = 0; i < images.Count; i++)
        {
            var im = images[i];
            int x0 = padding + (i % cols) * (cellW + padding), y0 = padding + (i / cols) * (cellH + padding);
            var px = im.Pixels;
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < im.Height; y++)
                    for (int x = 0; x < im.Width; x++)
                        pixels[((y0 + y) * width + x0 + x) * c + ch] = ToByte(px[(ch * im.Height + y) * im.Width + x]);
        }
        using var file = File.Create(path);
        new ImageWriter().WritePng(pixels, width, height, c == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue, file);
    }

    /// <summary>
    /// A picture of augmentations: one row per sample (<paramref name="indices"/>, default the first
    /// <paramref name="samples"/>), the original first and then <paramref name="variants"/> augmented versions,
    /// each drawn with the generator the <see cref="DataLoader"/> would use for that sample in epochs 0, 1, 2, …
    /// with <paramref name="seed"/>. Leave <see cref="Normalize"/> out of <paramref name="transform"/> (values are
    /// clamped to [0, 1]).
    /// </summary>
    public static void WriteAugmentations(string path, IDataset dataset, Transform transform, int samples = 8, int variants = 8,
        ulong seed = 0, IReadOnlyList<int>? indices = null, int padding = 2)
    {
        var idx = indices ?? [.. Enumerable.Range(0, Math.Min(samples, dataset.Count))];
        var cells = new List<ImageBuffer>();
        var generator = new Generator(seed);
        foreach (int i in idx)
        {
            var original = new ImageBuffer();
            dataset.ReadInto(i, original);
            cells.Add(original);
            for (int v = 0; v < variants; v++)
            {
                var b = new ImageBuffer();
                dataset.ReadInto(i, b);
                generator.ManualSeed(DataLoader.SampleSeed(seed, v, i));
                transform.Apply(b, generator);
                cells.Add(b);
            }
        }
        WritePng(path, cells, variants + 1, padding);
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
}
