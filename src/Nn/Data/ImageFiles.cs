namespace Engine.Nn.Data;

/// <summary>
/// Reading image files for the folder datasets (<see cref="ImageFolder"/>, <see cref="ClipFolder"/>): PNG, JPEG and
/// BMP, each file's structure checked and its size bounded by <see cref="ImageDecoding"/> before StbImageSharp decodes
/// it; every failure is a <see cref="DataException"/> naming the file.
/// </summary>
internal static class ImageFiles
{
    /// <summary>The file extensions read (lower case, with the dot).</summary>
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp"];

    /// <summary>Whether <paramref name="path"/> has one of the <see cref="Extensions"/> (any case).</summary>
    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The size in the file's header; a <see cref="DataException"/> when the header is not a readable image.</summary>
    public static (int Width, int Height) ReadHeader(string path)
    {
        var h = ImageDecoding.ReadHeader(path);
        return (h.Width, h.Height);
    }

    /// <summary>Decodes the file to interleaved 8-bit pixels [H, W, C] with <paramref name="channels"/> (1 grey, 3 RGB) channels.</summary>
    public static (byte[] Data, int Height, int Width) Decode(string op, string path, int channels)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(op, path, $"cannot read: {e.Message}");
        }
        var (pixels, width, height) = ImageDecoding.Decode(bytes, channels, path);
        return (pixels, height, width);
    }
}
