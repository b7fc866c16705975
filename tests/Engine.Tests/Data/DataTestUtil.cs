using System.IO.Compression;
using Engine.Nn.Data;

namespace Engine.Tests.Data;

/// <summary>Helpers for the data tests: temporary folders, hand-written IDX files, small synthetic datasets.</summary>
internal static class DataTestUtil
{
    /// <summary>A fresh temporary folder, deleted by the returned handle.</summary>
    public static TempDir TempDir() => new();

    /// <summary>Writes an IDX file by hand (big-endian header via <see cref="BinaryWriter"/>), gzipped when <paramref name="gzip"/>.</summary>
    public static void WriteIdx(string path, int magic, int[] dims, byte[] data, bool gzip = false, int? dropBytes = null)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.ASCII, leaveOpen: true))
        {
            w.Write(BigEndian(magic));
            foreach (int d in dims) w.Write(BigEndian(d));
            w.Write(data);
        }
        var bytes = ms.ToArray();
        if (dropBytes is int k) bytes = bytes[..^k];
        if (!gzip) { File.WriteAllBytes(path, bytes); return; }
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(bytes);
    }

    private static int BigEndian(int v) => BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v) : v;

    /// <summary>Images [n, h, w] whose pixel (i, y, x) is (i·7 + y·3 + x) mod 256, and labels i mod classes.</summary>
    public static (byte[] Pixels, byte[] Labels) Pattern(int n, int h, int w, int classes)
    {
        var px = new byte[n * h * w];
        for (int i = 0; i < n; i++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) px[(i * h + y) * w + x] = (byte)((i * 7 + y * 3 + x) % 256);
        var labels = new byte[n];
        for (int i = 0; i < n; i++) labels[i] = (byte)(i % classes);
        return (px, labels);
    }

    /// <summary>An in-memory dataset of <paramref name="n"/> images [c, h, w] whose every pixel of sample i is i (so a batch reveals its indices), labels i mod classes.</summary>
    public static TensorDataset Numbered(int n, int c = 1, int h = 4, int w = 4, int classes = 10)
    {
        var px = new float[n * c * h * w];
        for (int i = 0; i < n; i++) px.AsSpan(i * c * h * w, c * h * w).Fill(i);
        var labels = new long[n];
        for (int i = 0; i < n; i++) labels[i] = i % classes;
        using var images = Tensor.FromArray(px, n, c, h, w);
        using var l = Tensor.FromArray(labels);
        return new TensorDataset(images, l);
    }

    /// <summary>An in-memory dataset of random images in [0, 1].</summary>
    public static TensorDataset Random(int n, int c, int h, int w, int classes, Generator g)
    {
        using var images = Tensor.Rand([n, c, h, w], DType.Float32, g);
        using var labels = Tensor.RandInt(0, classes, [n], generator: g);
        return new TensorDataset(images, labels);
    }

    /// <summary>The location of the full Fashion-MNIST set, or null: $ENGINE_FASHION_MNIST, the Debian package, or /tmp/fashion-mnist-full.</summary>
    public static string? FullFashionMnist()
    {
        foreach (var p in new[] { Environment.GetEnvironmentVariable("ENGINE_FASHION_MNIST"), FashionMnist.InstalledPath, "/tmp/fashion-mnist-full" })
            if (p is not null && FashionMnist.IsComplete(p)) return p;
        return null;
    }

    /// <summary>The repository root (the folder holding Engine.sln).</summary>
    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Engine.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("Engine.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("engine-data-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
