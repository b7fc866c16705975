using Engine.Kernels.Fused;
using Engine.Kernels;
using Engine.Kernels.Gpu;
using Engine.Nn;

namespace Engine.Tests.Gpu;

/// <summary>
/// The fused optimizer kernels (Kernels/optim.ptx: sgd_f32/f64, adam_f32/f64) on each GPU device against the CPU
/// backend's fused kernels, bit for bit: ragged sizes (n % 4 ≠ 0, tiny, empty), aligned operands (the float4/double2
/// vector loop plus the scalar tail) and misaligned ones (the scalar loop), more elements than one grid has threads
/// (a million on a real GPU), a few steps each; every update is one PTX launch.
/// </summary>
[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]
public class OptimKernelTests(TestDevice dev) : DeviceTests(dev)
{
    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
            foreach (long n in new long[] { 0, 1, 2, 3, 5, 8, 37, 1021 })
                foreach (var place in Enum.GetValues<OptimKernelCheck.Placement>())
                    yield return new TestCaseData(dt, n, place).SetArgDisplayNames(dt.Name(), $"n={n}", place.ToString());
    }

    [TestCaseSource(nameof(Cases))]
    public void SgdMatchesCpu(DType dt, long n, OptimKernelCheck.Placement place) => OptimKernelCheck.Sgd(Device, dt, n, place, TestUtil.Rng());

    [TestCaseSource(nameof(Cases))]
    public void AdamMatchesCpu(DType dt, long n, OptimKernelCheck.Placement place) => OptimKernelCheck.Adam(Device, dt, n, place, TestUtil.Rng());

    /// <summary>
    /// Two blocks of 256 threads for 5,003 elements on the emulator, a full grid for a million on a GPU: every thread
    /// goes round the grid-stride loops several times.
    /// </summary>
    [Test]
    public void MoreElementsThanTheGridHasThreads([Values(DType.Float32, DType.Float64)] DType dt,
        [Values(OptimKernelCheck.Placement.Aligned, OptimKernelCheck.Placement.AllOffByOne)] OptimKernelCheck.Placement place)
    {
        long n = Dev.Pick(5003, (1 << 20) + 3);
        TestUtil.With(() => Gpu.MaxBlocks, b => Gpu.MaxBlocks = b, Dev.Pick(2, Gpu.MaxBlocks), () =>
        {
            OptimKernelCheck.Sgd(Device, dt, n, place, TestUtil.Rng());
            OptimKernelCheck.Adam(Device, dt, n, place, TestUtil.Rng());
        });
    }

    /// <summary>An optimizer step on contiguous parameters is one launch per parameter (the chain it replaces is 8 to 14).</summary>
    [Test]
    public void AnOptimizerStepIsOneLaunchPerParameter()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        Tensor[] Make() => [.. new long[][] { [7, 5], [13], [2, 2, 3] }.Select(s => Tensor.Randn(s, DType.Float32, g).To(Device).RequiresGrad_())];
        foreach (var (name, make) in new (string, Func<Tensor[], Optimizer>)[]
        {
            ("SGD", ps => new SGD(ps, 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true)),
            ("Adam", ps => new Adam(ps, 1e-3, weightDecay: 1e-4, amsgrad: true)),
            ("AdamW", ps => new AdamW(ps, 1e-3)),
        })
        {
            var ps = Make();
            using var opt = make(ps);
            foreach (var p in ps) p.Grad = Tensor.Randn(p.Shape, DType.Float32, g).To(Device);
            opt.Step();   // creates the state (zero fills are launches too)
            long launches = Gpu.PtxLaunches, fallbacks = Gpu.CpuFallbacks;
            opt.Step();
            Assert.That(Gpu.PtxLaunches - launches, Is.EqualTo(ps.Length), $"{name}: fused step");
            Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), $"{name}: no CPU fallback");
            opt.FusedUpdates = false;
            launches = Gpu.PtxLaunches;
            opt.Step();
            Assert.That(Gpu.PtxLaunches - launches, Is.GreaterThanOrEqualTo(8 * ps.Length), $"{name}: the unfused chain");
        }
    }

    [Test]
    public void BadOperandsAreTypedErrorsBeforeAnyLaunch()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        foreach (var backend in new IBackend[] { Gpu, Backends.For(Device.Cpu) })
        {
            var dev = backend.Device;
            var p = Tensor.Randn([4, 6], DType.Float32, g).To(dev);
            var q = Tensor.Randn([4, 6], DType.Float32, g).To(dev);
            var other = Tensor.Randn([5, 6], DType.Float32, g).To(dev);
            var f64 = Tensor.Randn([4, 6], DType.Float64, g).To(dev);
            var ints = Tensor.Zeros([4, 6], DType.Int32, dev);
            var strided = Tensor.Randn([6, 4], DType.Float32, g).To(dev).Permute(1, 0);
            long launches = Gpu.PtxLaunches;
            Assert.Multiple(() =>
            {
                Assert.Throws<ShapeException>(() => FusedOps.Sgd.Run(backend, new(p.View("t"), other.View("t"), null, 0.1, 0, 0, 0, false, false)), "shape");
                Assert.Throws<DTypeException>(() => FusedOps.Sgd.Run(backend, new(p.View("t"), f64.View("t"), null, 0.1, 0, 0, 0, false, false)), "dtype");
                Assert.Throws<DTypeException>(() => FusedOps.Sgd.Run(backend, new(ints.View("t"), ints.View("t"), null, 0.1, 0, 0, 0, false, false)), "int32");
                Assert.Throws<ShapeException>(() => FusedOps.Sgd.Run(backend, new(p.View("t"), q.View("t"), strided.View("t"), 0.1, 0.9, 0, 0, false, false)), "strided");
                Assert.Throws<ArgumentValueException>(() => FusedOps.Sgd.Run(backend, new(p.View("t"), q.View("t"), null, 0.1, 0.9, 0, 0, false, false)), "no buffer");
                Assert.Throws<ShapeException>(() => FusedOps.Adam.Run(backend, new(strided.View("t"), q.View("t"), q.View("t"), q.View("t"), null,
                    1e-3, 0.9, 0.999, 1e-8, 0, false, 0.1, 0.001)), "strided param");
                Assert.Throws<DTypeException>(() => FusedOps.Adam.Run(backend, new(p.View("t"), q.View("t"), q.View("t"), f64.View("t"), null,
                    1e-3, 0.9, 0.999, 1e-8, 0, false, 0.1, 0.001)), "dtype");
                Assert.Throws<ShapeException>(() => FusedOps.Adam.Run(backend, new(p.View("t"), q.View("t"), q.View("t"), q.View("t"), other.View("t"),
                    1e-3, 0.9, 0.999, 1e-8, 0, false, 0.1, 0.001)), "vmax shape");
            });
            var e = Assert.Throws<ShapeException>(() => FusedOps.Sgd.Run(backend, new(p.View("t"), other.View("t"), null, 0.1, 0, 0, 0, false, false)))!;
            Assert.That(e.Message, Does.Contain("sgd_update").And.Contain("[5, 6]"));
            Assert.That(Gpu.PtxLaunches, Is.EqualTo(launches), "nothing launched");
        }
    }
}
