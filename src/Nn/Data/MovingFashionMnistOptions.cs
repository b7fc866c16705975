namespace Engine.Nn.Data;

/// <summary>Which label a <see cref="MovingFashionMnist"/> clip carries.</summary>
public enum MovingFashionMnistLabel
{
    /// <summary>
    /// The direction the main garment moves in at the label frame (frame T / 2), one of 8 compass directions
    /// 45° apart (see <see cref="MovingFashionMnist.DirectionNames"/>). It needs two frames to see.
    /// </summary>
    Direction,
    /// <summary>The sense in which the main garment spins: 0 clockwise, 1 counter-clockwise (on screen). It needs two frames to see.</summary>
    Rotation,
    /// <summary>The Fashion-MNIST class of the main garment (a single frame shows it).</summary>
    Garment,
}

/// <summary>
/// The settings of a <see cref="MovingFashionMnist"/> set. Speeds are fractions of the clip side per frame, so a
/// smaller clip shows the same motion scaled down; spins are degrees per frame.
/// </summary>
public sealed record MovingFashionMnistOptions
{
    /// <summary>Frames per clip (T).</summary>
    public int Frames { get; init; } = 16;

    /// <summary>Side of the square frames in pixels (H = W).</summary>
    public int Size { get; init; } = 64;

    /// <summary>The label each clip carries.</summary>
    public MovingFashionMnistLabel Label { get; init; } = MovingFashionMnistLabel.Direction;

    /// <summary>Clips in the set; 0: one per garment image of the split (6,000/1,000 embedded, 60,000/10,000 full).</summary>
    public int Count { get; init; }

    /// <summary>Side of a garment as a fraction of the clip side (28 pixels in a 64-pixel clip by default).</summary>
    public double GarmentScale { get; init; } = 28.0 / 64;

    /// <summary>Probability that a second, dimmer garment (half intensity) moves through the clip as a distractor.</summary>
    public double SecondGarmentProbability { get; init; } = 0.5;

    /// <summary>Slowest speed, as a fraction of the clip side per frame (2 pixels per frame at 64).</summary>
    public double MinSpeed { get; init; } = 1.0 / 32;

    /// <summary>Fastest speed, as a fraction of the clip side per frame (4 pixels per frame at 64).</summary>
    public double MaxSpeed { get; init; } = 1.0 / 16;

    /// <summary>Slowest spin in degrees per frame (0 with <see cref="MaxSpin"/> 0: garments do not rotate and stand upright).</summary>
    public double MinSpin { get; init; } = 3;

    /// <summary>Fastest spin in degrees per frame.</summary>
    public double MaxSpin { get; init; } = 10;

    /// <summary>Throws <see cref="ArgumentValueException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        const string op = "moving_fashion_mnist";
        if (Frames < 2) throw new ArgumentValueException(op, $"a clip needs at least 2 frames, got {Frames}");
        if (Size < 8) throw new ArgumentValueException(op, $"frames must be at least 8x8, got {Size}");
        if (Count < 0) throw new ArgumentValueException(op, $"count must be non-negative, got {Count}");
        if (!(GarmentScale > 0 && GarmentScale < 1) || (int)Math.Round(GarmentScale * Size) < 2 || (int)Math.Round(GarmentScale * Size) >= Size)
            throw new ArgumentValueException(op, $"garment scale must leave the garment between 2 pixels and the frame side, got {GarmentScale} of {Size}");
        if (!(SecondGarmentProbability is >= 0 and <= 1)) throw new ArgumentValueException(op, $"second-garment probability must lie in [0, 1], got {SecondGarmentProbability}");
        if (!(MinSpeed > 0 && MinSpeed <= MaxSpeed && MaxSpeed < 1)) throw new ArgumentValueException(op, $"speeds must satisfy 0 < min <= max < 1, got ({MinSpeed}, {MaxSpeed})");
        if (!(MinSpin >= 0 && MinSpin <= MaxSpin && MaxSpin < 180)) throw new ArgumentValueException(op, $"spins must satisfy 0 <= min <= max < 180, got ({MinSpin}, {MaxSpin})");
        if (Label == MovingFashionMnistLabel.Rotation && !(MinSpin > 0))
            throw new ArgumentValueException(op, "the rotation label needs a spin above 0 (MinSpin)");
    }
}
