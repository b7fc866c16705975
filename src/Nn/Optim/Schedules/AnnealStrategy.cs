namespace Engine.Nn;

/// <summary>How <see cref="OneCycleLR"/> moves between two values within a phase.</summary>
public enum AnnealStrategy
{
    /// <summary>Cosine: end + (start − end)·(1 + cos(π·pct))/2.</summary>
    Cos,
    /// <summary>Linear: start + (end − start)·pct.</summary>
    Linear,
}
