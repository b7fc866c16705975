using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The CUDA driver runtime: transfers, the generated PTX elementwise kernels on <see cref="Device.Cuda"/> against the CPU
/// backend, JIT errors, out-of-memory, and memory release. Every test that needs a GPU carries [Category("Cuda")] and is
/// ignored when <see cref="CudaProbe.IsAvailable"/> is false; the last two tests run everywhere.
/// </summary>
[NonParallelizable]
public class CudaRuntimeTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static IBackend Cpu => Backends.For(Device.Cpu);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);
    private static CudaRuntime Runtime => (CudaRuntime)Gpu.Runtime;

    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    private static readonly DType[] Floats = [DType.Float32, DType.Float64];

    private static readonly (string Name, Func<long[], long[]> BaseShape, Func<Tensor, Tensor> View)[] Layouts =
    [
        ("contiguous", s => s, t => t),
        ("permuted", s => [s[2], s[0], s[1]], t => t.Permute(1, 2, 0)),
        ("sliced", s => [s[0], s[1] * 2 + 1, s[2]], t => t.Slice(1, 1, t.Size(1), 2)),
    ];

    private static long[] RandomShape(Random r) => [r.Next(1, 9), r.Next(1, 12), r.Next(1, 17)];

    private static Random Rng() => new((int)TestContext.CurrentContext.Random.NextUInt());

    private static (Tensor Cpu, Tensor Dev) Pair(Tensor cpuBase, Func<Tensor, Tensor> view) => (view(cpuBase), view(cpuBase.To(Gpu0)));

    private static Tensor Values(Generator g, long[] shape, DType dtype, double scale = 3) => (Tensor.Randn(shape, DType.Float64, g) * scale).To(dtype);

    // ---- need a GPU ----

    [Test, Category("Cuda")]
    public void TheCudaDeviceHasTheGpuBackendOverACudaRuntime()
    {
        RequireGpu();
        Assert.That(Gpu.Runtime, Is.InstanceOf<CudaRuntime>());
        Assert.That(Gpu.Device, Is.EqualTo(Gpu0));
        using var t = Tensor.Zeros([3, 4], DType.Float32, Gpu0);
        Assert.That(t.View("t").Storage, Is.Not.InstanceOf<MappedGpuStorage>());
        Assert.That(t.ToArray<float>(), Is.All.EqualTo(0f));
    }

    [Test, Category("Cuda")]
    public void RoundTripsRandomBytesThroughTheDevice([Values(1, 4097, 1 << 22)] int n)
    {
        RequireGpu();
        var bytes = new byte[n];
        Rng().NextBytes(bytes);
        var rt = Runtime;
        ulong a = rt.Allocate(n), b = rt.Allocate(n);
        try
        {
            rt.CopyHostToDevice(a, bytes);
            rt.CopyDeviceToDevice(b, a, n);
            var back = new byte[n];
            rt.CopyDeviceToHost(back, b);
            Assert.That(back, Is.EqualTo(bytes));
            rt.Memset(b, 0xAB, n);
            rt.CopyDeviceToHost(back, b);
            Assert.That(back, Is.All.EqualTo((byte)0xAB));
        }
        finally { rt.Free(a); rt.Free(b); }
    }

    [Test, Category("Cuda")]
    public void TensorsRoundTrip([Values(DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool)] DType dtype)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var c = Tensor.RandInt(-1000, 1000, [7, 13], DType.Int64, TestUtil.Gen()).To(dtype);
        var d = c.To(Gpu0);
        Assert.That(d.To(Device.Cpu).ToDoubleArray(), Is.EqualTo(c.ToDoubleArray()));
        Assert.That(d.Transpose(0, 1).To(Device.Cpu).ToDoubleArray(), Is.EqualTo(c.Transpose(0, 1).ToDoubleArray()));
    }

    public static readonly UnaryOp[] PtxUnary =
    [
        UnaryOp.Neg, UnaryOp.Abs, UnaryOp.Square, UnaryOp.Sign, UnaryOp.Affine, UnaryOp.ScalarDiv, UnaryOp.Relu, UnaryOp.Relu6,
        UnaryOp.LeakyRelu, UnaryOp.Clamp, UnaryOp.Exp, UnaryOp.Log, UnaryOp.Sqrt, UnaryOp.Rsqrt, UnaryOp.Sigmoid, UnaryOp.Tanh, UnaryOp.Silu,
    ];

    private static bool IsExact(UnaryOp op) => op is UnaryOp.Neg or UnaryOp.Abs or UnaryOp.Square or UnaryOp.Sign or UnaryOp.Relu
        or UnaryOp.Relu6 or UnaryOp.Clamp or UnaryOp.LeakyRelu or UnaryOp.Affine or UnaryOp.ScalarDiv or UnaryOp.Sqrt;

    [TestCaseSource(nameof(PtxUnary)), Category("Cuda")]
    public void UnaryMatchesCpu(UnaryOp op)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = Rng();
        foreach (var dt in Floats)
            foreach (var (name, baseShape, view) in Layouts)
            {
                var shape = RandomShape(r);
                var (c, d) = Pair(Values(g, baseShape(shape), dt), view);
                var co = Tensor.Empty(shape, dt, Device.Cpu);
                var dout = Tensor.Empty(shape, dt, Gpu0);
                Cpu.Unary(op, co.View("t"), c.View("t"), 0.5, 1.25);
                Gpu.Unary(op, dout.View("t"), d.View("t"), 0.5, 1.25);
                var (atol, rtol) = IsExact(op) ? (0.0, 0.0) : dt == DType.Float32 ? (1e-6, 2e-6) : (1e-14, 1e-13);
                TestContext.Out.WriteLine($"{op} {dt.Name()} {name} {ShapeUtil.Format(shape)}");
                TestUtil.AssertClose(dout, co, atol, rtol);
            }
    }

    public static readonly BinaryOp[] PtxBinary =
    [
        BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div, BinaryOp.Maximum, BinaryOp.Minimum,
        BinaryOp.Eq, BinaryOp.Ne, BinaryOp.Lt, BinaryOp.Le, BinaryOp.Gt, BinaryOp.Ge, BinaryOp.ReluBackward,
    ];

    [TestCaseSource(nameof(PtxBinary)), Category("Cuda")]
    public void BinaryMatchesCpuWithBroadcastingAndStrides(BinaryOp op)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = Rng();
        bool cmp = op is BinaryOp.Eq or BinaryOp.Ne or BinaryOp.Lt or BinaryOp.Le or BinaryOp.Gt or BinaryOp.Ge;
        DType[] types = op == BinaryOp.Div ? Floats : [DType.Float32, DType.Float64, DType.Int64, DType.Int32];
        foreach (var dt in types)
            foreach (var (xl, xBase, xView) in Layouts)
                foreach (var (yl, yBase, yView) in Layouts)
                {
                    var shape = RandomShape(r);
                    var yShape = shape.Select(s => r.Next(3) == 0 ? 1 : s).ToArray();   // broadcast along random dims
                    var (cx, dx) = Pair(Values(g, xBase(shape), dt), xView);
                    var (cy, dy) = Pair(Values(g, yBase(yShape), dt), yView);
                    var odt = cmp ? DType.Bool : dt;
                    var co = Tensor.Empty(shape, odt, Device.Cpu);
                    var dout = Tensor.Empty(shape, odt, Gpu0);
                    Cpu.Binary(op, co.View("t"), cx.ViewAs("t", shape), cy.ViewAs("t", shape), 0, 0);
                    Gpu.Binary(op, dout.View("t"), dx.ViewAs("t", shape), dy.ViewAs("t", shape), 0, 0);
                    TestContext.Out.WriteLine($"{op} {dt.Name()} x {xl} y {yl} {ShapeUtil.Format(shape)}");
                    TestUtil.AssertClose(dout, co, 0, 0);
                }
    }

    private static readonly DType[] AllTypes = [DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool];

    public static IEnumerable<TestCaseData> CopyPairs() => from s in AllTypes from d in AllTypes select new TestCaseData(s, d);

    [TestCaseSource(nameof(CopyPairs)), Category("Cuda")]
    public void CopyCastsLikeTheCpu(DType from, DType to)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var r = Rng();
        foreach (var (name, baseShape, view) in Layouts)
        {
            var shape = RandomShape(r);
            Tensor src = from switch
            {
                DType.Bool => Tensor.RandInt(0, 2, baseShape(shape), DType.Int64, g).To(DType.Bool),
                DType.UInt8 => Tensor.RandInt(0, 256, baseShape(shape), DType.Int64, g).To(DType.UInt8),
                DType.Int64 or DType.Int32 => Tensor.RandInt(-100_000, 100_000, baseShape(shape), DType.Int64, g).To(from),
                _ => Values(g, baseShape(shape), from, scale: 200),
            };
            var (c, d) = Pair(src, view);
            var co = Tensor.Empty(shape, to, Device.Cpu);
            var dout = Tensor.Empty(shape, to, Gpu0);
            Cpu.Copy(co.View("t"), c.View("t"));
            Gpu.Copy(dout.View("t"), d.View("t"));
            TestContext.Out.WriteLine($"{from.Name()} -> {to.Name()} {name} {ShapeUtil.Format(shape)}");
            TestUtil.AssertClose(dout, co, 0, 0);
        }
    }

    [Test, Category("Cuda")]
    public void FillWritesOnlyTheView([Values(DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool)] DType dtype)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        foreach (double v in new[] { 2.5, -3, 300, 0 })
        {
            var c = Tensor.Zeros([6, 11], dtype);
            var d = Tensor.Zeros([6, 11], dtype, Gpu0);
            Cpu.Fill(c.Slice(1, 1, 11, 3).View("t"), v);
            Gpu.Fill(d.Slice(1, 1, 11, 3).View("t"), v);
            TestUtil.AssertClose(d, c, 0, 0);
        }
    }

    [Test, Category("Cuda")]
    public void WhereMatchesCpu([Values(DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool)] DType dtype)
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var cond = Tensor.RandInt(0, 2, [5, 1, 7], DType.Int64, g).To(DType.Bool);
        var x = Tensor.RandInt(-50, 50, [4, 7], DType.Int64, g).To(dtype);
        var y = Tensor.RandInt(-50, 50, [5, 1, 4], DType.Int64, g).To(dtype).Permute(0, 2, 1);
        var c = Tensor.Where(cond, x, y);
        var d = Tensor.Where(cond.To(Gpu0), x.To(Gpu0), y.To(Gpu0));
        Assert.That(d.Device, Is.EqualTo(Gpu0));
        TestUtil.AssertClose(d, c, 0, 0);
    }

    [Test, Category("Cuda")]
    public void LargeTensorsUseTheGridStrideLoop()
    {
        RequireGpu();
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var (cx, dx) = Pair(Values(g, [3_000_001], DType.Float32), t => t);
        var (cy, dy) = Pair(Values(g, [3_000_001], DType.Float32), t => t);
        TestUtil.AssertClose(dx * dy + dx, cx * cy + cx, 0, 0);
        TestUtil.AssertClose(dx.Exp(), cx.Exp(), 1e-6, 2e-6);
    }

    [Test, Category("Cuda")]
    public void APtxSyntaxErrorReportsTheJitLog()
    {
        RequireGpu();
        const string bad = ".version 7.8\n.target sm_80\n.address_size 64\n.visible .entry broken()\n{\n    this_is_not_an_instruction;\n    ret;\n}\n";
        var ex = Assert.Throws<CudaException>(() => Runtime.LoadModule("broken_for_test", bad));
        TestContext.Out.WriteLine(ex!.Message);
        Assert.That(ex.Function, Is.EqualTo("cuModuleLoadDataEx"));
        Assert.That(ex.JitLog, Is.Not.Null.And.Not.Empty);
        Assert.That(ex.Message, Does.Contain(ex.JitLog!.Trim()).And.Contain("broken_for_test"));
        Assert.That(ex.CodeName, Does.StartWith("CUDA_ERROR"));
        // the runtime keeps working
        using var t = Tensor.Ones([5], DType.Float32, Gpu0);
        Assert.That((t + t).ToArray<float>(), Is.All.EqualTo(2f));
    }

    [Test, Category("Cuda")]
    public void AllocatingMoreThanTheCardHasIsAClearError()
    {
        RequireGpu();
        long total = CudaProbe.Devices[0].TotalMemoryBytes;
        long live = Runtime.LiveBytes;
        var ex = Assert.Throws<CudaException>(() => Runtime.Allocate(total * 2));
        TestContext.Out.WriteLine(ex!.Message);
        Assert.That(ex.CodeName, Is.EqualTo("CUDA_ERROR_OUT_OF_MEMORY"));
        Assert.That(ex.Message, Does.Contain($"requested {total * 2} bytes").And.Contain("free"));
        Assert.That(Runtime.LiveBytes, Is.EqualTo(live));
        var tex = Assert.Throws<DeviceOutOfMemoryException>(() => Tensor.Empty([total / 2], DType.Float32, Gpu0));
        Assert.That(tex!.Message, Does.Contain("out of memory").And.Contain("requested"));
        using var t = Tensor.Ones([5], DType.Float32, Gpu0);   // still usable
        Assert.That(t.ToArray<float>(), Is.All.EqualTo(1f));
    }

    [Test, Category("Cuda")]
    public void DeviceMemoryIsFlatOverALoopOfDisposeScopes()
    {
        RequireGpu();
        var g = TestUtil.Gen();
        Engine.Cuda.EmptyCache();
        long before = Engine.Cuda.MemoryStats().Allocated, beforeFree = Runtime.MemoryInfo().Free;
        for (int i = 0; i < 200; i++)
        {
            using var scope = Tensor.NewDisposeScope();
            var x = Tensor.Randn([256, 129], DType.Float32, g).To(Gpu0);
            var y = Tensor.Where(x.Gt(0), ((x * x).Exp() + x).Sigmoid(), x);
            _ = y.To(Device.Cpu);
            Assert.That(Engine.Cuda.MemoryStats().Allocated, Is.GreaterThan(before));
        }
        Assert.That(Engine.Cuda.MemoryStats().Allocated, Is.EqualTo(before), "every block of the loop went back to the cache");
        Engine.Cuda.EmptyCache();
        Runtime.Synchronize();
        long afterFree = Runtime.MemoryInfo().Free;
        Assert.That(beforeFree - afterFree, Is.LessThan(64L << 20), "the driver's free memory did not drift");
    }

    [Test, Category("Cuda")]
    public void FreeWorksFromAnotherThread()
    {
        RequireGpu();
        long live = Runtime.LiveBytes;
        ulong a = Runtime.Allocate(1 << 20);
        var th = new Thread(() => Runtime.Free(a));
        th.Start();
        th.Join();
        Assert.That(Runtime.LiveBytes, Is.EqualTo(live));
        Assert.Throws<ArgumentValueException>(() => Runtime.Free(a));
    }

    // ---- run everywhere ----

    [Test]
    public void CudaExceptionMessagesNameFunctionCodeAndLog()
    {
        var e = new CudaException("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", "requested 10 bytes, 5 bytes free");
        Assert.That(e, Is.InstanceOf<EngineException>());
        Assert.That(e.Op, Is.EqualTo("cuMemAlloc_v2"));
        Assert.That(e.Message, Is.EqualTo("cuMemAlloc_v2: failed with CUDA_ERROR_OUT_OF_MEMORY (2): requested 10 bytes, 5 bytes free"));
        Assert.That(e.JitLog, Is.Null);
        var j = new CudaException("cuModuleLoadDataEx", 218, "CUDA_ERROR_INVALID_PTX", "loading PTX module 'm'", "ptxas fatal   : syntax error\n");
        Assert.That(j.Message, Does.StartWith("cuModuleLoadDataEx: failed with CUDA_ERROR_INVALID_PTX (218): loading PTX module 'm'"));
        Assert.That(j.Message, Does.EndWith("JIT log:" + Environment.NewLine + "ptxas fatal   : syntax error"));
        Assert.That(j.JitLog, Does.Contain("syntax error"));
        Assert.That(new CudaException("cuInit", 100, "CUDA_ERROR_NO_DEVICE", null, "  ").JitLog, Is.Null);
        Assert.That(CudaRuntime.Log("abc\0garbage"u8), Is.EqualTo("abc"));
    }

    [Test]
    public void ErrorNamesComeFromTheDriverOrTheFallbackTable()
    {
        // without libcuda the binding's DllNotFoundException is caught and the probe's table answers; with it, cuGetErrorName
        Assert.That(CudaDriver.ErrorName(2), Is.EqualTo("CUDA_ERROR_OUT_OF_MEMORY"));
        Assert.That(CudaDriver.ErrorName(218), Is.EqualTo("CUDA_ERROR_INVALID_PTX"));
        var ex = Assert.Throws<CudaException>(() => CudaDriver.Check(201, "cuCtxPushCurrent_v2"));
        Assert.That(ex!.Message, Does.Contain("cuCtxPushCurrent_v2").And.Contain("CUDA_ERROR_INVALID_CONTEXT (201)"));
        Assert.DoesNotThrow(() => CudaDriver.Check(0, "cuInit"));
    }

    [Test]
    public void ACudaDeviceWithoutAGpuIsADeviceErrorNamingTheReason()
    {
        if (CudaProbe.IsAvailable)
        {
            int n = CudaProbe.Devices.Count;
            var ex = Assert.Throws<DeviceException>(() => Tensor.Zeros([2], DType.Float32, Device.Cuda(n)));
            Assert.That(ex!.Message, Does.Contain($"cuda:{n}").And.Contain($"{n} CUDA device"));
        }
        else
        {
            var ex = Assert.Throws<DeviceException>(() => Tensor.Zeros([2], DType.Float32, Device.Cuda(0)));
            Assert.That(ex!.Message, Does.Contain("cuda:0").And.Contain(CudaProbe.Reason));
            var ex2 = Assert.Throws<DeviceException>(() => Tensor.Zeros([2], DType.Float32).To(Device.Cuda(0)));
            Assert.That(ex2!.Message, Does.Contain(CudaProbe.Reason));
            Assert.Throws<DeviceException>(() => new CudaRuntime(0));
        }
    }
}
