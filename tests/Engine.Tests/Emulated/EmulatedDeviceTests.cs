using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Tests.Emulated;

/// <summary>
/// Tensors on <see cref="Device.Emulated"/>: creation, transfers, device checks, autograd and deterministic release
/// of the emulated device memory.
/// </summary>
[NonParallelizable]
public class EmulatedDeviceTests
{
    private static readonly Device Emu = Device.Emulated;
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Emu);

    [Test]
    public void TheEmulatedDeviceHasTheGpuBackendOverTheSharedRuntime()
    {
        Assert.That(Backends.For(Emu), Is.InstanceOf<GpuBackend>());
        Assert.That(Gpu.Runtime, Is.SameAs(EmulatedRuntime.Shared));
        Assert.That(Gpu.Device, Is.EqualTo(Emu));
        using var t = Tensor.Zeros([3, 4], DType.Float32, Emu);
        Assert.That(t.Device, Is.EqualTo(Emu));
        Assert.That(t.View("t").Storage, Is.InstanceOf<MappedGpuStorage>());
        Assert.That(t.ToArray<float>(), Is.All.EqualTo(0f));
        Assert.That(t.ToString(), Does.Contain("device='emulated'"));
    }

    [Test]
    public void RoundTripsThroughTheDevice([Values(DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool)] DType dtype)
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var c = Tensor.RandInt(0, 2, [7, 13], DType.Int64, g).To(dtype);
        var e = c.To(Emu);
        Assert.That(e.Device, Is.EqualTo(Emu));
        var back = e.To(Device.Cpu);
        Assert.That(back.Device, Is.EqualTo(Device.Cpu));
        Assert.That(back.ToDoubleArray(), Is.EqualTo(c.ToDoubleArray()));
        // a non-contiguous view goes through a device-side copy first
        Assert.That(e.Transpose(0, 1).To(Device.Cpu).ToDoubleArray(), Is.EqualTo(c.Transpose(0, 1).ToDoubleArray()));
    }

    [Test]
    public void ArraysRoundTripBitForBit()
    {
        using var scope = Tensor.NewDisposeScope();
        float[] f = [1.5f, -0f, float.NaN, float.PositiveInfinity, 1e-42f, -3.25e38f];
        var e = Tensor.FromArray(f).To(Emu);
        Assert.That(e.ToArray<float>().Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(f.Select(BitConverter.SingleToUInt32Bits)));
        long[] l = [long.MinValue, -1, 0, long.MaxValue];
        Assert.That(Tensor.FromArray(l).To(Emu).ToArray<long>(), Is.EqualTo(l));
    }

    [Test]
    public void RandomTensorsOnTheDeviceMatchTheCpuForTheSameSeed()
    {
        using var scope = Tensor.NewDisposeScope();
        var e = Tensor.Randn([33, 5], DType.Float32, new Generator(7), device: Emu);
        var c = Tensor.Randn([33, 5], DType.Float32, new Generator(7));
        Assert.That(e.Device, Is.EqualTo(Emu));
        Assert.That(e.ToArray<float>(), Is.EqualTo(c.ToArray<float>()));
    }

    [Test]
    public void MixingDevicesRaisesDeviceException()
    {
        using var scope = Tensor.NewDisposeScope();
        var e = Tensor.Ones([3], DType.Float32, Emu);
        var c = Tensor.Ones([3], DType.Float32);
        Assert.Throws<DeviceException>(() => _ = e + c);
        Assert.Throws<DeviceException>(() => _ = c.Mul(e));
        Assert.Throws<DeviceException>(() => e.CopyFrom(c));
        Assert.Throws<DeviceException>(() => Tensor.Where(c.Gt(0), e, e));
    }

    [Test]
    public void AKernelRejectsMemoryOfAnotherDevice()
    {
        using var scope = Tensor.NewDisposeScope();
        var e = Tensor.Ones([3], DType.Float32, Emu);
        var c = Tensor.Ones([3], DType.Float32);
        Assert.Throws<DeviceException>(() => Gpu.Binary(BinaryOp.Add, e.View("t"), e.View("t"), c.View("t"), 0, 0));
    }

    [Test]
    public void OpsThroughTheTensorApiMatchTheCpu()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var cx = Tensor.Randn([6, 1, 9], DType.Float32, g);
        var cy = Tensor.Randn([5, 9], DType.Float32, g);
        var (ex, ey) = (cx.To(Emu), cy.To(Emu));
        long launches = Gpu.PtxLaunches;
        var ez = ((ex * ey + 1).Relu() - ey.Sigmoid()).Maximum(ex.Tanh());
        var cz = ((cx * cy + 1).Relu() - cy.Sigmoid()).Maximum(cx.Tanh());
        Assert.That(ez.Device, Is.EqualTo(Emu));
        Assert.That(Gpu.PtxLaunches, Is.GreaterThan(launches));
        TestUtil.AssertClose(ez, cz, 1e-6, 1e-5);
        // reductions, matmul and softmax fall back to the CPU kernels on the device memory
        TestUtil.AssertClose(ez.Sum(1), cz.Sum(1), 1e-5, 1e-5);
        TestUtil.AssertClose(ez.Softmax(dim: 2), cz.Softmax(dim: 2), 1e-6, 1e-5);
        var ew = Tensor.Randn([9, 4], DType.Float32, new Generator(3)).To(Emu);
        var cw = Tensor.Randn([9, 4], DType.Float32, new Generator(3));
        TestUtil.AssertClose(ez.MatMul(ew), cz.MatMul(cw), 1e-5, 1e-5);
    }

    [Test]
    public void GradientsMatchTheCpu()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var cx = Tensor.Randn([4, 7], DType.Float64, g).RequiresGrad_();
        var cy = Tensor.Randn([7], DType.Float64, g).RequiresGrad_();
        Tensor ex, ey;
        using (Tensor.NoGrad())
        {
            ex = cx.To(Emu).RequiresGrad_();
            ey = cy.To(Emu).RequiresGrad_();
        }
        Tensor F(Tensor x, Tensor y) => (x * y).Relu().Sum() + (x.Sigmoid() * y.Tanh() + x.Exp() / (y.Square() + 1)).Sum();
        var cl = F(cx, cy);
        var el = F(ex, ey);
        Assert.That(el.Device, Is.EqualTo(Emu));
        cl.Backward();
        el.Backward();
        TestUtil.AssertClose(el, cl, 1e-12, 1e-12);
        Assert.That(ex.Grad!.Device, Is.EqualTo(Emu));
        TestUtil.AssertClose(ex.Grad!, cx.Grad!, 1e-12, 1e-12);
        TestUtil.AssertClose(ey.Grad!, cy.Grad!, 1e-12, 1e-12);
    }

    [Test]
    public void GradCheckPassesOnTheDevice()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var x = Tensor.Randn([3, 4], DType.Float64, g).To(Emu).RequiresGrad_();
        var y = Tensor.Randn([4], DType.Float64, g).To(Emu).RequiresGrad_();
        TestUtil.GradCheck(t => (t[0] * t[1]).Relu().Sum() + t[0].Tanh().Mul(t[1]).Sum(), x, y);
    }

    [Test]
    public void GradientsFlowAcrossDevices()
    {
        using var scope = Tensor.NewDisposeScope();
        var c = Tensor.FromArray(new[] { 1.0, -2.0, 3.0 }).RequiresGrad_();
        var loss = c.To(Emu).Square().Sum();
        loss.Backward();
        Assert.That(c.Grad!.Device, Is.EqualTo(Device.Cpu));
        Assert.That(c.Grad!.ToArray<double>(), Is.EqualTo(new[] { 2.0, -4.0, 6.0 }));
    }

    [Test]
    public void DeviceMemoryIsReleasedDeterministically()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var mem = ((GpuBackend)Backends.For(Emu)).Memory;
        long before = mem.Stats.Allocated, beforeBlocks = mem.Stats.ActiveBlocks;
        var g = new Generator(1);
        for (int step = 0; step < 30; step++)
        {
            using var scope = Tensor.NewDisposeScope();
            var x = Tensor.Randn([16, 8], DType.Float32, g, Emu).RequiresGrad_();
            var y = (x * 2 + 1).Relu().Sigmoid().Sum();
            y.Backward();
            Assert.That(mem.Stats.Allocated, Is.GreaterThan(before));
        }
        Assert.That(mem.Stats.Allocated, Is.EqualTo(before), "allocated bytes after the loop");
        Assert.That(mem.Stats.ActiveBlocks, Is.EqualTo(beforeBlocks), "live blocks after the loop");
        var t = Tensor.Zeros([250], DType.Float32, Emu);
        Assert.That(mem.Stats.Allocated - before, Is.EqualTo(1024), "1000 bytes rounded to the 512-byte bin");
        t.Dispose();
        Assert.That(mem.Stats.Allocated, Is.EqualTo(before));
        // the cache goes back to the device on request
        long live = EmulatedRuntime.Shared.LiveBytes;
        mem.EmptyCache();
        Assert.That(EmulatedRuntime.Shared.LiveBytes, Is.LessThan(live));
        Assert.That(mem.Stats.Reserved, Is.EqualTo(mem.Stats.Allocated), "nothing left in the cache");
    }

    [Test]
    public void KernelsAreGeneratedForTheEmulatorsPtxSubset()
    {
        string text = PtxGen.Elementwise("k", 3, [ElemType.F32, ElemType.F64], [], (wr, v, _) => PtxGen.Convert(wr, ElemType.F64, ElemType.F32, false, v[0]), "test");
        Assert.That(text, Does.Contain(".version 7.0").And.Contain(".target sm_80").And.Contain(".address_size 64"));
        Assert.That(Engine.Kernels.Ptx.PtxModule.Load(text).KernelNames, Is.EqualTo(new[] { "k" }));
    }
}
