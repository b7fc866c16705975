namespace Engine.Nn.Data;

/// <summary>
/// A synthetic video set, generated on the fly, in the spirit of Moving MNIST (Srivastava et al. 2015) with
/// Fashion-MNIST garments: clips of T grey frames of S × S pixels, float32 [1, T, S, S] in [0, 1], in which one
/// garment, and with some probability a second one at half brightness, moves in a straight line at constant speed,
/// bounces off the borders (its square box of side <see cref="MovingFashionMnistOptions.GarmentScale"/> · S reflects)
/// and spins. Garments are drawn over black with the brighter value winning where they overlap, resampled bilinearly.
/// <para>
/// Labels (<see cref="MovingFashionMnistOptions.Label"/>): the direction the main garment moves in at the label frame
/// T / 2 (8 classes), its spin sense (2), or its garment class (10). At the label frame the main garment's box is
/// uniformly placed, its angle uniform and its image independent of the motion, so that frame alone says nothing
/// about the direction or the spin: a single-frame model is at chance (1/8, 1/2) on the motion labels, and only a
/// model that compares frames can learn them. (Other single frames tell a little about the direction: a garment seen
/// near a border is likelier to be moving away from it.) The spin sense cannot be seen in any single frame.
/// </para>
/// <para>
/// Clip <c>i</c> is a function of (seed, split, i) only: every draw comes from a generator seeded by them, so a clip
/// is the same in every epoch, on any loader worker, in any order. Its main garment is image <c>i mod n</c> of the
/// split (n images), so the training set (Fashion-MNIST's training images) and the test set (its test images) share
/// no garment image.
/// </para>
/// </summary>
public sealed class MovingFashionMnist : IDataset
{
    private const string Op = "moving_fashion_mnist";
    private const ulong SaltClip = 0x4D4F56494E47; // "MOVING"
    private readonly IdxDataset _garments;
    private readonly ulong _seed;
    private readonly int _garmentSide;
    private readonly Lazy<DatasetInfo> _info;

    /// <summary>The 8 directions, indexed by <see cref="MovingClip.Direction"/> (image axes: y grows downwards).</summary>
    public static IReadOnlyList<string> DirectionNames { get; } = ["right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right"];

    /// <summary>The spin senses, indexed by <see cref="MovingClip.Rotation"/>.</summary>
    public static IReadOnlyList<string> RotationNames { get; } = ["clockwise", "counter-clockwise"];

    /// <summary>The settings.</summary>
    public MovingFashionMnistOptions Options { get; }

    /// <summary>The seed the clips are drawn from.</summary>
    public ulong Seed { get; }

    /// <summary>True when the garments come from the training split.</summary>
    public bool Train { get; }

    /// <summary>The index of the label frame, T / 2 (the frame the direction label describes).</summary>
    public int LabelFrame => Options.Frames / 2;

    /// <summary>Side of a garment in pixels.</summary>
    public int GarmentSide => _garmentSide;

    /// <summary>Class names of the chosen label.</summary>
    public IReadOnlyList<string> ClassNames => ClassNamesOf(Options.Label);

    /// <inheritdoc/>
    public int Count { get; }

    /// <summary>
    /// Shape, classes and pixel statistics, for a model and its <see cref="Normalize"/>: channels 1, frames T, side S;
    /// the mean and standard deviation are measured on the first 128 clips of this set (the same for every instance
    /// with the same settings, seed and split).
    /// </summary>
    public DatasetInfo Info => _info.Value;

    /// <summary>
    /// Clips over the garments of <paramref name="garments"/> (28 × 28 grey images, such as <see cref="FashionMnist"/>'s
    /// split <paramref name="train"/>), drawn from <paramref name="seed"/>.
    /// </summary>
    public MovingFashionMnist(IdxDataset garments, bool train, ulong seed = 0, MovingFashionMnistOptions? options = null)
    {
        Options = options ?? new MovingFashionMnistOptions();
        Options.Validate();
        if (garments.Count == 0) throw new DataException(Op, garments.ImagesFile, "has no garment images");
        (_garments, Train, Seed) = (garments, train, seed);
        _seed = DataLoader.Mix(DataLoader.Mix(seed, SaltClip), train ? 1UL : 2UL);
        _garmentSide = (int)Math.Round(Options.GarmentScale * Options.Size);
        Count = Options.Count > 0 ? Options.Count : garments.Count;
        _info = new Lazy<DatasetInfo>(MeasureInfo);
    }

    /// <summary>
    /// The set over Fashion-MNIST split <paramref name="train"/>, loaded as <see cref="FashionMnist.Load"/> does: from
    /// <paramref name="path"/>, else the installed full set, else the embedded subset.
    /// </summary>
    public static MovingFashionMnist Load(string? path = null, bool train = true, ulong seed = 0, MovingFashionMnistOptions? options = null) =>
        new(FashionMnist.Load(path, train), train, seed, options);

    /// <summary>Class names of <paramref name="label"/>.</summary>
    public static IReadOnlyList<string> ClassNamesOf(MovingFashionMnistLabel label) => label switch
    {
        MovingFashionMnistLabel.Direction => DirectionNames,
        MovingFashionMnistLabel.Rotation => RotationNames,
        _ => FashionMnist.ClassNames,
    };

    /// <summary>Everything clip <paramref name="index"/> shows: labels and garment paths (no pixels are drawn).</summary>
    public MovingClip Describe(int index)
    {
        if ((uint)index >= (uint)Count) throw new IndexException(Op, $"index {index} is out of range for {Count} clips");
        var g = new Generator(DataLoader.Mix(_seed, (ulong)index));
        int mainImage = index % _garments.Count;
        int direction = (int)g.NextLong(8);
        var main = Trajectory(g, mainImage, 1f, direction * Math.PI / 4, out int rotation);
        // The distractor's draws are made whether or not it appears, so the main garment never depends on them.
        bool second = g.Chance(Options.SecondGarmentProbability);
        int secondImage = (int)g.NextLong(_garments.Count);
        var other = Trajectory(g, secondImage, 0.5f, g.Uniform(0, 2 * Math.PI), out _);
        long label = Options.Label switch
        {
            MovingFashionMnistLabel.Direction => direction,
            MovingFashionMnistLabel.Rotation => rotation,
            _ => main.Class,
        };
        return new MovingClip(label, direction, rotation, main, second ? other : null);
    }

    /// <summary>
    /// One garment's path: its box position at the label frame uniform over the frame, speed and spin uniform in
    /// their ranges, angle uniform; positions before and after follow by reflection at the borders.
    /// </summary>
    private MovingGarment Trajectory(Generator g, int image, float intensity, double heading, out int rotation)
    {
        var o = Options;
        int t = o.Frames, s = o.Size;
        double travel = s - _garmentSide; // the box's top-left corner moves in [0, travel]
        double speed = g.Uniform(o.MinSpeed, o.MaxSpeed) * s;
        double ux = g.Uniform(0, travel), uy = g.Uniform(0, travel);
        double angle0 = g.Uniform(0, 360);
        if (o.MaxSpin == 0) angle0 = 0; // garments that do not spin stand upright
        double spin = g.Uniform(o.MinSpin, o.MaxSpin);
        rotation = (int)g.NextLong(2);
        if (rotation == 1) spin = -spin; // a growing angle turns clockwise on screen (y down)
        double vx = speed * Math.Cos(heading), vy = speed * Math.Sin(heading);
        var x = new double[t];
        var y = new double[t];
        var a = new double[t];
        double half = _garmentSide / 2.0;
        for (int f = 0; f < t; f++)
        {
            double dt = f - LabelFrame;
            x[f] = half + Reflect(ux + vx * dt, travel);
            y[f] = half + Reflect(uy + vy * dt, travel);
            a[f] = angle0 + spin * dt;
        }
        return new MovingGarment(image, (int)_garments.LabelOf(image), intensity, x, y, a);
    }

    /// <summary>Folds a free coordinate into [0, length] by reflection at both ends (the identity inside).</summary>
    private static double Reflect(double u, double length)
    {
        double period = 2 * length;
        double m = u % period;
        if (m < 0) m += period;
        return m <= length ? m : period - m;
    }

    /// <inheritdoc/>
    public Sample Get(int index)
    {
        var buffer = new ImageBuffer();
        long label = ReadInto(index, buffer);
        return new Sample(buffer.ToTensor(), label);
    }

    /// <inheritdoc/>
    public long LabelOf(int index) => Describe(index).Label;

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image)
    {
        var clip = Describe(index);
        int s = Options.Size;
        image.ResizeClip(Options.Frames, 1, s, s);
        image.Pixels.Clear();
        for (int f = 0; f < Options.Frames; f++)
        {
            var frame = image.Frame(f);
            if (clip.Second is not null) Draw(clip.Second, f, frame);
            Draw(clip.Main, f, frame);
        }
        return clip.Label;
    }

    /// <summary>
    /// Draws garment <paramref name="garment"/> at frame <paramref name="f"/>: each frame pixel within reach of the
    /// rotated box reads the garment image bilinearly (zero outside it) at its position rotated back and scaled, and
    /// keeps the larger of that and what is already there.
    /// </summary>
    private void Draw(MovingGarment garment, int f, Span<float> frame)
    {
        var src = _garments.RawImage(garment.Image);
        int sh = _garments.Height, sw = _garments.Width, s = Options.Size;
        double cx = garment.X[f], cy = garment.Y[f], rad = garment.Angle[f] * Math.PI / 180;
        double cos = Math.Cos(rad), sin = Math.Sin(rad), scale = (double)sw / _garmentSide;
        double reach = _garmentSide * 0.7072 + 2; // half the box's diagonal, plus the bilinear footprint
        int x0 = Math.Max(0, (int)Math.Floor(cx - reach)), x1 = Math.Min(s - 1, (int)Math.Ceiling(cx + reach));
        int y0 = Math.Max(0, (int)Math.Floor(cy - reach)), y1 = Math.Min(s - 1, (int)Math.Ceiling(cy + reach));
        float intensity = garment.Intensity / 255f;
        for (int py = y0; py <= y1; py++)
        {
            double dy = py + 0.5 - cy;
            for (int px = x0; px <= x1; px++)
            {
                double dx = px + 0.5 - cx;
                // The inverse rotation takes the frame offset back to the garment image (pixel centres at integers).
                double u = (cos * dx + sin * dy) * scale + sw * 0.5 - 0.5;
                double v = (-sin * dx + cos * dy) * scale + sh * 0.5 - 0.5;
                float value = Bilinear(src, sh, sw, u, v) * intensity;
                ref float dst = ref frame[py * s + px];
                if (value > dst) dst = value;
            }
        }
    }

    private static float Bilinear(ReadOnlySpan<byte> img, int h, int w, double u, double v)
    {
        double fu = Math.Floor(u), fv = Math.Floor(v);
        if (fu < -1 || fv < -1 || fu >= w || fv >= h) return 0;
        int x0 = (int)fu, y0 = (int)fv;
        double ax = u - fu, ay = v - fv;
        double p00 = At(img, h, w, x0, y0), p01 = At(img, h, w, x0 + 1, y0), p10 = At(img, h, w, x0, y0 + 1), p11 = At(img, h, w, x0 + 1, y0 + 1);
        return (float)((1 - ay) * ((1 - ax) * p00 + ax * p01) + ay * ((1 - ax) * p10 + ax * p11));
    }

    private static double At(ReadOnlySpan<byte> img, int h, int w, int x, int y) => x >= 0 && x < w && y >= 0 && y < h ? img[y * w + x] : 0;

    private DatasetInfo MeasureInfo()
    {
        int n = Math.Min(Count, 128);
        var buffer = new ImageBuffer();
        double sum = 0, sumSq = 0;
        long values = 0;
        for (int i = 0; i < n; i++)
        {
            ReadInto(i, buffer);
            foreach (float p in buffer.Pixels)
            {
                sum += p;
                sumSq += (double)p * p;
            }
            values += buffer.Length;
        }
        double mean = sum / values, std = Math.Sqrt(Math.Max(sumSq / values - mean * mean, 1e-12));
        return new DatasetInfo("Moving Fashion-MNIST", 1, Options.Size, Options.Size, ClassNames, [(float)mean], [(float)std], Options.Frames);
    }
}
