namespace Engine.Nn;

/// <summary>
/// Parameter initialisation (PyTorch's torch.nn.init), in place and seeded: every random scheme draws from
/// the given <see cref="Generator"/> (default <see cref="Generator.Default"/>).
/// </summary>
public static class Init
{
    /// <summary>The fan-in and fan-out of a weight: dim 1 and dim 0 times the receptive field (product of dims 2+).</summary>
    public static (long FanIn, long FanOut) Fans(Tensor w)
    {
        if (w.Rank < 2) throw new ShapeException("init", $"fan in/out needs a tensor of at least 2 dims, got {w.Describe()}");
        long receptive = 1;
        for (int d = 2; d < w.Rank; d++) receptive *= w.Size(d);
        return (w.Size(1) * receptive, w.Size(0) * receptive);
    }

    /// <summary>The recommended gain for a nonlinearity (PyTorch's <c>calculate_gain</c>); <paramref name="param"/> is the leaky-ReLU slope.</summary>
    public static double CalculateGain(Nonlinearity nonlinearity, double param = 0.01) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Conv or Nonlinearity.Sigmoid => 1,
        Nonlinearity.Tanh => 5.0 / 3,
        Nonlinearity.Relu => Math.Sqrt(2),
        Nonlinearity.LeakyRelu => Math.Sqrt(2 / (1 + param * param)),
        Nonlinearity.Selu => 3.0 / 4,
        _ => throw new ArgumentValueException("init", $"unknown nonlinearity {nonlinearity}"),
    };

    private static Tensor Set(Tensor t, Tensor values)
    {
        using (Tensor.NoGrad()) t.CopyFromUnchecked(values);
        values.Dispose();
        return t;
    }

    /// <summary>Fills with U(low, high).</summary>
    public static Tensor Uniform(Tensor t, double low = 0, double high = 1, Generator? generator = null) =>
        Set(t, Tensor.Uniform(t.Shape, low, high, t.DType, generator, t.Device));

    /// <summary>Fills with N(mean, std²).</summary>
    public static Tensor Normal(Tensor t, double mean = 0, double std = 1, Generator? generator = null) =>
        Set(t, Tensor.Normal(t.Shape, mean, std, t.DType, generator, t.Device));

    /// <summary>Fills with <paramref name="value"/>.</summary>
    public static Tensor Constant(Tensor t, double value)
    {
        using (Tensor.NoGrad()) t.FillInPlace(value);
        return t;
    }

    /// <summary>Fills with zeros.</summary>
    public static Tensor Zeros(Tensor t) => Constant(t, 0);

    /// <summary>Fills with ones.</summary>
    public static Tensor Ones(Tensor t) => Constant(t, 1);

    private static long Fan(Tensor t, FanMode mode)
    {
        var (fi, fo) = Fans(t);
        return mode switch
        {
            FanMode.FanIn => fi,
            FanMode.FanOut => fo,
            _ => throw new ArgumentValueException("init", $"unknown fan mode {mode}"),
        };
    }

    /// <summary>He uniform: U(−b, b), b = gain·√(3/fan), gain from the nonlinearity with slope <paramref name="a"/>.</summary>
    public static Tensor KaimingUniform(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, Generator? generator = null)
    {
        double bound = CalculateGain(nonlinearity, a) * Math.Sqrt(3.0 / Fan(t, mode));
        return Uniform(t, -bound, bound, generator);
    }

    /// <summary>He normal: N(0, (gain/√fan)²).</summary>
    public static Tensor KaimingNormal(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, Generator? generator = null) =>
        Normal(t, 0, CalculateGain(nonlinearity, a) / Math.Sqrt(Fan(t, mode)), generator);

    /// <summary>Glorot uniform: U(−b, b), b = gain·√(6/(fan_in + fan_out)).</summary>
    public static Tensor XavierUniform(Tensor t, double gain = 1, Generator? generator = null)
    {
        var (fi, fo) = Fans(t);
        double bound = gain * Math.Sqrt(6.0 / (fi + fo));
        return Uniform(t, -bound, bound, generator);
    }

    /// <summary>Glorot normal: N(0, gain²·2/(fan_in + fan_out)).</summary>
    public static Tensor XavierNormal(Tensor t, double gain = 1, Generator? generator = null)
    {
        var (fi, fo) = Fans(t);
        return Normal(t, 0, gain * Math.Sqrt(2.0 / (fi + fo)), generator);
    }

    /// <summary>
    /// N(mean, std²) truncated to [a, b]: out-of-range draws are redrawn (the same distribution as PyTorch's
    /// inverse-CDF method, drawn differently).
    /// </summary>
    public static Tensor TruncNormal(Tensor t, double mean = 0, double std = 1, double a = -2, double b = 2, Generator? generator = null)
    {
        if (!(a < b)) throw new ArgumentValueException("trunc_normal", $"expected a < b, got a={a}, b={b}");
        if (!(std > 0)) throw new ArgumentValueException("trunc_normal", $"std must be positive, got {std}");
        double pa = SpecialCdf((a - mean) / std), pb = SpecialCdf((b - mean) / std);
        if (pb - pa < 1e-6) throw new ArgumentValueException("trunc_normal", $"[{a}, {b}] holds almost no mass of N({mean}, {std}²)");
        var g = generator ?? Generator.Default;
        var v = new double[t.NumEl];
        for (long i = 0; i < v.Length; i++)
        {
            double x;
            do x = mean + std * g.NextNormal(); while (x < a || x > b);
            v[i] = x;
        }
        return Set(t, Tensor.FromArray(v, t.Shape).To(t.DType).To(t.Device));
    }

    private static double SpecialCdf(double x) => Kernels.Cpu.SpecialFunctions.NormalCdf(x);
}

/// <summary>Which fan a Kaiming initialiser scales by: fan-in keeps forward activations' variance, fan-out the gradients'.</summary>
public enum FanMode
{
    /// <summary>Input channels × receptive field.</summary>
    FanIn,
    /// <summary>Output channels × receptive field.</summary>
    FanOut,
}

/// <summary>The nonlinearity an initialiser's gain is computed for (PyTorch's <c>calculate_gain</c> names).</summary>
public enum Nonlinearity
{
    /// <summary>Identity / linear layer: gain 1.</summary>
    Linear,
    /// <summary>Any convolution: gain 1.</summary>
    Conv,
    /// <summary>Sigmoid: gain 1.</summary>
    Sigmoid,
    /// <summary>Tanh: gain 5/3.</summary>
    Tanh,
    /// <summary>ReLU: gain √2.</summary>
    Relu,
    /// <summary>Leaky ReLU with slope a: gain √(2/(1 + a²)).</summary>
    LeakyRelu,
    /// <summary>SELU: gain 3/4.</summary>
    Selu,
}
