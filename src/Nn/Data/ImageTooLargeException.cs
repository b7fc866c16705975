namespace Engine.Nn.Data;

/// <summary>
/// An image whose header declares more pixels than <see cref="ImageDecoding.MaxImagePixels"/> (PIL's
/// DecompressionBombError): raised from the header, before any pixel memory is allocated.
/// </summary>
public sealed class ImageTooLargeException(string op, string fileName, long width, long height, long limit)
    : DataException(op, fileName, $"the image is {width} x {height} = {width * height} pixels, more than the limit of {limit} "
        + "(ImageDecoding.MaxImagePixels; a decompression bomb or a damaged header?)")
{
    /// <summary>Width the header declares.</summary>
    public long Width { get; } = width;

    /// <summary>Height the header declares.</summary>
    public long Height { get; } = height;

    /// <summary>The limit in force.</summary>
    public long Limit { get; } = limit;
}
