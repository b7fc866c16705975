namespace Engine.Nn;

/// <summary>The distance a <see cref="KNearestNeighbors"/> classifier ranks neighbours by.</summary>
public enum DistanceMetric
{
    /// <summary>Sum of absolute differences (Manhattan).</summary>
    L1,
    /// <summary>Euclidean distance (ranked by its square, ‖q‖² + ‖x‖² − 2·q·x, one matrix product).</summary>
    L2,
    /// <summary>1 − cosine similarity (a matrix product of the row-normalised features).</summary>
    Cosine,
}
