using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// The fused knowledge-distillation loss and its student gradient (see <see cref="Engine.Kernels.Fused.FusedOps.Distillation"/>), row by row
/// in float64: three max-shifted log-sum-exps (s/T, t/T, s), then one pass for the KL sum and the gradient.
/// </summary>
public static unsafe class CpuDistillation
{
    /// <summary>Runs the fused loss over contiguous [B, C] logits and int64 labels [B].</summary>
    public static void Run<T>(in StridedView loss, in StridedView rowLoss, StridedView? dStudent, in StridedView student, in StridedView teacher,
        in StridedView labels, double temperature, double klScale, double ceScale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = (int)student.Shape[0], c = (int)student.Shape[1];
        nint ps = (nint)student.Ptr<T>(), pt = (nint)teacher.Ptr<T>(), pr = (nint)rowLoss.Ptr<T>();
        nint pd = dStudent is { } dv ? (nint)dv.Ptr<T>() : 0;
        long* py = labels.Ptr<long>();
        var rowValues = new double[b];
        long[] y = new long[b];
        for (int r = 0; r < b; r++) y[r] = py[r];
        double invT = 1 / temperature, klGrad = klScale / temperature;
        void Row(int r)
        {
            T* s = (T*)ps + (long)r * c, t = (T*)pt + (long)r * c;
            T* d = pd == 0 ? null : (T*)pd + (long)r * c;
            double ms = double.NegativeInfinity, mt = double.NegativeInfinity;
            for (int i = 0; i < c; i++) { ms = Math.Max(ms, double.CreateTruncating(s[i])); mt = Math.Max(mt, double.CreateTruncating(t[i])); }
            // log-sum-exp of s/T, t/T and s, shifted by the row maxima (max(s/T) = max(s)/T for T > 0)
            double ss = 0, sa = 0, sb = 0;
            for (int i = 0; i < c; i++)
            {
                double ds = double.CreateTruncating(s[i]) - ms;
                ss += Math.Exp(ds);
                sa += Math.Exp(ds * invT);
                sb += Math.Exp((double.CreateTruncating(t[i]) - mt) * invT);
            }
            double lseA = ms * invT + Math.Log(sa), lseB = mt * invT + Math.Log(sb), lseS = ms + Math.Log(ss);
            bool ce = ceScale != 0 && y[r] >= 0 && y[r] < c;
            double kl = 0;
            for (int i = 0; i < c; i++)
            {
                double si = double.CreateTruncating(s[i]);
                double logq = si * invT - lseA, logp = double.CreateTruncating(t[i]) * invT - lseB;
                double p = Math.Exp(logp), q = Math.Exp(logq);
                kl += p * (logp - logq);
                if (d != null)
                {
                    double gi = klGrad * (q - p);
                    if (ce) gi += ceScale * (Math.Exp(si - lseS) - (i == y[r] ? 1 : 0));
                    d[i] = T.CreateTruncating(gi);
                }
            }
            double v = klScale * kl;
            if (ce) v += ceScale * (lseS - double.CreateTruncating(s[y[r]]));
            rowValues[r] = v;
            ((T*)pr)[r] = T.CreateTruncating(v);
        }
        if ((long)b * c >= 1 << 15 && b > 1) Parallel.For(0, b, Row);
        else for (int r = 0; r < b; r++) Row(r);
        double sum = 0;
        foreach (var v in rowValues) sum += v;   // in row order: the same result however the rows were scheduled
        loss.Ptr<T>()[0] = T.CreateTruncating(sum);
    }
}
