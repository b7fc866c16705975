using Engine.Kernels;
using Engine.Kernels.Gpu;
using Engine.Tests.Cnn;

namespace Engine.Tests.Gpu;

/// <summary>
/// The fused distillation PTX kernel (distillation.ptx) on each GPU device against the CPU kernel, forward and
/// backward, over batch sizes (up to 8192 on a real GPU), class counts, temperatures and alphas, long and misaligned
/// rows, extreme and all-equal logits, ignored labels, non-contiguous logits, determinism, and bad input.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class DistillationKernelTests(TestDevice dev) : DeviceTests(dev)
{
    [Test]
    public void KernelMatchesCpu()
    {
        var r = TestUtil.Rng();
        var g = TestUtil.Gen();
        foreach (int b in Dev.Pick(DistillationTests.Batches, [.. DistillationTests.Batches, 8192]))
            foreach (int c in DistillationTests.Classes)
                foreach (double t in DistillationTests.Temperatures)
                    foreach (double alpha in DistillationTests.Alphas)
                    {
                        using var scope = Tensor.NewDisposeScope();
                        var s = DistillationTests.Logits(g, b, c, DType.Float32, 3);
                        var te = DistillationTests.Logits(g, b, c, DType.Float32, 5);
                        var y = DistillationTests.RandomLabels(r, b, c, ignoreSome: b > 1);
                        Compare(s, te, y, t, alpha, $"B={b} C={c} T={t} alpha={alpha}", 5);
                    }
    }

    [Test]
    public void KernelOnLongRows()
    {
        // 5003 and 5004 columns: the largest block (512 threads, 16 warps merged), about 10 columns per thread, scalar and
        // 16-byte paths
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = TestUtil.Rng();
        foreach (int c in new[] { 5003, 5004 })
            Compare(DistillationTests.Logits(g, 2, c, DType.Float32, 4), DistillationTests.Logits(g, 2, c, DType.Float32, 4), DistillationTests.RandomLabels(r, 2, c, false), 2, 0.3, $"B=2 C={c}", 4 * 5);
    }

    [Test]
    public void MisalignedRowsTakeTheScalarPath()
    {
        // C % 4 == 0 but the logits start one element into their storage: 16-byte loads would be misaligned (the
        // emulator checks alignment), so the kernel must read element by element
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        const int b = 5, c = 16;
        var flatS = DistillationTests.Logits(g, 1, b * c + 1, DType.Float32, 3).Reshape(-1);
        var flatT = DistillationTests.Logits(g, 1, b * c + 1, DType.Float32, 3).Reshape(-1);
        var y = DistillationTests.RandomLabels(TestUtil.Rng(), b, c, true);
        var cpu = DistillationTests.LossAndGrad(x => Functional.DistillationLoss(x.Narrow(0, 1, b * c).Reshape(b, c), flatT.Narrow(0, 1, b * c).Reshape(b, c), y, 3, 0.3), flatS);
        var fs = flatS.To(Device);
        var ft = flatT.To(Device);
        var got = DistillationTests.LossAndGrad(x => Functional.DistillationLoss(x.Narrow(0, 1, b * c).Reshape(b, c), ft.Narrow(0, 1, b * c).Reshape(b, c), y.To(Device), 3, 0.3), fs);
        Assert.That(got.Loss, Is.EqualTo(cpu.Loss).Within(1e-5));
        TestUtil.AssertClose(got.Grad, cpu.Grad, 1e-6, 1e-4);
    }

    [Test]
    public void KernelOnExtremeAndEqualLogits([Values(0.5, 1, 4, 20)] double t, [Values(0, 0.3, 1)] double alpha)
    {
        using var scope = Tensor.NewDisposeScope();
        var r = TestUtil.Rng();
        const int b = 4, c = 1025;
        var sv = new float[b * c];
        var tv = new float[b * c];
        for (int i = 0; i < b * c; i++)
        {
            int row = i / c;
            sv[i] = row switch { 0 => 1e4f * (r.Next(2) * 2 - 1), 1 => 3.25f, 2 => -1e4f, _ => (float)(r.NextDouble() * 2e4 - 1e4) };
            tv[i] = row switch { 0 => -1e4f * (r.Next(2) * 2 - 1), 1 => 3.25f, 2 => 1e4f, _ => 0 };
        }
        Compare(Tensor.FromArray(sv, b, c), Tensor.FromArray(tv, b, c), DistillationTests.RandomLabels(r, b, c, false), t, alpha, $"extreme T={t} alpha={alpha}", 1e4);
    }

    private void Compare(Tensor s, Tensor te, Tensor y, double t, double alpha, string what, double scale)
    {
        long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
        var (lc, gc) = DistillationTests.LossAndGrad(x => Functional.DistillationLoss(x, te, y, t, alpha), s);
        var (le, ge) = DistillationTests.LossAndGrad(x => Functional.DistillationLoss(x, te.To(Device), y.To(Device), t, alpha), s.To(Device));
        Assert.That(Gpu.PtxLaunches, Is.GreaterThanOrEqualTo(launches + 2), what + ": the two PTX launches ran");
        Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), what + ": no CPU fallback");
        var (tl, tg) = DistillationTests.F32Tolerance(scale, t, alpha, (int)s.Size(0));
        Assert.That(le, Is.EqualTo(lc).Within(tl), what + ": loss");
        Assert.DoesNotThrow(() => TestUtil.AssertClose(ge, gc, tg, 1e-4), what + ": gradient");
    }

    [Test]
    public void KernelIsDeterministicAndSkipsTheGradientWithoutGrad()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var s = DistillationTests.Logits(g, 37, 300, DType.Float32, 3).To(Device);
        var te = DistillationTests.Logits(g, 37, 300, DType.Float32, 3).To(Device);
        var y = DistillationTests.RandomLabels(TestUtil.Rng(), 37, 300, true).To(Device);
        double a = Functional.DistillationLoss(s, te, y, 2, 0.3).Item();
        double b = Functional.DistillationLoss(s, te, y, 2, 0.3).Item();
        Assert.That(BitConverter.DoubleToInt64Bits(a), Is.EqualTo(BitConverter.DoubleToInt64Bits(b)), "same bits every run");
        using (Tensor.NoGrad())
        {
            var sg = s.Detach().RequiresGrad_();
            var loss = Functional.DistillationLoss(sg, te, y, 2, 0.3);
            Assert.That(loss.RequiresGrad, Is.False);
            Assert.That(loss.Item(), Is.EqualTo(a).Within(1e-6 * (1 + Math.Abs(a))));
        }
    }

    [Test]
    public void TeacherGetsNoGradientAndUpstreamGradientScales()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        foreach (var d in new[] { Device.Cpu, Device })
        {
            var s = DistillationTests.Logits(g, 3, 7, DType.Float32, 2).To(d).RequiresGrad_();
            var te = DistillationTests.Logits(g, 3, 7, DType.Float32, 2).To(d).RequiresGrad_();
            var y = Tensor.FromArray(new long[] { 1, 6, 0 }).To(d);
            Functional.DistillationLoss(s, te, y, 3, 0.5).Mul(2.5).Backward();
            var expected = DistillationTests.LossAndGrad(x => DistillationTests.Composed(x, te.To(Device.Cpu).To(DType.Float64), y.To(Device.Cpu), 3, 0.5).Mul(2.5), s.To(Device.Cpu).To(DType.Float64)).Grad;
            TestUtil.AssertClose(s.Grad!.To(Device.Cpu).To(DType.Float64), expected, 2e-6, 1e-4);
            Assert.That(te.Grad, Is.Null, $"{d}: the teacher gets no gradient");
        }
    }

    [Test]
    public void BadInputRaisesBeforeAnyLaunch()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var s = DistillationTests.Logits(g, 3, 5, DType.Float32, 1).To(Device);
        var te = DistillationTests.Logits(g, 3, 5, DType.Float32, 1).To(Device);
        var te64 = te.To(DType.Float64);
        long launches = Gpu.PtxLaunches;
        var outOfRange = Tensor.FromArray(new long[] { 0, 5, 1 }).To(Device);
        var ex = Assert.Throws<IndexException>(() => Functional.DistillationLoss(s, te, outOfRange, 2, 0.5));
        Assert.That(ex!.Message, Does.Contain("distillation_loss").And.Contain("5"));
        var negative = Tensor.FromArray(new long[] { 0, -1, 1 }).To(Device);
        Assert.Throws<IndexException>(() => Functional.DistillationLoss(s, te, negative, 2, 0.5));
        var y = Tensor.FromArray(new long[] { 0, 4, 1 }).To(Device);
        foreach (double t in new[] { 0.0, -1, double.NaN, double.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentValueException>(() => Functional.DistillationLoss(s, te, y, t, 0.5));
            Assert.That(e!.Message, Does.Contain("temperature"));
        }
        Assert.Throws<ArgumentValueException>(() => Functional.DistillationLoss(s, te, y, 2, 1.5));
        Assert.Throws<DTypeException>(() => Functional.DistillationLoss(s, te64, y, 2, 0.5));
        Assert.Throws<ShapeException>(() => Functional.DistillationLoss(s, te.Narrow(1, 0, 4), y, 2, 0.5));
        Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches), "nothing launched");
    }

    [Test]
    public void NonContiguousLogitsAreMadeContiguous()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var sBase = DistillationTests.Logits(g, 9, 4, DType.Float32, 2);
        var tBase = DistillationTests.Logits(g, 9, 4, DType.Float32, 2);
        var y = Tensor.FromArray(new long[] { 0, 3, 8, 2 });
        var expected = DistillationTests.LossAndGrad(x => DistillationTests.Composed(x, tBase.To(DType.Float64).T, y, 1.5, 0.3), sBase.To(DType.Float64).T);
        var got = DistillationTests.LossAndGrad(x => Functional.DistillationLoss(x.T, tBase.To(Device).T, y.To(Device), 1.5, 0.3), sBase.To(Device));
        Assert.That(got.Loss, Is.EqualTo(expected.Loss).Within(1e-5));
        TestUtil.AssertClose(got.Grad, expected.Grad.T, 1e-6, 1e-4);
    }
}
