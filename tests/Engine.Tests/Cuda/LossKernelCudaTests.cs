using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;
using Engine.Tests.Emulated;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The KL divergence and fused distillation PTX kernels on a real GPU (<see cref="Device.Cuda"/>) against the CPU kernels,
/// forward and backward: the twins of <see cref="KlDivKernelTests"/> and <see cref="DistillationKernelTests"/>. Ignored
/// when <see cref="CudaProbe.IsAvailable"/> is false.
/// </summary>
[NonParallelizable]
public class LossKernelCudaTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);

    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    // Value and gradients on `device`, the upstream gradient given explicitly (no reduction kernel needed on the GPU).
    private static (Tensor Value, Tensor DInput, Tensor? DTarget) KlEval(Device device, Tensor input, Tensor target, Reduction reduction, bool logTarget, Tensor upstream)
    {
        var x = input.To(device).RequiresGrad_();
        var t = target.To(device).RequiresGrad_();
        var v = Functional.KlDiv(x, t, reduction, logTarget);
        v.Backward(reduction == Reduction.None ? upstream.To(device) : null);
        return (v.To(Device.Cpu), x.Grad!.To(Device.Cpu), t.Grad?.To(Device.Cpu));
    }

    [Test, Category("Cuda")]
    public void KlDivMatchesCpu([Values] Reduction reduction, [Values] bool logTarget)
    {
        RequireGpu();
        var g = TestUtil.Gen();
        foreach (var (inShape, tShape) in KlDivKernelTests.Shapes)
        {
            using var scope = Tensor.NewDisposeScope();
            var (x, t) = KlDivKernelTests.Operands(g, inShape, tShape, logTarget, DType.Float32);
            var shape = Checks.Broadcast("test", x.ShapeSpan, t.ShapeSpan);
            var up = Tensor.Rand(shape, DType.Float32, g);
            long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
            var dev = KlEval(Gpu0, x, t, reduction, logTarget, up);
            Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
            Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks));
            var cpu = KlEval(Device.Cpu, x, t, reduction, logTarget, up);
            TestUtil.AssertClose(dev.Value, cpu.Value, 1e-6, 1e-4);
            TestUtil.AssertClose(dev.DInput, cpu.DInput, 1e-6, 1e-4);
            TestUtil.AssertClose(dev.DTarget!, cpu.DTarget!, 1e-6, 1e-4);
        }
    }

    [Test, Category("Cuda")]
    public void DistillationMatchesCpu()
    {
        RequireGpu();
        var r = DistillationKernelTests.Rng();
        var g = TestUtil.Gen();
        foreach (int b in DistillationKernelTests.Batches.Append(8192))
            foreach (int c in DistillationKernelTests.Classes)
                foreach (double t in DistillationKernelTests.Temperatures)
                    foreach (double alpha in DistillationKernelTests.Alphas)
                    {
                        using var scope = Tensor.NewDisposeScope();
                        var s = DistillationKernelTests.Logits(g, b, c, DType.Float32, 3);
                        var te = DistillationKernelTests.Logits(g, b, c, DType.Float32, 5);
                        var y = DistillationKernelTests.RandomLabels(r, b, c, ignoreSome: b > 1);
                        var (lc, gc) = DistillationKernelTests.LossAndGrad(x => Functional.DistillationLoss(x, te, y, t, alpha), s);
                        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
                        var (ld, gd) = DistillationKernelTests.LossAndGrad(x => Functional.DistillationLoss(x, te.To(Gpu0), y.To(Gpu0), t, alpha), s.To(Gpu0));
                        Assert.That(Gpu.PtxLaunches, Is.GreaterThanOrEqualTo(launches + 2));
                        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks));
                        var (tl, tg) = DistillationKernelTests.F32Tolerance(5, t, alpha, b);
                        string what = $"B={b} C={c} T={t} alpha={alpha}";
                        Assert.That(ld, Is.EqualTo(lc).Within(tl), what);
                        TestUtil.AssertClose(gd, gc, tg, 1e-4);
                    }
    }

    [Test, Category("Cuda")]
    public void DistillationOnExtremeLogitsMatchesCpu([Values(0.5, 1, 4, 20)] double t)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var r = DistillationKernelTests.Rng();
        const int b = 3, c = 1000;
        var sv = new float[b * c];
        var tv = new float[b * c];
        for (int i = 0; i < b * c; i++)
        {
            sv[i] = i / c == 1 ? 2f : 1e4f * (r.Next(2) * 2 - 1);
            tv[i] = i / c == 1 ? 2f : -1e4f * (r.Next(2) * 2 - 1);
        }
        var s = Tensor.FromArray(sv, b, c);
        var te = Tensor.FromArray(tv, b, c);
        var y = DistillationKernelTests.RandomLabels(r, b, c, false);
        var (lc, gc) = DistillationKernelTests.LossAndGrad(x => Functional.DistillationLoss(x, te, y, t, 0.3), s);
        var (ld, gd) = DistillationKernelTests.LossAndGrad(x => Functional.DistillationLoss(x, te.To(Gpu0), y.To(Gpu0), t, 0.3), s.To(Gpu0));
        var (tl, tg) = DistillationKernelTests.F32Tolerance(1e4, t, 0.3, b);
        Assert.That(ld, Is.EqualTo(lc).Within(tl));
        TestUtil.AssertClose(gd, gc, tg, 1e-4);
    }
}
