using System.Numerics;
using System.Runtime.CompilerServices;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Fused in-place optimizer updates (SGD, Adam/AdamW) over contiguous arrays: one pass that loads every operand once,
/// vectorised with <see cref="Vector{T}"/> and split into chunks over the cores by <see cref="RowPlan"/>. Each step is
/// the IEEE operation of the unfused chain in the same order (multiply and add stay separate: no FMA contraction), so
/// the result equals the chain's bit for bit (see <see cref="FusedOptim"/>). The scalar tail repeats the vector body.
/// </summary>
internal static unsafe class CpuOptim
{
    private static readonly long[] s_unit = [1];

    /// <summary>SGD over n elements of p, g and (with momentum) b.</summary>
    public static void Sgd<T>(T* p, T* g, T* b, long n, FusedOptim.SgdConstants c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 0) return;
        RowPlan.Create([n], s_unit, s_unit, s_unit).Run(new SgdRow<T>((nint)p, (nint)g, (nint)b, c));
    }

    /// <summary>Adam over n elements of p, g, m, v and (AMSGrad) w.</summary>
    public static void Adam<T>(T* p, T* g, T* m, T* v, T* w, long n, FusedOptim.AdamConstants c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 0) return;
        RowPlan.Create([n], s_unit, s_unit, s_unit, s_unit, s_unit).Run(new AdamRow<T>((nint)p, (nint)g, (nint)m, (nint)v, (nint)w, c));
    }

    private readonly struct SgdRow<T>(nint p, nint g, nint b, FusedOptim.SgdConstants c) : IRowOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            T* pp = (T*)p + off[0], pg = (T*)g + off[1], pb = (T*)b + off[2];   // pb is never touched without momentum
            var f = c.Flags;
            bool wdOn = (f & SgdFlags.WeightDecay) != 0, upd = (f & SgdFlags.MomentumUpdate) != 0, damp0 = (f & SgdFlags.DampAddZero) != 0,
                init = (f & SgdFlags.MomentumInit) != 0, nest = (f & SgdFlags.Nesterov) != 0, heavy = (f & SgdFlags.Heavy) != 0,
                lr0 = (f & SgdFlags.LrAddZero) != 0, bufOut = upd || init;
            T wd = T.CreateTruncating(c.WeightDecay), mom = T.CreateTruncating(c.Momentum), damp = T.CreateTruncating(c.Damp),
                nlr = T.CreateTruncating(c.NegLr), z = T.Zero;
            long i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                Vector<T> vwd = new(wd), vmom = new(mom), vdamp = new(damp), vnlr = new(nlr), vz = Vector<T>.Zero;
                for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
                {
                    Vector<T> x = Vector.Load(pp + i), gi = Vector.Load(pg + i), d = gi, bi = default;
                    if (wdOn) d = gi + (x * vwd + vz);
                    if (init) bi = d;
                    if (upd)
                    {
                        bi = Vector.Load(pb + i) * vmom + vz;
                        var t = d * vdamp;
                        if (damp0) t += vz;
                        bi += t;
                    }
                    if (nest) d += bi * vmom + vz;
                    if (heavy) d = bi;
                    var s = d * vnlr;
                    if (lr0) s += vz;
                    Vector.Store(x + s, pp + i);
                    if (bufOut) Vector.Store(bi, pb + i);
                }
            }
            for (; i < n; i++)
            {
                T x = pp[i], gi = pg[i], d = gi, bi = z;
                if (wdOn) d = gi + (x * wd + z);
                if (init) bi = d;
                if (upd)
                {
                    bi = pb[i] * mom + z;
                    var t = d * damp;
                    if (damp0) t += z;
                    bi += t;
                }
                if (nest) d += bi * mom + z;
                if (heavy) d = bi;
                var s = d * nlr;
                if (lr0) s += z;
                pp[i] = x + s;
                if (bufOut) pb[i] = bi;
            }
        }
    }

    private readonly struct AdamRow<T>(nint p, nint g, nint m, nint v, nint w, FusedOptim.AdamConstants c) : IRowOp
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            T* pp = (T*)p + off[0], pg = (T*)g + off[1], pm = (T*)m + off[2], pv = (T*)v + off[3], pw = (T*)w + off[4];   // pw only with AMSGrad
            var f = c.Flags;
            bool dec = (f & AdamFlags.Decoupled) != 0, l2 = (f & AdamFlags.L2) != 0, ams = (f & AdamFlags.Amsgrad) != 0;
            T wd = T.CreateTruncating(c.WeightDecay), decay = T.CreateTruncating(c.Decay), b1 = T.CreateTruncating(c.Beta1),
                omb1 = T.CreateTruncating(c.OneMinusBeta1), b2 = T.CreateTruncating(c.Beta2), omb2 = T.CreateTruncating(c.OneMinusBeta2),
                ibc2 = T.CreateTruncating(c.InvBc2Sqrt), eps = T.CreateTruncating(c.Eps), nstep = T.CreateTruncating(c.NegStep), z = T.Zero;
            long i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                Vector<T> vwd = new(wd), vdecay = new(decay), vb1 = new(b1), vomb1 = new(omb1), vb2 = new(b2), vomb2 = new(omb2),
                    vibc2 = new(ibc2), veps = new(eps), vnstep = new(nstep), vz = Vector<T>.Zero;
                for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
                {
                    Vector<T> x = Vector.Load(pp + i), gi = Vector.Load(pg + i);
                    if (dec) x = x * vdecay + vz;
                    if (l2) gi += x * vwd + vz;
                    var mi = Vector.Load(pm + i) * vb1 + vz;
                    mi += gi * vomb1 + vz;
                    var vi = Vector.Load(pv + i) * vb2 + vz;
                    vi += gi * gi * vomb2 + vz;
                    var s = vi;
                    if (ams)
                    {
                        // maximum(w, v) as the Maximum kernel: NaN of w, else NaN of v, else w on ties
                        var wi = Vector.Load(pw + i);
                        s = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(wi, vi), wi, vi);
                        s = Vector.ConditionalSelect(Vector.Equals(vi, vi), s, vi);
                        s = Vector.ConditionalSelect(Vector.Equals(wi, wi), s, wi);
                        Vector.Store(s, pw + i);
                    }
                    var den = Vector.SquareRoot(s) * vibc2 + veps;
                    Vector.Store(x + (mi / den * vnstep + vz), pp + i);
                    Vector.Store(mi, pm + i);
                    Vector.Store(vi, pv + i);
                }
            }
            for (; i < n; i++)
            {
                T x = pp[i], gi = pg[i];
                if (dec) x = x * decay + z;
                if (l2) gi += x * wd + z;
                var mi = pm[i] * b1 + z;
                mi += gi * omb1 + z;
                var vi = pv[i] * b2 + z;
                vi += gi * gi * omb2 + z;
                var s = vi;
                if (ams)
                {
                    T wi = pw[i];
                    s = T.IsNaN(wi) ? wi : T.IsNaN(vi) ? vi : wi >= vi ? wi : vi;
                    pw[i] = s;
                }
                var den = T.Sqrt(s) * ibc2 + eps;
                pp[i] = x + (mi / den * nstep + z);
                pm[i] = mi;
                pv[i] = vi;
            }
        }
    }
}
