namespace Engine.Nn.Data;

/// <summary>What an image file's structure says, checked by <see cref="ImageDecoding.ReadHeader(string)"/> or <see cref="ImageDecoding.Validate"/>.</summary>
/// <param name="Format">The file format.</param>
/// <param name="Width">Width in pixels (at least 1).</param>
/// <param name="Height">Height in pixels (at least 1).</param>
/// <param name="Passes">
/// How many times the decoder goes over the whole image: the number of scans of a JPEG (1 for baseline, several for
/// progressive), else 1. With the pixel count it bounds the decoding work.
/// </param>
public readonly record struct ImageHeader(ImageFormat Format, int Width, int Height, int Passes)
{
    /// <summary>Width × height.</summary>
    public long Pixels => (long)Width * Height;
}
