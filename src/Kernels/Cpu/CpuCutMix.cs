using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// CutMix on contiguous [N, C, H, W] images: rows outside the box are copied whole from the image itself; rows crossing
/// the box are copied in three spans (own, partner, own), so every element of an out-of-place result is written once.
/// In place, the boxes are first gathered into a scratch array, then pasted from it: a partner's box is read before
/// any box is overwritten.
/// </summary>
public static unsafe class CpuCutMix
{
    /// <summary>dst ← CutMix(src) (see <see cref="Engine.Kernels.Fused.FusedOps.CutMixImages"/>); T is the element's bit pattern (int or long).</summary>
    public static void Images<T>(in StridedView dst, in StridedView src, in StridedView partner, int y1, int y2, int x1, int x2) where T : unmanaged
    {
        int n = (int)dst.Shape[0], c = (int)dst.Shape[1], h = (int)dst.Shape[2], w = (int)dst.Shape[3];
        long plane = (long)h * w, image = c * plane;
        nint dp = (nint)dst.Ptr<T>(), sp = (nint)src.Ptr<T>();
        var part = new ReadOnlySpan<long>(partner.Ptr<long>(), n).ToArray();
        int bh = y2 - y1, bw = x2 - x1;
        bool empty = bh <= 0 || bw <= 0;
        if (dp == sp)
        {
            if (empty) return;
            // in place: gather every box, then paste each image's partner box
            using var scratch = new HostBuffer<T>((long)n * c * bh * bw);
            {
                nint sc = (nint)scratch.Ptr;
                Parallel.For(0, n * c, ic => Box(ic, toScratch: true));
                Parallel.For(0, n * c, ic => Box(ic, toScratch: false));
                void Box(int ic, bool toScratch)
                {
                    int i = ic / c, ch = ic % c;
                    T* img = (T*)dp + i * image + ch * plane;
                    T* box = toScratch ? (T*)sc + (long)ic * bh * bw : (T*)sc + (part[i] * c + ch) * bh * bw;
                    for (int y = 0; y < bh; y++)
                    {
                        var row = new Span<T>(img + (long)(y1 + y) * w + x1, bw);
                        var b = new Span<T>(box + (long)y * bw, bw);
                        if (toScratch) row.CopyTo(b); else b.CopyTo(row);
                    }
                }
            }
            return;
        }
        Parallel.For(0, n * c, ic =>
        {
            int i = ic / c, ch = ic % c;
            T* d = (T*)dp + i * image + ch * plane;
            T* own = (T*)sp + i * image + ch * plane, other = (T*)sp + part[i] * image + ch * plane;
            for (int y = 0; y < h; y++)
            {
                long r = (long)y * w;
                if (empty || y < y1 || y >= y2)
                {
                    new ReadOnlySpan<T>(own + r, w).CopyTo(new Span<T>(d + r, w));
                    continue;
                }
                new ReadOnlySpan<T>(own + r, x1).CopyTo(new Span<T>(d + r, x1));
                new ReadOnlySpan<T>(other + r + x1, bw).CopyTo(new Span<T>(d + r + x1, bw));
                new ReadOnlySpan<T>(own + r + x2, w - x2).CopyTo(new Span<T>(d + r + x2, w - x2));
            }
        });
    }

    /// <summary>dst[i, k] = λ·[k = labels[i]] + (1 − λ)·[k = labels[partner[i]]] in T's arithmetic.</summary>
    public static void Labels<T>(in StridedView dst, in StridedView labels, in StridedView partner, double lambda) where T : unmanaged, INumber<T>
    {
        int n = (int)dst.Shape[0], k = (int)dst.Shape[1];
        T lam = T.CreateTruncating(lambda), rest = T.CreateTruncating(1 - lambda);
        T* d = dst.Ptr<T>();
        long* y = labels.Ptr<long>(), p = partner.Ptr<long>();
        for (int i = 0; i < n; i++)
        {
            long own = y[i], other = y[p[i]];
            for (int j = 0; j < k; j++)
                d[(long)i * k + j] = (j == own ? lam : T.Zero) + (j == other ? rest : T.Zero);
        }
    }
}
