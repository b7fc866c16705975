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
}
