using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Direct convolution (any kernel, stride, padding, dilation, groups), vectorised along the output rows: each output
/// vector (V consecutive positions of a row) is Σ over (c, kd, kh, kw) of a weight times the input vector at a fixed
/// offset in a zero-padded copy of the sample, so no im2col matrix is written and nothing is packed per sample. A
/// register tile holds 6 output channels × 2 output vectors (12 accumulators): per tap, 2 unaligned input loads and 6
/// weight broadcasts feed 12 FMAs, as in the GEMM micro-kernel, with the taps' offsets from a table (4 × 3 would need
/// all 16 vector registers, and the JIT then spills 8 accumulators every tap). im2col + GEMM instead writes and packs a
/// matrix kvol times the input's size, which on the small planes of CIFAR-sized networks costs as much as the
/// arithmetic. Strides are handled by storing the padded sample as its stride phases (<see cref="Layout"/>), so the
/// inputs of consecutive outputs are consecutive again. Backward data runs the same tile on the flipped,
/// channel-swapped weights, one stride phase of dx at a time (<see cref="BackwardData{T}"/>); the weight gradient is an
/// implicit GEMM vectorised along output channels (<see cref="BackwardWeight{T}"/>).
/// </summary>
public static unsafe class CpuDirectConv
{
    private const int TileO = 6, TileS = 2, KChunk = 256;

    /// <summary>
    /// True when this kernel computes the forward pass of <paramref name="g"/>: not 1×1 (a 1×1 conv is a plain GEMM on
    /// the input), no more than a quarter of each vector wasted past the row end, and the padded sample addressable
    /// with 32-bit offsets.
    /// </summary>
    public static bool AppliesForward<T>(ConvGeometry g) where T : unmanaged
    {
        return Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && g.KernelVolume > 1 && Fills<T>(g);
    }

    /// <summary>
    /// True when backward data of <paramref name="g"/> runs here (see <see cref="BackwardData{T}"/>): not pointwise,
    /// every stride phase of dx is a unit-stride conv of dy with non-negative padding whose output rows fill at least 80%
    /// of their vectors, and, for a strided conv, a kernel larger than 1×1 and a sample's dy within half of L2.
    /// </summary>
    public static bool AppliesBackwardData<T>(ConvGeometry g) where T : unmanaged
    {
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported || g.IsPointwise) return false;
        var phases = Phases(g);
        if (phases == null) return false;
        foreach (var f in phases)
            if (f.Sub != null && !Fills<T>(f.Sub)) return false;
        if (phases.Length == 1) return true;
        // Strided: not for 1×1 kernels (im2col is a plain strided gather there, and 3 of 4 phases are zeros), nor when
        // one sample's padded dy outgrows half of L2 (every channel tile streams all of it: 64→128 channels at 56×56,
        // stride 2, took 1.3× im2col + GEMM's time).
        long dyBytes = (long)g.OutPerGroup * (g.Out(1) + 2) * ((g.Out(2) + 2 + Vector256<T>.Count - 1) / Vector256<T>.Count * Vector256<T>.Count) * g.Out(0) * sizeof(T);
        return g.KernelVolume > 1 && dyBytes <= 256 << 10;
    }

    // Output rows fill ≥ 80% of their vectors, and the padded sample is addressable with 32-bit offsets.
    private static bool Fills<T>(ConvGeometry g) where T : unmanaged
    {
        int v = Vector256<T>.Count, oW = g.Out(2);
        if ((oW + v - 1) / v * v * 4 > 5 * oW) return false;
        var l = Layout.Of<T>(g);
        return (long)g.InPerGroup * l.Channel + l.Row + 2 * v < int.MaxValue;
    }

    /// <summary>
    /// True when the weight gradient of <paramref name="g"/> runs here (see <see cref="BackwardWeight{T}"/>): not
    /// pointwise, output rows of at least 8 and planes of at least 64 positions (the position loop's per-row and per-run
    /// costs), and a sample's padded input within 32 Ki elements, so it stays in L2 while every block of output channels
    /// reads it (256 channels at 14×14: 1.1× im2col + GEMM's time; 512 at 7×7: 2.2×).
    /// </summary>
    public static bool AppliesBackwardWeight<T>(ConvGeometry g) where T : unmanaged
    {
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported || g.KernelVolume == 1 || g.Out(2) < 8 || g.OutPlane < 64) return false;
        var l = Layout.Of<T>(g);
        return g.InPerGroup * l.Channel <= 32 << 10;
    }

    private static int Padded(ConvGeometry g, int d) => g.In[d] + g.PadBegin[d] + g.PadEnd[d];

    /// <summary>
    /// Where the zero-padded copy of one sample's channel keeps each padded input element: a strided conv's input is
    /// stored as its stride phases, so that the inputs of consecutive outputs are consecutive in memory at every tap.
    /// Along W, phase q holds padded columns q, q + sw, q + 2·sw, ... (one row of a phase: Row elements, room
    /// for the last, partial output vector's loads at every tap); along H, padded row ih is stored row
    /// (ih mod sh)·RowsPerPhase + ih / sh of its W phase. Output (oh, ow) at a tap thus reads stored row oh + t, column
    /// ow + u for the tap's fixed t and u: a flat run over output rows (Row elements apart) reads a flat run of
    /// the padded copy. Without strides this is the plain zero-padded plane, rows padded to whole vectors.
    /// </summary>
    private readonly record struct Layout(int Depth, int RowsPerPhase, int Rows, int Row, int Phases)
    {
        /// <summary>Elements per W phase of a depth slice (Rows stored rows of Row elements).</summary>
        public long Phase => (long)Rows * Row;

        /// <summary>Elements per padded depth slice (its W phases).</summary>
        public long Slice => Phases * Phase;

        /// <summary>Elements per padded channel.</summary>
        public long Channel => Depth * Slice;

        public static Layout Of<T>(ConvGeometry g) where T : unmanaged
        {
            int v = Vector256<T>.Count, sw = g.Stride[2], sh = g.Stride[1];
            int phase = Math.Max((Padded(g, 2) + sw - 1) / sw, (g.Out(2) + v - 1) / v * v + g.Dilation[2] * (g.Kernel[2] - 1) / sw);
            int rowsPerPhase = (Padded(g, 1) + sh - 1) / sh;
            return new Layout(Padded(g, 0), rowsPerPhase, sh * rowsPerPhase, phase, sw);
        }
    }

    /// <summary>
    /// One stride phase of dx: the positions A + stride·t (per dim) of dx, Count[d] of them along dim d. They are a
    /// unit-stride conv of dy (the sub-pixel decomposition of a transposed conv): dx[A + s·t] = Σ over the taps k with
    /// A + pad − k·dil ≡ 0 (mod s) of w[k] · dy[t + (A + pad − k·dil) / s]. <see cref="Sub"/> is that conv (input dy with
    /// O channels, output C channels, a kernel of those taps in order of increasing dy offset), null when no tap of w
    /// reaches these positions (dx is zero there); Taps[d][j] is the index in w's kernel of the sub-kernel's tap j.
    /// With all strides 1 there is one phase: the transposed conv on the flipped kernel.
    /// </summary>
    private sealed record Phase(int[] A, int[] Count, ConvGeometry? Sub, int[][] Taps);

    // The stride phases of dx (null when one needs negative padding of dy, e.g. padding beyond the dilated kernel).
    private static Phase[]? Phases(ConvGeometry g)
    {
        // Per dim: for each residue a, (count, taps in sub-kernel order, sub dilation, pad begin, pad end).
        var dims = new (int Count, int[] Taps, int Dil, int Pb, int Pe)[3][];
        for (int d = 0; d < 3; d++)
        {
            int s = g.Stride[d], dil = g.Dilation[d], p = g.PadBegin[d], K = g.Kernel[d], n = g.In[d], outN = g.Out(d);
            dims[d] = new (int, int[], int, int, int)[s];
            for (int a = 0; a < s; a++)
            {
                int count = Math.Max(0, (n - a + s - 1) / s);
                var taps = new List<int>();
                for (int k = K - 1; k >= 0; k--) // decreasing k: increasing dy offset (a + p − k·dil) / s
                    if (((a + p - k * dil) % s + s) % s == 0) taps.Add(k);
                if (taps.Count == 0) { dims[d][a] = (count, [], 1, 0, 0); continue; }
                int first = (a + p - taps[0] * dil) / s, step = taps.Count > 1 ? (taps[0] - taps[1]) * dil / s : 1;
                int pb = -first, pe = count - outN - pb + step * (taps.Count - 1);
                if (count > 0 && (pb < 0 || pe < 0)) return null;
                dims[d][a] = (count, [.. taps], step, pb, pe);
            }
        }
        var phases = new List<Phase>();
        for (int ad = 0; ad < g.Stride[0]; ad++)
            for (int ah = 0; ah < g.Stride[1]; ah++)
                for (int aw = 0; aw < g.Stride[2]; aw++)
                {
                    var f = new[] { dims[0][ad], dims[1][ah], dims[2][aw] };
                    if (f[0].Count == 0 || f[1].Count == 0 || f[2].Count == 0) continue;
                    bool empty = f[0].Taps.Length == 0 || f[1].Taps.Length == 0 || f[2].Taps.Length == 0;
                    var sub = empty ? null : new ConvGeometry(g.Batch, g.OutChannels, g.InChannels, g.Groups, g.OutSizes,
                        [f[0].Taps.Length, f[1].Taps.Length, f[2].Taps.Length], [1, 1, 1], [f[0].Pb, f[1].Pb, f[2].Pb],
                        [f[0].Pe, f[1].Pe, f[2].Pe], [f[0].Dil, f[1].Dil, f[2].Dil]);
                    phases.Add(new Phase([ad, ah, aw], [f[0].Count, f[1].Count, f[2].Count], sub, [f[0].Taps, f[1].Taps, f[2].Taps]));
                }
        return [.. phases];
    }

    /// <summary>y [N, O, oD, oH, oW] = conv(x, w) + bias (optional); requires <see cref="AppliesForward{T}"/>.</summary>
    public static void Forward<T>(ConvGeometry g, T* x, T* w, T* bias, T* y) where T : unmanaged, INumber<T>
    {
        int og = g.OutPerGroup, K = g.InPerGroup * g.KernelVolume, tiles = (og + TileO - 1) / TileO;
        using var packed = new HostBuffer<T>((long)g.Groups * tiles * K * TileO);
        packed.Clear(0, packed.Length); // rows past Og stay zero
        {
            T* wp = packed.Ptr;
            // packed[grp][tile][k][j] = w[grp·Og + tile·6 + j][k]; rows past Og are zero.
            for (int grp = 0; grp < g.Groups; grp++)
                for (int o = 0; o < og; o++)
                {
                    T* src = w + (long)(grp * og + o) * K;
                    T* dst = wp + ((long)(grp * tiles + o / TileO) * K) * TileO + o % TileO;
                    for (int k = 0; k < K; k++) dst[k * TileO] = src[k];
                }
            Run(g, x, wp, bias, y);
        }
    }

    /// <summary>
    /// dx [N, C, D, H, W] = convᵀ(dy, w), overwritten; requires <see cref="AppliesBackwardData{T}"/>. Each stride phase of
    /// dx (with all strides 1, dx itself) is the forward kernel's unit-stride conv of dy with a sub-kernel of w, flipped
    /// and channel-swapped (see <see cref="Phase"/>), so a strided conv's backward data multiplies only the taps that
    /// reach each position, with no col matrix to fold back; a phase's output is then spread into dx's strided positions.
    /// </summary>
    public static void BackwardData<T>(ConvGeometry g, T* dy, T* w, T* dx) where T : unmanaged, INumber<T>
    {
        var phases = Phases(g)!;
        int cg = g.InPerGroup, og = g.OutPerGroup, kvol = g.KernelVolume, tiles = (cg + TileO - 1) / TileO;
        // All phases' packed weights in one array: phase f's at start[f].
        var start = new long[phases.Length + 1];
        for (int f = 0; f < phases.Length; f++)
            start[f + 1] = start[f] + (phases[f].Sub == null ? 0 : (long)g.Groups * tiles * og * phases[f].Sub!.KernelVolume * TileO);
        using var packed = new HostBuffer<T>(start[phases.Length]);
        packed.Clear(0, packed.Length); // channels past cg stay zero
        T* wp = packed.Ptr;
        for (int f = 0; f < phases.Length; f++)
        {
            var sub = phases[f].Sub;
            if (sub == null) continue;
            var taps = phases[f].Taps;
            int svol = sub.KernelVolume, K = og * svol;
            // Tap q = (jd, jh, jw) of the sub-kernel is w's tap (taps[0][jd], taps[1][jh], taps[2][jw]); the weight for
            // output c, input o is w[o, c, that tap].
            var kq = new int[svol];
            for (int jd = 0, q = 0; jd < taps[0].Length; jd++)
                for (int jh = 0; jh < taps[1].Length; jh++)
                    for (int jw = 0; jw < taps[2].Length; jw++, q++)
                        kq[q] = (taps[0][jd] * g.Kernel[1] + taps[1][jh]) * g.Kernel[2] + taps[2][jw];
            for (int grp = 0; grp < g.Groups; grp++)
                for (int c = 0; c < cg; c++)
                {
                    long dst = start[f] + ((long)(grp * tiles + c / TileO) * K) * TileO + c % TileO;
                    for (int o = 0; o < og; o++)
                    {
                        T* src = w + ((long)(grp * og + o) * cg + c) * kvol;
                        for (int q = 0; q < svol; q++) wp[dst + (o * svol + q) * TileO] = src[kq[q]];
                    }
                }
        }
        {
            if (phases.Length == 1 && phases[0].Sub != null)
            {
                Run(phases[0].Sub!, dy, wp, null, dx);
                return;
            }
            // Strided: dy padded once per sample for all phases (padding of the widest phase, each phase's taps shifted
            // by the difference), each phase computed into buf, then spread into dx. Items are samples, or (sample,
            // channel-tile range) pairs when the batch is smaller than the cores.
            int[] pbMax = new int[3], peMax = new int[3];
            foreach (var ph in phases)
                if (ph.Sub is { } sub)
                    for (int d = 0; d < 3; d++) { pbMax[d] = Math.Max(pbMax[d], sub.PadBegin[d]); peMax[d] = Math.Max(peMax[d], sub.PadEnd[d]); }
            var union = new ConvGeometry(g.Batch, g.OutChannels, g.InChannels, g.Groups, g.OutSizes, [1, 1, 1], [1, 1, 1], pbMax, peMax, [1, 1, 1]);
            var l = Layout.Of<T>(union);
            int v = Vector256<T>.Count, row = l.Row;
            foreach (var ph in phases)
                if (ph.Sub is { } sub) // every vector of a phase's output row reads within the padded row
                    row = Math.Max(row, pbMax[2] - sub.PadBegin[2] + (sub.Out(2) + v - 1) / v * v + sub.Dilation[2] * (sub.Kernel[2] - 1));
            l = l with { Row = row };
            var offs = new int[phases.Length][];
            var at = new long[phases.Length + 1]; // phase f's output in buf: [C, counts] at at[f]
            for (int f = 0; f < phases.Length; f++)
            {
                var ph = phases[f];
                at[f + 1] = at[f] + (long)g.InChannels * ph.Count[0] * ph.Count[1] * ph.Count[2];
                if (ph.Sub is not { } sub) continue;
                offs[f] = TapOffsets(sub, l);
                int shift = (int)((pbMax[0] - sub.PadBegin[0]) * l.Slice + (long)(pbMax[1] - sub.PadBegin[1]) * l.Row + pbMax[2] - sub.PadBegin[2]);
                for (int k = 0; k < offs[f].Length; k++) offs[f][k] += shift;
            }
            long inSample = (long)g.InChannels * g.InPlane, outSample = (long)g.OutChannels * g.OutPlane;
            int split = g.Batch >= Environment.ProcessorCount ? 1 : Math.Max(1, Math.Min(tiles, Environment.ProcessorCount / Math.Max(1, g.Batch)));
            nint dyp = (nint)dy, dxp = (nint)dx, wpp = (nint)wp;
            CpuParallel.For(g.Batch * split, inSample * og / split, item =>
            {
                int n = item / split, part = item % split, t0 = part * tiles / split, t1 = (part + 1) * tiles / split;
                T* pad = (T*)Scratch.Get(2, og * l.Channel * sizeof(T));
                T* buf = (T*)Scratch.Get(3, at[phases.Length] * sizeof(T));
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    PadSample(union, l, (T*)dyp + n * outSample + (long)grp * og * g.OutPlane, pad);
                    for (int f = 0; f < phases.Length; f++)
                        if (phases[f].Sub is { } sub)
                            fixed (int* offp = offs[f])
                                Tiles(sub, l, offp, pad, (T*)wpp + start[f], null, buf + at[f], grp, t0, t1);
                }
                Spread(g, phases, buf, at, (T*)dxp + n * inSample, t0 * TileO, Math.Min(cg, t1 * TileO));
            });
        }
    }

    // dx of one sample, channels [c0, c1) of every group, from the phases' outputs in buf (phase f's [C, counts] at
    // at[f]; zeros for a phase without taps). With a W stride of 2 each dx row interleaves two phase rows (AVX2
    // unpacks); otherwise a strided copy per phase.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Spread<T>(ConvGeometry g, Phase[] phases, T* buf, long[] at, T* dx, int c0, int c1) where T : unmanaged, INumber<T>
    {
        int sd = g.Stride[0], sh = g.Stride[1], sw = g.Stride[2], inD = g.In[0], inH = g.In[1], inW = g.In[2];
        bool pairs = sw == 2 && Avx2.IsSupported && (typeof(T) == typeof(float) || typeof(T) == typeof(double));
        for (int grp = 0; grp < g.Groups; grp++)
            for (int cc = c0; cc < c1; cc++)
            {
                int c = grp * g.InPerGroup + cc;
                for (int f = 0; f < phases.Length; f++)
                {
                    var ph = phases[f];
                    int nd = ph.Count[0], nh = ph.Count[1], nw = ph.Count[2];
                    if (pairs && ph.A[2] == 1) continue; // written with its aw = 0 partner
                    // With sw = 2, the aw = 1 phase (if any) follows its aw = 0 partner.
                    Phase? odd = pairs && f + 1 < phases.Length && phases[f + 1].A[2] == 1 ? phases[f + 1] : null;
                    for (int td = 0; td < nd; td++)
                        for (int th = 0; th < nh; th++)
                        {
                            T* dst = dx + (((long)c * inD + ph.A[0] + td * sd) * inH + ph.A[1] + th * sh) * inW + ph.A[2];
                            T* src = ph.Sub == null ? null : buf + at[f] + (((long)c * nd + td) * nh + th) * nw;
                            if (!pairs)
                            {
                                for (int t = 0; t < nw; t++) dst[t * sw] = src == null ? T.Zero : src[t];
                                continue;
                            }
                            int nw1 = odd?.Count[2] ?? 0;
                            T* src1 = odd?.Sub == null ? null : buf + at[f + 1] + (((long)c * nd + td) * nh + th) * nw1;
                            int t0 = Interleave(src, src1, dst, Math.Min(nw, nw1));
                            for (int t = t0; t < nw; t++) dst[2 * t] = src == null ? T.Zero : src[t];
                            for (int t = t0; t < nw1; t++) dst[2 * t + 1] = src1 == null ? T.Zero : src1[t];
                        }
                }
            }
    }

    // dst[2t] = a[t], dst[2t + 1] = b[t] (a or b null: zeros) for whole vectors of t below n; returns where it stopped.
    private static int Interleave<T>(T* a, T* b, T* dst, int n) where T : unmanaged
    {
        int v = Vector256<T>.Count, t = 0;
        for (; t + v <= n; t += v)
        {
            if (typeof(T) == typeof(float))
            {
                var x = a == null ? Vector256<float>.Zero : Avx.LoadVector256((float*)a + t);
                var y = b == null ? Vector256<float>.Zero : Avx.LoadVector256((float*)b + t);
                // [x0 y0 x1 y1 | x4 y4 x5 y5] and [x2 y2 x3 y3 | x6 y6 x7 y7] → halves in order.
                var lo = Avx.UnpackLow(x, y); var hi = Avx.UnpackHigh(x, y);
                Avx.Store((float*)dst + 2 * t, Avx.Permute2x128(lo, hi, 0x20));
                Avx.Store((float*)dst + 2 * t + v, Avx.Permute2x128(lo, hi, 0x31));
            }
            else
            {
                var x = a == null ? Vector256<double>.Zero : Avx.LoadVector256((double*)a + t);
                var y = b == null ? Vector256<double>.Zero : Avx.LoadVector256((double*)b + t);
                var lo = Avx.UnpackLow(x, y); var hi = Avx.UnpackHigh(x, y);
                Avx.Store((double*)dst + 2 * t, Avx.Permute2x128(lo, hi, 0x20));
                Avx.Store((double*)dst + 2 * t + v, Avx.Permute2x128(lo, hi, 0x31));
            }
        }
        return t;
    }

    /// <summary>
    /// dw [O, Cg, kD, kH, kW] = Σ over samples and output positions of dy · x at each tap, overwritten; requires
    /// <see cref="AppliesBackwardWeight{T}"/>. An implicit GEMM vectorised along output channels: dy is transposed to
    /// [position][channel], and a register tile holds 2 vectors of output channels × 6 taps (12 accumulators); per output
    /// position it loads the 2 dy vectors and broadcasts the padded input at the 6 taps' offsets (12 FMAs per 8 loads,
    /// as the forward tile), so no lane sums, no im2col matrix and no lanes past a row's end. Positions are taken in
    /// runs of about KChunk (several samples of a small plane), each run's sums added to a [tap][channel] partial per
    /// core, so float32 rounding is that of a GEMM with KC = 256.
    /// </summary>
    public static void BackwardWeight<T>(ConvGeometry g, T* dy, T* x, T* dw) where T : unmanaged, INumber<T>
    {
        int v = Vector256<T>.Count, ob = 2 * v;
        int cg = g.InPerGroup, og = g.OutPerGroup, K = cg * g.KernelVolume, ogPad = (og + ob - 1) / ob * ob, kTiles = (K + TileO - 1) / TileO;
        var l = Layout.Of<T>(g);
        int P = g.OutPlane;
        long padSample = cg * l.Channel, dySample = (long)P * ogPad;
        long inSample = (long)g.InChannels * g.InPlane, outSample = (long)g.OutChannels * P, wtSize = (long)g.Groups * K * ogPad;
        // Tap offsets, the last repeated to whole tiles of 6 (computed, not stored).
        var tapOff = TapOffsets(g, l);
        var off = new int[kTiles * TileO];
        for (int k = 0; k < off.Length; k++) off[k] = tapOff[Math.Min(k, K - 1)];
        int workers = Math.Max(1, Math.Min(Environment.ProcessorCount, g.Batch)), per = (g.Batch + workers - 1) / workers;
        // Samples per pass: about KChunk positions per accumulator run, their padded inputs within ~256 KB (L2).
        int group = Math.Clamp(Math.Min(KChunk / Math.Max(1, P), (int)Math.Min(int.MaxValue, (1 << 16) / Math.Max(1, padSample))), 1, Math.Max(1, per));
        // Rows of a large plane per run, so a run covers about KChunk positions.
        int oD = g.Out(0), oH = g.Out(1), oW = g.Out(2), rows = oD * oH, rowRun = Math.Max(1, KChunk / Math.Max(1, group * oW));
        using var partial = new HostBuffer<T>(workers * wtSize);
        partial.Clear(0, workers * wtSize);
        nint xp = (nint)x, dyp = (nint)dy;
        CpuParallel.ForChunks(g.Batch, workers, (worker, begin, end) =>
        {
            T* acc = stackalloc T[2 * TileO * 8];
            T* dwt = partial.Ptr + worker * wtSize;
            fixed (int* offp = off)
                for (int n0 = begin; n0 < end; n0 += group)
                {
                    int nb = Math.Min(group, end - n0);
                    T* pad = (T*)Scratch.Get(2, nb * padSample * sizeof(T));
                    T* dyt = (T*)Scratch.Get(3, nb * dySample * sizeof(T));
                    for (int grp = 0; grp < g.Groups; grp++)
                    {
                        for (int s = 0; s < nb; s++)
                        {
                            PadSample(g, l, (T*)xp + (n0 + s) * inSample + (long)grp * cg * g.InPlane, pad + s * padSample);
                            ToPositionMajor((T*)dyp + (n0 + s) * outSample + (long)grp * og * P, dyt + s * dySample, og, P, ogPad);
                        }
                        T* dwg = dwt + (long)grp * K * ogPad;
                        for (int r0 = 0; r0 < rows; r0 += rowRun)
                        {
                            int r1 = Math.Min(rows, r0 + rowRun);
                            for (int o0 = 0; o0 < ogPad; o0 += ob)
                                for (int kt = 0; kt < kTiles; kt++)
                                {
                                    WeightTile(g, l, pad, padSample, offp + kt * TileO, dyt + o0, ogPad, dySample, nb, r0, r1, acc);
                                    // dwᵀ[k][o0 .. o0 + 2V) += the tile's sums, for the tile's real taps.
                                    for (int i = 0, k = kt * TileO; i < TileO && k < K; i++, k++)
                                    {
                                        T* q = dwg + (long)k * ogPad + o0;
                                        (Vector256.Load(q) + Vector256.Load(acc + 2 * i * v)).Store(q);
                                        (Vector256.Load(q + v) + Vector256.Load(acc + (2 * i + 1) * v)).Store(q + v);
                                    }
                                }
                        }
                    }
                }
        });
        // Σ of the cores' partials (in core order), then dwᵀ [grp][k][o] → dw [grp·og + o][k].
        // The sum lands in partial 0.
        if (workers > 1) CpuParallel.SumInOrder(partial.Ptr, workers, wtSize, partial.Ptr, wtSize);
        T* sum = partial.Ptr;
        for (int grp = 0; grp < g.Groups; grp++)
            for (int o = 0; o < og; o++)
            {
                T* row = dw + (long)(grp * og + o) * K;
                for (int k = 0; k < K; k++) row[k] = sum[((long)grp * K + k) * ogPad + o];
            }
    }

    // dy of one sample's group [og][P] → [P][ogPad] (channels past og zero).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ToPositionMajor<T>(T* src, T* dst, int og, int P, int ogPad) where T : unmanaged, INumber<T>
    {
        int p0 = 0;
        if (typeof(T) == typeof(float) && Avx.IsSupported && og % 8 == 0)
            for (; p0 + 8 <= P; p0 += 8)
                for (int o = 0; o < og; o += 8)
                    CpuGemm.Transpose8x8((float*)src + (long)o * P + p0, P, (float*)dst + (long)p0 * ogPad + o, ogPad);
        for (int p = p0; p < P; p++)
        {
            T* d = dst + (long)p * ogPad;
            for (int o = 0; o < og; o++) d[o] = src[(long)o * P + p];
        }
        if (ogPad > og)
            for (int p = 0; p < P; p++) new Span<T>(dst + (long)p * ogPad + og, ogPad - og).Clear();
    }

    // Σ over nb samples and output rows [r0, r1) (rows of all output depths, oD·oH in all) of every position's
    // dyᵀ[position][2V channels from dyt] × x at 6 taps (offsets off[0..6) into the padded sample). acc gets [tap][vector].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightTile<T>(ConvGeometry g, Layout l, T* pad, long padSample, int* off, T* dyt, int ld, long dySample, int nb,
        int r0, int r1, T* acc) where T : unmanaged, INumber<T>
    {
        int v = Vector256<T>.Count, oH = g.Out(1), oW = g.Out(2), sd = g.Stride[0];
        int f0 = off[0], f1 = off[1], f2 = off[2], f3 = off[3], f4 = off[4], f5 = off[5];
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int s = 0; s < nb; s++)
            for (int r = r0; r < r1; r++)
            {
                int od = r / oH, oh = r - od * oH;
                T* xs = pad + s * padSample + od * sd * l.Slice + (long)oh * l.Row;
                T* d = dyt + s * dySample + (long)r * oW * ld;
                for (int ow = 0; ow < oW; ow++, d += ld)
                {
                    var y0 = Vector256.Load(d);
                    var y1 = Vector256.Load(d + v);
                    var x0 = Vector256.Create(xs[f0 + ow]); c00 = CpuGemm.Fmadd(x0, y0, c00); c01 = CpuGemm.Fmadd(x0, y1, c01);
                    var x1 = Vector256.Create(xs[f1 + ow]); c10 = CpuGemm.Fmadd(x1, y0, c10); c11 = CpuGemm.Fmadd(x1, y1, c11);
                    var x2 = Vector256.Create(xs[f2 + ow]); c20 = CpuGemm.Fmadd(x2, y0, c20); c21 = CpuGemm.Fmadd(x2, y1, c21);
                    var x3 = Vector256.Create(xs[f3 + ow]); c30 = CpuGemm.Fmadd(x3, y0, c30); c31 = CpuGemm.Fmadd(x3, y1, c31);
                    var x4 = Vector256.Create(xs[f4 + ow]); c40 = CpuGemm.Fmadd(x4, y0, c40); c41 = CpuGemm.Fmadd(x4, y1, c41);
                    var x5 = Vector256.Create(xs[f5 + ow]); c50 = CpuGemm.Fmadd(x5, y0, c50); c51 = CpuGemm.Fmadd(x5, y1, c51);
                }
            }
        c00.Store(acc); c01.Store(acc + v); c10.Store(acc + 2 * v); c11.Store(acc + 3 * v);
        c20.Store(acc + 4 * v); c21.Store(acc + 5 * v); c30.Store(acc + 6 * v); c31.Store(acc + 7 * v);
        c40.Store(acc + 8 * v); c41.Store(acc + 9 * v); c50.Store(acc + 10 * v); c51.Store(acc + 11 * v);
    }

    // Tap offsets into a padded sample, in the weights' (c, kd, kh, kw) order (see Layout).
    private static int[] TapOffsets(ConvGeometry g, Layout l)
    {
        int sh = g.Stride[1], sw = g.Stride[2];
        var off = new int[g.InPerGroup * g.KernelVolume];
        for (int c = 0, k = 0; c < g.InPerGroup; c++)
            for (int kd = 0; kd < g.Kernel[0]; kd++)
                for (int kh = 0; kh < g.Kernel[1]; kh++)
                    for (int kw = 0; kw < g.Kernel[2]; kw++, k++)
                    {
                        int row = kh * g.Dilation[1], col = kw * g.Dilation[2];
                        off[k] = (int)(c * l.Channel + (long)kd * g.Dilation[0] * l.Slice + ((long)row % sh * l.RowsPerPhase + row / sh) * l.Row
                            + col % sw * l.Phase + col / sw);
                    }
        return off;
    }

    // The forward pass over packed weights [groups][tiles][K][6]: samples over cores (a batch smaller than the cores
    // splits output-channel tiles instead), each with its own padded copy of the input.
    private static void Run<T>(ConvGeometry g, T* x, T* wp, T* bias, T* y) where T : unmanaged, INumber<T>
    {
        int og = g.OutPerGroup, K = g.InPerGroup * g.KernelVolume, tiles = (og + TileO - 1) / TileO, P = g.OutPlane;
        var l = Layout.Of<T>(g);
        long inSample = (long)g.InChannels * g.InPlane, outSample = (long)g.OutChannels * P;
        var off = TapOffsets(g, l);
        nint xp = (nint)x, wpp = (nint)wp, bp = (nint)bias, yp = (nint)y;
        int oSplit = g.Batch >= Environment.ProcessorCount ? 1 : Math.Max(1, Math.Min(tiles, Environment.ProcessorCount / Math.Max(1, g.Batch)));
        CpuParallel.For(g.Batch * oSplit, (long)P * og * K / oSplit / 16, item =>
        {
            int n = item / oSplit, part = item % oSplit;
            fixed (int* offp = off)
                RunSample(g, l, offp, (T*)xp + n * inSample, (T*)wpp, (T*)bp, (T*)yp + n * outSample, part * tiles / oSplit, (part + 1) * tiles / oSplit);
        });
    }

    // One sample's forward pass, output-channel tiles [t0, t1) of every group, with this thread's padded copy of x.
    private static void RunSample<T>(ConvGeometry g, Layout l, int* off, T* x, T* wp, T* bias, T* y, int t0, int t1) where T : unmanaged, INumber<T>
    {
        T* pad = (T*)Scratch.Get(2, g.InPerGroup * l.Channel * sizeof(T));
        for (int grp = 0; grp < g.Groups; grp++)
        {
            PadSample(g, l, x + (long)grp * g.InPerGroup * g.InPlane, pad);
            Tiles(g, l, off, pad, wp, bias, y, grp, t0, t1);
        }
    }

    // Output-channel tiles [t0, t1) of group grp of one sample (y: the sample's output), from its padded input.
    private static void Tiles<T>(ConvGeometry g, Layout l, int* off, T* pad, T* wp, T* bias, T* y, int grp, int t0, int t1) where T : unmanaged, INumber<T>
    {
        int v = Vector256<T>.Count;
        int og = g.OutPerGroup, K = g.InPerGroup * g.KernelVolume, tiles = (og + TileO - 1) / TileO;
        int oD = g.Out(0), oH = g.Out(1), oW = g.Out(2), P = g.OutPlane;
        // Output vectors: (row, first column) pairs, V columns each (the last of a row may be partial).
        int perRow = (oW + v - 1) / v, segs = oD * oH * perRow;
        T* ys = y + (long)grp * og * P;
        T* spill = stackalloc T[2 * TileO * 8];
        (long P0, int N0, long P1, int N1) part;
        for (int tile = t0; tile < t1; tile++)
        {
            int o0 = tile * TileO, mo = Math.Min(TileO, og - o0);
            T* wt = wp + ((long)(grp * tiles + tile) * K) * TileO;
            T* bt = bias == null ? null : bias + grp * og + o0;
            // Taps in chunks of KChunk, each chunk's sums added to y: float32 rounding as the GEMM's KC blocks (one
            // chain over 9·1024 taps drifted past PyTorch's tolerance on wide_resnet50_2), and a chunk's input rows
            // stay in cache across the output vectors.
            for (int kc = 0; kc < K; kc += KChunk)
                for (int s0 = 0; s0 < segs; s0 += TileS)
                {
                    T* yt = ys + (long)o0 * P;
                    Tile(g, pad, off + kc, Math.Min(KChunk, K - kc), wt + (long)kc * TileO, kc == 0 ? bt : null, kc > 0,
                        yt, P, mo, s0, Math.Min(TileS, segs - s0), perRow, oH, oW, l.Slice, l.Row, spill, &part);
                    if (part.N0 < 0) continue;
                    Put(yt, part.P0, part.N0, mo, P, kc == 0 ? bt : null, kc > 0, spill);
                    Put(yt, part.P1, part.N1, mo, P, kc == 0 ? bt : null, kc > 0, spill + TileO * v);
                }
        }
    }

    // Zero-padded copy of one sample's group: [cg, D, H, W] → [cg, depth, stored rows, row] in the order of Layout, with
    // the input at (padD, padH, padW). Every stored element is written once (zeros where no input element lands).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PadSample<T>(ConvGeometry g, Layout l, T* x, T* pad) where T : unmanaged, INumber<T>
    {
        int inD = g.In[0], inH = g.In[1], inW = g.In[2], pD = g.PadBegin[0], pH = g.PadBegin[1], pW = g.PadBegin[2];
        int sh = g.Stride[1], sw = g.Stride[2], row = l.Row, hp = Padded(g, 1);
        for (int c = 0; c < g.InPerGroup; c++)
            for (int d = 0; d < l.Depth; d++)
            {
                T* plane = pad + c * l.Channel + d * l.Slice;
                int id = d - pD;
                if ((uint)id >= (uint)inD) { new Span<T>(plane, (int)l.Slice).Clear(); continue; }
                for (int t = 0; t < l.Rows; t++)
                {
                    // Stored row t holds padded row ih (H phase t / RowsPerPhase, index t mod RowsPerPhase).
                    int ih = t % l.RowsPerPhase * sh + t / l.RowsPerPhase, h = ih - pH;
                    T* dst = plane + (long)t * row;
                    if (ih >= hp || (uint)h >= (uint)inH)
                    {
                        for (int q = 0; q < sw; q++) new Span<T>(dst + q * l.Phase, row).Clear();
                        continue;
                    }
                    T* src = x + (((long)c * inD + id) * inH + h) * inW;
                    if (sw == 1)
                    {
                        for (int i = 0; i < pW; i++) dst[i] = T.Zero;
                        new ReadOnlySpan<T>(src, inW).CopyTo(new Span<T>(dst + pW, inW));
                        for (int i = pW + inW; i < row; i++) dst[i] = T.Zero;
                        continue;
                    }
                    for (int q = 0; q < sw; q++)
                    {
                        // Phase q's element j is input column q + j·sw − pW: zeros, a strided gather without branches, zeros.
                        T* o = dst + q * l.Phase;
                        int lo = Math.Min(row, Math.Max(0, (pW - q + sw - 1) / sw));
                        int hi = Math.Max(lo, Math.Min(row, (inW + pW - q + sw - 1) / sw));
                        for (int j = 0; j < lo; j++) o[j] = T.Zero;
                        T* from = src + q - pW;
                        int j0 = sw == 2 ? Deinterleave(from, o, lo, hi, inW + pW - q) : lo;
                        for (int j = j0; j < hi; j++) o[j] = from[j * sw];
                        for (int j = hi; j < row; j++) o[j] = T.Zero;
                    }
                }
            }
    }

    // o[j] = from[2j] for whole vectors of j from lo while j < hi and from[2j + 2V − 1] is below from[limit]; returns
    // where it stopped. Two loads and two shuffles per vector instead of V scalar copies (stride-2 layers pad a 4×
    // larger input than their output, and the scalar gather was a tenth of their time).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Deinterleave<T>(T* from, T* o, int lo, int hi, int limit) where T : unmanaged
    {
        int v = Vector256<T>.Count, j = lo;
        if (!Avx2.IsSupported || (typeof(T) != typeof(float) && typeof(T) != typeof(double))) return j;
        for (; j + v <= hi && 2 * (j + v) <= limit; j += v)
        {
            if (typeof(T) == typeof(float))
            {
                // [a0 a2 b0 b2 | a4 a6 b4 b6] → 64-bit pairs in order 0, 2, 1, 3.
                var e = Avx.Shuffle(Avx.LoadVector256((float*)from + 2 * j), Avx.LoadVector256((float*)from + 2 * j + v), 0b10_00_10_00);
                Avx.Store((float*)o + j, Avx2.Permute4x64(e.AsDouble(), 0b11_01_10_00).AsSingle());
            }
            else
            {
                // [a0 b0 | a2 b2] → order 0, 2, 1, 3.
                var e = Avx.Shuffle(Avx.LoadVector256((double*)from + 2 * j), Avx.LoadVector256((double*)from + 2 * j + v), 0);
                Avx.Store((double*)o + j, Avx2.Permute4x64(e, 0b11_01_10_00));
            }
        }
        return j;
    }

    // One register tile: output channels [0, mo) of the tile (rows P apart from y), output vectors s0 .. s0+ns−1.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<T>(ConvGeometry g, T* pad, int* off, int K, T* wt, T* bias, bool accumulate, T* y, long P, int mo, int s0, int ns,
        int perRow, int oH, int oW, long slice, int wpd, T* spill, (long, int, long, int)* partial) where T : unmanaged, INumber<T>
    {
        int v = Vector256<T>.Count;
        T* b0 = null, b1 = null;
        long p0 = 0, p1 = 0;
        int n0 = 0, n1 = 0;
        for (int i = 0; i < TileS; i++)
        {
            // A missing second vector of a short last tile repeats the first one (computed, not stored).
            int s = s0 + (i < ns ? i : 0), row = s / perRow, col = (s - row * perRow) * v;
            int od = row / oH, oh = row - od * oH;
            T* b = pad + od * g.Stride[0] * slice + (long)oh * wpd + col;
            long pos = (long)row * oW + col;
            int valid = i < ns ? Math.Min(v, oW - col) : 0;
            if (i == 0) { b0 = b; p0 = pos; n0 = valid; }
            else { b1 = b; p1 = pos; n1 = valid; }
        }
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < K; k++)
        {
            int o = off[k];
            var x0 = Vector256.Load(b0 + o);
            var x1 = Vector256.Load(b1 + o);
            var w0 = Vector256.Create(wt[0]); c00 = CpuGemm.Fmadd(w0, x0, c00); c01 = CpuGemm.Fmadd(w0, x1, c01);
            var w1 = Vector256.Create(wt[1]); c10 = CpuGemm.Fmadd(w1, x0, c10); c11 = CpuGemm.Fmadd(w1, x1, c11);
            var w2 = Vector256.Create(wt[2]); c20 = CpuGemm.Fmadd(w2, x0, c20); c21 = CpuGemm.Fmadd(w2, x1, c21);
            var w3 = Vector256.Create(wt[3]); c30 = CpuGemm.Fmadd(w3, x0, c30); c31 = CpuGemm.Fmadd(w3, x1, c31);
            var w4 = Vector256.Create(wt[4]); c40 = CpuGemm.Fmadd(w4, x0, c40); c41 = CpuGemm.Fmadd(w4, x1, c41);
            var w5 = Vector256.Create(wt[5]); c50 = CpuGemm.Fmadd(w5, x0, c50); c51 = CpuGemm.Fmadd(w5, x1, c51);
            wt += TileO;
        }
        if (mo == TileO && n0 == v && n1 == v && bias == null)
        {
            // Full tile: straight into y (as the GEMM micro-kernel; any call here makes the JIT spill the accumulators).
            T* q0 = y + p0, q1 = y + p1;
            if (accumulate)
            {
                c00 += Vector256.Load(q0); c10 += Vector256.Load(q0 + P); c20 += Vector256.Load(q0 + 2 * P);
                c30 += Vector256.Load(q0 + 3 * P); c40 += Vector256.Load(q0 + 4 * P); c50 += Vector256.Load(q0 + 5 * P);
                c01 += Vector256.Load(q1); c11 += Vector256.Load(q1 + P); c21 += Vector256.Load(q1 + 2 * P);
                c31 += Vector256.Load(q1 + 3 * P); c41 += Vector256.Load(q1 + 4 * P); c51 += Vector256.Load(q1 + 5 * P);
            }
            c00.Store(q0); c10.Store(q0 + P); c20.Store(q0 + 2 * P); c30.Store(q0 + 3 * P); c40.Store(q0 + 4 * P); c50.Store(q0 + 5 * P);
            c01.Store(q1); c11.Store(q1 + P); c21.Store(q1 + 2 * P); c31.Store(q1 + 3 * P); c41.Store(q1 + 4 * P); c51.Store(q1 + 5 * P);
            partial->Item2 = -1;
            return;
        }
        // Partial tile: the sums to the caller's buffer (vectors [j] then [6 + j]); it stores them (no call here, so
        // the JIT keeps the accumulators in registers in the loop even without profile data).
        T* acc1 = spill + TileO * v;
        c00.Store(spill); c10.Store(spill + v); c20.Store(spill + 2 * v); c30.Store(spill + 3 * v); c40.Store(spill + 4 * v); c50.Store(spill + 5 * v);
        c01.Store(acc1); c11.Store(acc1 + v); c21.Store(acc1 + 2 * v); c31.Store(acc1 + 3 * v); c41.Store(acc1 + 4 * v); c51.Store(acc1 + 5 * v);
        *partial = (p0, n0, p1, n1);
    }

    // Stores (or adds) one output vector of each of the tile's mo channels (buf: one vector per channel; n valid
    // lanes), adding the bias when given.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Put<T>(T* y, long pos, int n, int mo, long P, T* bias, bool accumulate, T* buf) where T : unmanaged, INumber<T>
    {
        if (n == 0) return;
        for (int j = 0; j < mo; j++)
        {
            T* p = y + pos + j * P, b = buf + j * Vector256<T>.Count;
            T add = bias != null ? bias[j] : T.Zero;
            if (n == Vector256<T>.Count)
            {
                // A whole vector of a partial channel tile (channel counts that are not multiples of 6).
                var r = Vector256.Load(b) + Vector256.Create(add);
                (accumulate ? r + Vector256.Load(p) : r).Store(p);
                continue;
            }
            for (int i = 0; i < n; i++) p[i] = (accumulate ? p[i] : T.Zero) + b[i] + add;
        }
    }
}
