using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Blocked matrix product C = A·B for float32 and float64 (Goto/BLIS structure): B is packed into KC×NR
/// column panels, A into MR×KC row panels, so the micro-kernel streams both from contiguous memory and keeps
/// an MR×NR tile of C (6 rows × two 256-bit vectors) in registers across the whole KC loop, doing one FMA per
/// loaded pair. Cores each take a slice of the longer side of C and run the whole blocked product on it. A and B
/// may have any strides (transposed views are packed directly, never copied first); C is row-major with row stride ldc.
/// </summary>
public static unsafe class CpuGemm
{
    private const int MR = 6, KC = 256, NC = 4080; // NC: a multiple of both NRs (16, 8) below L2-sized B panels

    /// <summary>Multiply-adds per core below which a product runs on one core (a hand-off costs a few microseconds).</summary>
    private const double MinParallelMacs = 1 << 16;

    private static int NR<T>() where T : unmanaged => 2 * Vector256<T>.Count;

    /// <summary>Batched product; x [B,M,K], y [B,K,N], dst [B,M,N] contiguous.</summary>
    public static void MatMul<T>(in StridedView dst, in StridedView x, in StridedView y) where T : unmanaged, INumber<T>
    {
        long batch = dst.Shape[0];
        int m = (int)dst.Shape[1], n = (int)dst.Shape[2], k = (int)x.Shape[2];
        nint pa = (nint)x.Ptr<T>(), pb = (nint)y.Ptr<T>(), pc = (nint)dst.Ptr<T>();
        long sbA = x.Strides[0], rsA = x.Strides[1], csA = x.Strides[2];
        long sbB = y.Strides[0], rsB = y.Strides[1], csB = y.Strides[2];
        long sbC = dst.Strides[0], ldc = dst.Strides[1];
        // Many small products: one per core at a time. Few large ones: each product uses every core.
        bool perBatch = batch > 1 && (double)m * n * k < 64 * 64 * 64;
        void One(long b, bool parallel) => Gemm<T>(m, n, k, (T*)pa + b * sbA, rsA, csA, (T*)pb + b * sbB, rsB, csB, (T*)pc + b * sbC, ldc, false, parallel);
        if (perBatch && (double)m * n * k * batch >= 1 << 18 && Environment.ProcessorCount > 1) Parallel.For(0, batch, b => One(b, false));
        else for (long b = 0; b < batch; b++) One(b, !perBatch);
    }

    /// <summary>
    /// C = A·B, or C += A·B when <paramref name="accumulate"/>. A is m×k with strides (rsA, csA), B is k×n with
    /// strides (rsB, csB), C is m×n with row stride ldc. <paramref name="parallel"/> lets it use every core.
    /// </summary>
    public static void Gemm<T>(int m, int n, int k, T* a, long rsA, long csA, T* b, long rsB, long csB, T* c, long ldc, bool accumulate, bool parallel)
        where T : unmanaged, INumber<T>
    {
        if (m == 0 || n == 0) return;
        bool fast = (typeof(T) == typeof(float) || typeof(T) == typeof(double)) && Fma.IsSupported && Avx.IsSupported;
        if (!fast || (double)m * n * k < 16 * 16 * 16)
            Naive(m, n, k, a, rsA, csA, b, rsB, csB, c, ldc, accumulate);
        else
            Blocked(m, n, k, a, rsA, csA, b, rsB, csB, c, ldc, accumulate, parallel);
    }

    /// <summary>Reference triple loop, also used for small products where packing does not pay.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Naive<T>(int m, int n, int k, T* a, long rsA, long csA, T* b, long rsB, long csB, T* c, long ldc, bool accumulate = false) where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < m; i++)
        {
            T* crow = c + i * ldc;
            if (!accumulate) for (int j = 0; j < n; j++) crow[j] = T.Zero;
            for (int p = 0; p < k; p++)
            {
                T av = a[i * rsA + p * csA];
                T* brow = b + p * rsB;
                for (int j = 0; j < n; j++) crow[j] += av * brow[j * csB];
            }
        }
    }

    private static void Blocked<T>(int m, int n, int k, T* a, long rsA, long csA, T* b, long rsB, long csB, T* c, long ldc, bool accumulate, bool parallel)
        where T : unmanaged, INumber<T>
    {
        int nr = NR<T>();
        if (k == 0) { if (!accumulate) for (int i = 0; i < m; i++) new Span<T>(c + i * ldc, n).Clear(); return; }
        int workers = parallel ? Environment.ProcessorCount : 1;
        if (workers > 1 && (double)m * n * k >= MinParallelMacs * workers)
        {
            // One independent product per core over a slice of the longer side: each core packs its own panels, so no
            // core waits for another's B panel and there is no barrier per KC step (1024³ on 2 cores: 12.6 → 11.9 ms).
            bool splitN = n > m; // square: rows, so each core packs half of A (scalar) and all of B (vector copies)
            int unit = splitN ? nr : MR, units = ((splitN ? n : m) + unit - 1) / unit;
            int parts = Math.Min(workers, units), per = (units + parts - 1) / parts * unit;
            nint aS = (nint)a, bS = (nint)b, cS = (nint)c;
            int total = splitN ? n : m;
            Parallel.For(0, parts, w =>
            {
                int s0 = w * per, len = Math.Min(per, total - s0);
                if (len <= 0) return;
                if (splitN) Blocked(m, len, k, (T*)aS, rsA, csA, (T*)bS + s0 * csB, rsB, csB, (T*)cS + s0, ldc, accumulate, false);
                else Blocked(len, n, k, (T*)aS + s0 * rsA, rsA, csA, (T*)bS, rsB, csB, (T*)cS + s0 * ldc, ldc, accumulate, false);
            });
            return;
        }
        int mc = Math.Min(16 * MR, (m + MR - 1) / MR * MR); // at most 16 micro-panels: fits L2 beside a B micro-panel
        int mBlocks = (m + mc - 1) / mc;
        int ncMax = Math.Min(NC, (n + nr - 1) / nr * nr);
        nint aP = (nint)a, cP = (nint)c;
        T* bp = (T*)Scratch.Get(0, (long)KC * ncMax * sizeof(T));
        {
            nint bpn = (nint)bp;
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    PackB(kc, nc, nr, b + pc * rsB + jc * csB, rsB, csB, bp);
                    bool first = pc == 0 && !accumulate;
                    int jcc = jc, pcc = pc;
                    void Block(int blk)
                    {
                        int ic = blk * mc, mcb = Math.Min(mc, m - ic);
                        T* apk = (T*)Scratch.Get(1, ((long)mc * KC + 8) * sizeof(T)); // + 8: PackA's vector stores run 2 past a panel
                        {
                            PackA(mcb, kc, (T*)aP + ic * rsA + pcc * csA, rsA, csA, apk);
                            T* edge = stackalloc T[MR * 16];
                            for (int jr = 0; jr < nc; jr += nr)
                                for (int ir = 0; ir < mcb; ir += MR)
                                {
                                    T* ct = (T*)cP + (ic + ir) * ldc + jcc + jr;
                                    int mr = Math.Min(MR, mcb - ir), nrr = Math.Min(nr, nc - jr);
                                    if (!Micro(kc, apk + ir * kc, (T*)bpn + jr * kc, ct, ldc, mr, nrr, !first, edge)) Edge(edge, ct, ldc, mr, nrr, !first);
                                }
                        }
                    }
                    for (int blk = 0; blk < mBlocks; blk++) Block(blk);
                }
            }
        }
    }

    // B[kc, nc] → panels of nr columns, each stored p-major: panel[p*nr + j]; missing columns are zero.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB<T>(int kc, int nc, int nr, T* b, long rsB, long csB, T* dst) where T : unmanaged, INumber<T>
    {
        for (int j0 = 0; j0 < nc; j0 += nr)
        {
            int w = Math.Min(nr, nc - j0);
            T* panel = dst + j0 * kc;
            int p0 = 0;
            if (w == nr && csB == 1)
            {
                // Full panel of a row-major B: two vector copies per row.
                int v = Vector256<T>.Count;
                for (; p0 < kc; p0++)
                {
                    T* src = b + p0 * rsB + j0;
                    Vector256.Load(src).Store(panel + p0 * nr);
                    Vector256.Load(src + v).Store(panel + p0 * nr + v);
                }
            }
            else if (w == nr && rsB == 1 && typeof(T) == typeof(float) && Avx.IsSupported)
            {
                // Full panel of a transposed B (columns contiguous, e.g. im2colᵀ in conv's weight gradient):
                // 8×8 register transposes instead of a strided gather per element.
                for (; p0 + 8 <= kc; p0 += 8)
                    for (int jh = 0; jh < nr; jh += 8)
                        Transpose8x8((float*)(b + p0 + (j0 + jh) * csB), csB, (float*)(panel + p0 * nr + jh), nr);
            }
            for (int p = p0; p < kc; p++)
            {
                T* src = b + p * rsB + j0 * csB;
                T* o = panel + p * nr;
                if (csB == 1) { for (int j = 0; j < w; j++) o[j] = src[j]; }
                else for (int j = 0; j < w; j++) o[j] = src[j * csB];
                for (int j = w; j < nr; j++) o[j] = T.Zero;
            }
        }
    }

    // dst[i*ldd + j] = src[j*lds + i] for an 8×8 float block.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* src, long lds, float* dst, long ldd)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + 2 * lds); var r3 = Avx.LoadVector256(src + 3 * lds);
        var r4 = Avx.LoadVector256(src + 4 * lds); var r5 = Avx.LoadVector256(src + 5 * lds);
        var r6 = Avx.LoadVector256(src + 6 * lds); var r7 = Avx.LoadVector256(src + 7 * lds);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20)); Avx.Store(dst + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20)); Avx.Store(dst + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31)); Avx.Store(dst + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31)); Avx.Store(dst + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }

    // A[mc, kc] → panels of MR rows, each stored p-major: panel[p*MR + i]; missing rows are zero.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA<T>(int mc, int kc, T* a, long rsA, long csA, T* dst) where T : unmanaged, INumber<T>
    {
        // float32 full panels with vector moves: a panel step is 6 floats, so each 8-wide store spills 2 lanes into the
        // next step (or, at a panel's end, the next panel or the buffer's 8-element slack), which the following store
        // overwrites; stores therefore go in ascending address order. Where the cores each pack A for few columns of
        // B (DenseNet's convs on 4×4 planes), the scalar copy cost about as much as the multiply.
        bool vec = typeof(T) == typeof(float) && Avx2.IsSupported && (csA == 1 || rsA == 1);
        for (int i0 = 0; i0 < mc; i0 += MR)
        {
            int h = Math.Min(MR, mc - i0);
            T* panel = dst + i0 * kc;
            int p0 = 0;
            if (vec && h == MR)
                p0 = csA == 1 ? PackRowsFloat(kc, (float*)(a + i0 * rsA), rsA, (float*)panel)
                              : PackColumnsFloat(kc, (float*)(a + i0), csA, (float*)panel);
            for (int p = p0; p < kc; p++)
            {
                T* o = panel + p * MR;
                T* src = a + i0 * rsA + p * csA;
                for (int i = 0; i < h; i++) o[i] = src[i * rsA];
                for (int i = h; i < MR; i++) o[i] = T.Zero;
            }
        }
    }

    // Six rows of A (k contiguous) → panel[p*6 + i] for p in whole blocks of 8: an 8×8 transpose whose rows 6 and 7
    // repeat row 5 (their lanes land in the spill); returns the first p not packed.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PackRowsFloat(int kc, float* a, long rsA, float* panel)
    {
        int p0 = 0;
        for (; p0 + 8 <= kc; p0 += 8)
        {
            float* s = a + p0;
            var r0 = Avx.LoadVector256(s); var r1 = Avx.LoadVector256(s + rsA);
            var r2 = Avx.LoadVector256(s + 2 * rsA); var r3 = Avx.LoadVector256(s + 3 * rsA);
            var r4 = Avx.LoadVector256(s + 4 * rsA); var r5 = Avx.LoadVector256(s + 5 * rsA);
            var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
            var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
            var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
            var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
            var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
            var u4 = Avx.Shuffle(t4, t4, 0x44); var u5 = Avx.Shuffle(t4, t4, 0xEE);
            var u6 = Avx.Shuffle(t5, t5, 0x44); var u7 = Avx.Shuffle(t5, t5, 0xEE);
            float* d = panel + p0 * MR;
            Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20)); Avx.Store(d + MR, Avx.Permute2x128(u1, u5, 0x20));
            Avx.Store(d + 2 * MR, Avx.Permute2x128(u2, u6, 0x20)); Avx.Store(d + 3 * MR, Avx.Permute2x128(u3, u7, 0x20));
            Avx.Store(d + 4 * MR, Avx.Permute2x128(u0, u4, 0x31)); Avx.Store(d + 5 * MR, Avx.Permute2x128(u1, u5, 0x31));
            Avx.Store(d + 6 * MR, Avx.Permute2x128(u2, u6, 0x31)); Avx.Store(d + 7 * MR, Avx.Permute2x128(u3, u7, 0x31));
        }
        return p0;
    }

    // A transposed (its six rows adjacent in memory at each p) → panel[p*6 + i]: a masked 6-lane load (never reads past
    // the matrix) and an 8-wide store per p.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PackColumnsFloat(int kc, float* a, long csA, float* panel)
    {
        var mask = Vector256.Create(-1, -1, -1, -1, -1, -1, 0, 0).AsSingle();
        for (int p = 0; p < kc; p++) Avx.Store(panel + p * MR, Avx.MaskLoad(a + p * csA, mask));
        return kc;
    }

    /// <summary>a·b + c lane-wise, one fused instruction for float and double where FMA exists (the CPU micro-kernels' step).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<T> Fmadd<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float) && Fma.IsSupported) return Fma.MultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double) && Fma.IsSupported) return Fma.MultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    // The 6×(2 vectors) register tile. Full tiles store straight into C (true); edge tiles go to buf (MR rows of 2V) for
    // the caller's Edge (false).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Micro<T>(int kc, T* a, T* b, T* c, long ldc, int mr, int nr, bool accumulate, T* buf) where T : unmanaged, INumber<T>
    {
        int v = Vector256<T>.Count;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + v);
            var a0 = Vector256.Create(a[0]); c00 = Fmadd(a0, b0, c00); c01 = Fmadd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]); c10 = Fmadd(a1, b0, c10); c11 = Fmadd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]); c20 = Fmadd(a2, b0, c20); c21 = Fmadd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]); c30 = Fmadd(a3, b0, c30); c31 = Fmadd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]); c40 = Fmadd(a4, b0, c40); c41 = Fmadd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]); c50 = Fmadd(a5, b0, c50); c51 = Fmadd(a5, b1, c51);
            a += MR; b += 2 * v;
        }
        int nrFull = 2 * v;
        if (mr == MR && nr == nrFull)
        {
            Store(c, 0 * ldc, v, c00, c01, accumulate); Store(c, 1 * ldc, v, c10, c11, accumulate);
            Store(c, 2 * ldc, v, c20, c21, accumulate); Store(c, 3 * ldc, v, c30, c31, accumulate);
            Store(c, 4 * ldc, v, c40, c41, accumulate); Store(c, 5 * ldc, v, c50, c51, accumulate);
            return true;
        }
        // Edge tile: the sums to the caller's buffer, which stores them (Edge); with no call here the JIT keeps the
        // accumulators in registers in the loop even without profile data (with a call, and tiering off, it spilled
        // all 12 every step: 2.6× slower).
        int w = 2 * v;
        c00.Store(buf); c01.Store(buf + v); c10.Store(buf + w); c11.Store(buf + w + v);
        c20.Store(buf + 2 * w); c21.Store(buf + 2 * w + v); c30.Store(buf + 3 * w); c31.Store(buf + 3 * w + v);
        c40.Store(buf + 4 * w); c41.Store(buf + 4 * w + v); c50.Store(buf + 5 * w); c51.Store(buf + 5 * w + v);
        return false;
    }

    // C[mr, nr] (+)= an edge tile's sums from Micro's buffer (rows 2V apart).
    private static void Edge<T>(T* buf, T* c, long ldc, int mr, int nr, bool accumulate) where T : unmanaged, INumber<T>
    {
        int w = 2 * Vector256<T>.Count;
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++)
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + buf[i * w + j] : buf[i * w + j];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* c, long off, int v, Vector256<T> lo, Vector256<T> hi, bool accumulate) where T : unmanaged, INumber<T>
    {
        T* p = c + off;
        if (accumulate) { lo += Vector256.Load(p); hi += Vector256.Load(p + v); }
        lo.Store(p); hi.Store(p + v);
    }
}
