using Engine.Kernels;

namespace Engine;

/// <summary>
/// A seedable source of random tensors. Numbers come from Philox4x32-10 keyed by the seed; each draw consumes
/// one counter per element, so the same seed gives the same sequence of tensors on every machine, thread
/// count and (later) device.
/// </summary>
public sealed class Generator
{
    private ulong _offset;
    private readonly Lock _lock = new();

    /// <summary>The seed.</summary>
    public ulong Seed { get; private set; }

    /// <summary>Creates a generator with the given seed.</summary>
    public Generator(ulong seed) => Seed = seed;

    /// <summary>The generator used when none is passed. Reseed it with <see cref="Tensor.ManualSeed"/>.</summary>
    public static Generator Default { get; } = new(0x5EED);

    /// <summary>Restarts the sequence from <paramref name="seed"/>.</summary>
    public void ManualSeed(ulong seed)
    {
        lock (_lock) { Seed = seed; _offset = 0; }
    }

    /// <summary>How many counters have been consumed (with <see cref="Seed"/>, the full state).</summary>
    public ulong Offset
    {
        get { lock (_lock) return _offset; }
        set { lock (_lock) _offset = value; }
    }

    /// <summary>Reserves <paramref name="count"/> counters and returns the first.</summary>
    internal (ulong seed, ulong offset) Take(long count)
    {
        lock (_lock)
        {
            ulong o = _offset;
            _offset += (ulong)count;
            return (Seed, o);
        }
    }

    /// <summary>One uniform double in [0, 1), for host-side sampling.</summary>
    public double NextDouble()
    {
        var (s, o) = Take(1);
        var (a, b, _, _) = Philox.Block(o, s);
        return Philox.UniformDouble(a, b);
    }

    /// <summary>One standard normal (Box–Muller), for host-side sampling.</summary>
    public double NextNormal()
    {
        var (s, o) = Take(1);
        var (a, b, _, _) = Philox.Block(o, s);
        return Philox.Normal(a, b);
    }

    /// <summary>A uniform integer in [0, n).</summary>
    public long NextLong(long n)
    {
        if (n <= 0) throw new ArgumentValueException("generator", $"range must be positive, got {n}");
        var (s, o) = Take(1);
        var (a, b, _, _) = Philox.Block(o, s);
        return (long)((((ulong)a << 32) | b) % (ulong)n);
    }

    /// <summary>A Gamma(shape, 1) draw by Marsaglia and Tsang's method (shape &lt; 1 boosted by U^(1/shape)).</summary>
    public double NextGamma(double shape)
    {
        if (!(shape > 0)) throw new ArgumentValueException("gamma", $"shape must be positive, got {shape}");
        if (shape < 1) return NextGamma(shape + 1) * Math.Pow(NextDouble(), 1.0 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x = NextNormal(), v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v))) return d * v;
        }
    }

    /// <summary>A Beta(a, b) draw as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b).</summary>
    public double NextBeta(double a, double b)
    {
        double x = NextGamma(a), y = NextGamma(b);
        return x / (x + y);
    }

    /// <summary>A uniformly random permutation of 0 … n−1 (Fisher–Yates).</summary>
    public long[] Permutation(long n)
    {
        var p = new long[n];
        for (long i = 0; i < n; i++) p[i] = i;
        for (long i = n - 1; i > 0; i--)
        {
            long j = NextLong(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }
}
