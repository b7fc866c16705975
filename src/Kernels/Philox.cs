namespace Engine.Kernels;

/// <summary>
/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a counter-based
/// generator. Element i of a random fill draws from counter (offset + i) under the key (seed), so results do
/// not depend on thread count or device: a GPU kernel computing the same function gives the same tensor.
/// </summary>
public static class Philox
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>Four 32-bit outputs for a 64-bit counter and 64-bit key.</summary>
    public static (uint, uint, uint, uint) Block(ulong counter, ulong key)
    {
        uint c0 = (uint)counter, c1 = (uint)(counter >> 32), c2 = 0, c3 = 0;
        uint k0 = (uint)key, k1 = (uint)(key >> 32);
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0, hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
            k0 += W0; k1 += W1;
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>Uniform on [0, 1) with 24 random bits (exact in float32).</summary>
    public static float UniformFloat(uint x) => (x >> 8) * (1.0f / 16777216.0f);

    /// <summary>Uniform on [0, 1) with 53 random bits.</summary>
    public static double UniformDouble(uint hi, uint lo) => ((((ulong)hi << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);

    /// <summary>A standard normal by Box–Muller from two 32-bit draws (u1 in (0, 1] so the log is finite).</summary>
    public static double Normal(uint a, uint b)
    {
        double u1 = (a + 1.0) / 4294967296.0, u2 = b / 4294967296.0;
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
