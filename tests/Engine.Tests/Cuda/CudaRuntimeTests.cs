using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The CUDA driver runtime: transfers, JIT errors, out-of-memory, and memory release (the elementwise kernels on a
/// real GPU are <see cref="Gpu.ElementwiseKernelTests"/>). Every test that needs a GPU carries [Category("Cuda")] and is
/// ignored when <see cref="CudaProbe.IsAvailable"/> is false; the last two tests run everywhere.
/// </summary>
[NonParallelizable]
public class CudaRuntimeTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);
    private static CudaRuntime Runtime => (CudaRuntime)Gpu.Runtime;

    // ---- need a GPU ----

    [Test, Category("Cuda")]
    public void TheCudaDeviceHasTheGpuBackendOverACudaRuntime()
    {
        TestDevice.Cuda.Require();
        Assert.That(Gpu.Runtime, Is.InstanceOf<CudaRuntime>());
        Assert.That(Gpu.Device, Is.EqualTo(Gpu0));
        using var t = Tensor.Zeros([3, 4], DType.Float32, Gpu0);
        Assert.That(t.View("t").Storage, Is.Not.InstanceOf<MappedGpuStorage>());
        Assert.That(t.ToArray<float>(), Is.All.EqualTo(0f));
    }

    [Test, Category("Cuda")]
    public void RoundTripsRandomBytesThroughTheDevice([Values(1, 4097, 1 << 22)] int n)
    {
        TestDevice.Cuda.Require();
        var bytes = new byte[n];
        TestUtil.Rng().NextBytes(bytes);
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
        TestDevice.Cuda.Require();
        using var scope = Tensor.NewDisposeScope();
        var c = Tensor.RandInt(-1000, 1000, [7, 13], DType.Int64, TestUtil.Gen()).To(dtype);
        var d = c.To(Gpu0);
        Assert.That(d.To(Device.Cpu).ToDoubleArray(), Is.EqualTo(c.ToDoubleArray()));
        Assert.That(d.Transpose(0, 1).To(Device.Cpu).ToDoubleArray(), Is.EqualTo(c.Transpose(0, 1).ToDoubleArray()));
    }

    [Test, Category("Cuda")]
    public void APtxSyntaxErrorReportsTheJitLog()
    {
        TestDevice.Cuda.Require();
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
        TestDevice.Cuda.Require();
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
        TestDevice.Cuda.Require();
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
        TestDevice.Cuda.Require();
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
