namespace Engine.Nn.Data;

/// <summary>
/// The path of one garment through a <see cref="MovingFashionMnist"/> clip: its centre (pixels, x right, y down)
/// and its rotation (degrees, clockwise on screen) at every frame.
/// </summary>
/// <param name="Image">Index of the garment image in the Fashion-MNIST split.</param>
/// <param name="Class">Its Fashion-MNIST class.</param>
/// <param name="Intensity">Its brightness: 1 for the main garment, 0.5 for the distractor.</param>
/// <param name="X">Centre column at each frame, in pixels from the left edge.</param>
/// <param name="Y">Centre row at each frame, in pixels from the top edge.</param>
/// <param name="Angle">Rotation at each frame, degrees.</param>
public sealed record MovingGarment(int Image, int Class, float Intensity, double[] X, double[] Y, double[] Angle);

/// <summary>
/// What a <see cref="MovingFashionMnist"/> clip shows: both label sets and every garment's path. The frames are
/// rendered from exactly this.
/// </summary>
/// <param name="Label">The label the set was built to give (<see cref="MovingFashionMnistOptions.Label"/>).</param>
/// <param name="Direction">Direction of the main garment at the label frame, 0–7 (k·45°, 0 right, 2 down).</param>
/// <param name="Rotation">Spin sense of the main garment: 0 clockwise, 1 counter-clockwise.</param>
/// <param name="Main">The main garment.</param>
/// <param name="Second">The distractor, or null.</param>
public sealed record MovingClip(long Label, int Direction, int Rotation, MovingGarment Main, MovingGarment? Second);
