namespace Engine.Models;

/// <summary>Which of the two <see cref="TinyVideoNet"/>s: the 3-D CNN or its single-frame 2-D twin.</summary>
public enum TinyVideoNetKind
{
    /// <summary><c>c3d_tiny</c>: 3×3×3 convolutions over the whole clip (they compare neighbouring frames).</summary>
    Conv3d,
    /// <summary><c>frame2d_tiny</c>: the same layers in 2-D on the middle frame T / 2 only.</summary>
    MiddleFrame2d,
}
