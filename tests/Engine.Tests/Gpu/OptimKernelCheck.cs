using Engine.Kernels.Fused;
using Engine.Kernels;
using Engine.Kernels.Gpu;
using Engine.Tests.Nn;

namespace Engine.Tests.Gpu;

/// <summary>
/// Runs the fused optimizer kernels of a GPU backend (the emulator's or a real GPU's) against the CPU backend's over a
/// few steps, for every option combination, and checks parameters and state bit for bit after each step and that
/// every update was exactly one PTX launch (none fell back to the CPU). Used by <see cref="OptimKernelTests"/> on each GPU device.
/// </summary>
public static class OptimKernelCheck
{
    /// <summary>Where the operands start in their allocations, in elements: 16-byte aligned or not (the vector or the scalar loop).</summary>
    public enum Placement
    {
        /// <summary>Every operand at the start of its allocation (aligned: the vector loop).</summary>
        Aligned,
        /// <summary>Every operand one element in (misaligned: the scalar loop).</summary>
        AllOffByOne,
        /// <summary>Every operand two elements in (float64: aligned again; float32: 8 bytes in, misaligned).</summary>
        AllOffByTwo,
        /// <summary>Only the gradient one element in.</summary>
        GradOffByOne,
    }

    private const int Steps = 3;

    private static readonly (double Mom, double Damp, bool Nest)[] SgdMomenta =
        [(0, 0, false), (0.9, 0, false), (0.9, 0, true), (0.5, 0.25, false), (0.9, 1, false), (0.9, 2, false)];

    private static readonly (double Lr, double B1, double B2, double Eps)[] AdamHypers = [(1e-3, 0.9, 0.999, 1e-8), (0.1, 0.5, 0.8, 0.1)];

    /// <summary>SGD: every momentum/dampening/Nesterov variant, with and without weight decay, lr 0.05 and 1.</summary>
    public static void Sgd(Device dev, DType dt, long n, Placement place, Random r)
    {
        using var scope = Tensor.NewDisposeScope();
        var cpu = Backends.For(Device.Cpu);
        var gpu = (GpuBackend)Backends.For(dev);
        foreach (var (mom, damp, nest) in SgdMomenta)
            foreach (var wd in new[] { 0.0, 0.01 })
                foreach (var lr in new[] { 0.05, 1.0 })
                {
                    var p0 = FusedOptimizerTests.Values(r, n, special: true);
                    var (pc, pd) = Pair(p0, dt, dev, Offset(place, dt, grad: false));
                    var (bc, bd) = Pair([.. Enumerable.Repeat(double.NaN, (int)n)], dt, dev, Offset(place, dt, grad: false));   // the first step must not read it
                    for (int t = 0; t < Steps; t++)
                    {
                        var (gc, gd) = Pair(FusedOptimizerTests.Values(r, n, special: true), dt, dev, Offset(place, dt, grad: true));
                        bool first = t == 0;
                        FusedOps.Sgd.Run(cpu, new(pc.View("t"), gc.View("t"), mom != 0 ? bc.View("t") : null, lr, mom, damp, wd, nest, first));
                        OneLaunch(gpu, n, () => FusedOps.Sgd.Run(gpu, new(pd.View("t"), gd.View("t"), mom != 0 ? bd.View("t") : null, lr, mom, damp, wd, nest, first)));
                        string what = $"{dev} {dt.Name()} n={n} {place} step {t + 1} momentum={mom} dampening={damp} nesterov={nest} wd={wd} lr={lr}";
                        FusedOptimizerTests.AssertSameBits(pd, pc, what + ": param");
                        if (mom != 0) FusedOptimizerTests.AssertSameBits(bd, bc, what + ": momentum buffer");
                    }
                }
    }

    /// <summary>Adam and AdamW, with and without weight decay and AMSGrad, two sets of lr/betas/eps.</summary>
    public static void Adam(Device dev, DType dt, long n, Placement place, Random r)
    {
        using var scope = Tensor.NewDisposeScope();
        var cpu = Backends.For(Device.Cpu);
        var gpu = (GpuBackend)Backends.For(dev);
        foreach (var (lr, b1, b2, eps) in AdamHypers)
            foreach (var wd in new[] { 0.0, 0.05 })
                foreach (var ams in new[] { false, true })
                    foreach (var decoupled in new[] { false, true })
                    {
                        long off = Offset(place, dt, grad: false);
                        var (pc, pd) = Pair(FusedOptimizerTests.Values(r, n, special: true), dt, dev, off);
                        var (mc, md) = Pair(FusedOptimizerTests.Values(r, n, special: false), dt, dev, off);
                        var (vc, vd) = Pair(Abs(FusedOptimizerTests.Values(r, n, special: false)), dt, dev, off);
                        var (wc, wdv) = Pair(Abs(FusedOptimizerTests.Values(r, n, special: false)), dt, dev, off);
                        for (int t = 1; t <= Steps; t++)
                        {
                            var (gc, gd) = Pair(FusedOptimizerTests.Values(r, n, special: true), dt, dev, Offset(place, dt, grad: true));
                            double bc1 = 1 - Math.Pow(b1, t), bc2 = 1 - Math.Pow(b2, t);
                            FusedOps.Adam.Run(cpu, new(pc.View("t"), gc.View("t"), mc.View("t"), vc.View("t"), ams ? wc.View("t") : null, lr, b1, b2, eps, wd, decoupled, bc1, bc2));
                            OneLaunch(gpu, n, () => gpu.AdamUpdate(pd.View("t"), gd.View("t"), md.View("t"), vd.View("t"), ams ? wdv.View("t") : null,
                                lr, b1, b2, eps, wd, decoupled, bc1, bc2));
                            string what = $"{dev} {dt.Name()} n={n} {place} step {t} lr={lr} betas=({b1},{b2}) eps={eps} wd={wd} amsgrad={ams} decoupled={decoupled}";
                            FusedOptimizerTests.AssertSameBits(pd, pc, what + ": param");
                            FusedOptimizerTests.AssertSameBits(md, mc, what + ": exp_avg");
                            FusedOptimizerTests.AssertSameBits(vd, vc, what + ": exp_avg_sq");
                            FusedOptimizerTests.AssertSameBits(wdv, wc, what + ": max_exp_avg_sq");
                        }
                    }
    }

    private static long Offset(Placement place, DType dt, bool grad) => place switch
    {
        Placement.AllOffByOne => 1,
        Placement.AllOffByTwo => 2,
        Placement.GradOffByOne => grad ? 1 : 0,
        _ => 0,
    };

    private static double[] Abs(double[] v) => [.. v.Select(Math.Abs)];

    /// <summary>The same values on the CPU and on <paramref name="dev"/>, there <paramref name="offset"/> elements into a larger allocation.</summary>
    private static (Tensor Cpu, Tensor Dev) Pair(double[] values, DType dt, Device dev, long offset)
    {
        var c = Tensor.FromArray(values).To(dt);
        var padded = new double[values.Length + offset];
        values.CopyTo(padded, offset);
        var d = Tensor.FromArray(padded).To(dt).To(dev).Narrow(0, offset, values.Length);
        Assert.That(d.IsContiguous, Is.True);
        return (c, d);
    }

    private static void OneLaunch(GpuBackend gpu, long n, Action update)
    {
        long launches = gpu.PtxLaunches, fallbacks = gpu.CpuFallbacks;
        update();
        Assert.That(gpu.PtxLaunches - launches, Is.EqualTo(n == 0 ? 0 : 1), "one PTX launch per update");
        Assert.That(gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no CPU fallback");
    }
}
