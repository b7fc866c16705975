using StbImageSharp;

namespace Engine.Nn.Data;

/// <summary>
/// Reading image files for the folder datasets (<see cref="ImageFolder"/>, <see cref="ClipFolder"/>): PNG, JPEG and
/// BMP through StbImageSharp (a managed port of stb_image), with every failure a <see cref="DataException"/> that
/// names the operation and the file.
/// </summary>
internal static class ImageFiles
{
    /// <summary>The file extensions read (lower case, with the dot).</summary>
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp"];

    /// <summary>Whether <paramref name="path"/> has one of the <see cref="Extensions"/> (any case).</summary>
    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The size in the file's header; a <see cref="DataException"/> when the header is not a readable image.</summary>
    public static (int Width, int Height) ReadHeader(string op, string path)
    {
        try
        {
            using var s = File.OpenRead(path);
            var info = ImageInfo.FromStream(s);
            if (info is null) throw new DataException(op, path, "not a PNG, JPEG or BMP image (the header is not recognised)");
            if (info.Value.Width <= 0 || info.Value.Height <= 0)
                throw new DataException(op, path, $"invalid image size {info.Value.Width}x{info.Value.Height}");
            return (info.Value.Width, info.Value.Height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(op, path, $"cannot read: {e.Message}");
        }
        catch (Exception e) when (e is not DataException and not OutOfMemoryException)
        {
            throw new DataException(op, path, $"not a decodable image: {e.Message}");
        }
    }

    /// <summary>Decodes the file to interleaved 8-bit pixels [H, W, C] with <paramref name="channels"/> (1 grey, 3 RGB) channels.</summary>
    public static ImageResult Decode(string op, string path, int channels)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(op, path, $"cannot read: {e.Message}");
        }
        ImageResult? image;
        try { image = ImageResult.FromMemory(bytes, channels == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DataException(op, path, $"the image does not decode: {e.Message}");
        }
        if (image is null || image.Data is null || image.Width <= 0 || image.Height <= 0
            || image.Data.Length < (long)image.Width * image.Height * channels)
            throw new DataException(op, path, "the image does not decode");
        return image;
    }
}
