namespace Engine.Nn.Data;

/// <summary>The image file formats <see cref="ImageFolder"/> reads.</summary>
public enum ImageFormat
{
    /// <summary>PNG (any bit depth and colour type, interlaced or not).</summary>
    Png,

    /// <summary>JPEG, baseline or progressive, 8-bit (JFIF or EXIF).</summary>
    Jpeg,

    /// <summary>Windows BMP, uncompressed or bit-field (1, 4, 8, 16, 24 or 32 bits per pixel).</summary>
    Bmp,
}
