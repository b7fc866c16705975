using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>Random fills: element i of the contiguous dst is a function of (seed, offset + i) only.</summary>
public static unsafe class CpuRandom
{
    /// <summary>Fills contiguous dst.</summary>
    public static void Fill<T>(in StridedView dst, RandomKind kind, ulong seed, ulong offset, double a, double b) where T : unmanaged, INumber<T>
    {
        long n = dst.NumEl;
        nint p = (nint)dst.Ptr<T>();
        bool isFloat = typeof(T) == typeof(float);
        void Range(long begin, long end)
        {
            T* d = (T*)p;
            for (long i = begin; i < end; i++)
            {
                var (x0, x1, x2, x3) = Philox.Block(offset + (ulong)i, seed);
                double v = kind switch
                {
                    RandomKind.Uniform => a + (b - a) * (isFloat ? Philox.UniformFloat(x0) : Philox.UniformDouble(x0, x1)),
                    RandomKind.Normal => a + b * Philox.Normal(x0, x1),
                    RandomKind.Integer => a + (double)((((ulong)x0 << 32) | x1) % (ulong)(b - a)),
                    _ => Philox.UniformDouble(x2, x3) < a ? 1.0 : 0.0,
                };
                if (kind == RandomKind.Uniform && isFloat && (float)v >= (float)b) v = MathF.BitDecrement((float)b); // rounding must not reach the open end
                d[i] = T.CreateTruncating(v);
            }
        }
        const long chunk = 1 << 14;
        if (n <= chunk) { Range(0, n); return; }
        Parallel.For(0, (n + chunk - 1) / chunk, c => Range(c * chunk, Math.Min(n, (c + 1) * chunk)));
    }
}
