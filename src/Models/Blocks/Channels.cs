namespace Engine.Models;

/// <summary>Channel-count arithmetic shared by the families.</summary>
public static class Channels
{
    /// <summary>
    /// The multiple of <paramref name="divisor"/> nearest <paramref name="value"/>, at least <paramref name="minValue"/>
    /// (default the divisor) and never more than 10% below <paramref name="value"/> (torchvision's <c>_make_divisible</c>,
    /// from the TensorFlow MobileNet code), so width multipliers give hardware-friendly channel counts.
    /// </summary>
    public static int MakeDivisible(double value, int divisor = 8, int? minValue = null)
    {
        int min = minValue ?? divisor;
        int v = Math.Max(min, (int)(value + divisor / 2.0) / divisor * divisor);
        if (v < 0.9 * value) v += divisor;
        return v;
    }
}
