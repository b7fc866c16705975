using Engine.Kernels;
using Engine.Kernels.Cuda;
using F = Engine.Functional;

namespace Engine.Tests.CudaTests;

/// <summary>
/// The CPU-side parts of the cuBLAS/cuDNN route, run everywhere: where the libraries are looked for, status codes becoming
/// typed exceptions, and the pure planners (GEMM op flags and leading dims, convolution and pooling descriptors) checked
/// against CPU oracles of the operation they plan.
/// </summary>
[NonParallelizable]
public class CudaLibraryPlanTests
{
    // ---- library loading ----

    [Test]
    public void LibraryNamesResolveToTheSupportedMajorVersionsInOrder()
    {
        Assert.That(NativeResolver.Candidates(NativeResolver.CublasName), Is.EqualTo(new[] { "libcublas.so.13", "libcublas.so.12" }));
        Assert.That(NativeResolver.Candidates(NativeResolver.CudnnName), Is.EqualTo(new[] { "libcudnn.so.9" }));
        Assert.That(NativeResolver.Candidates(NativeResolver.CudaName)[0], Is.EqualTo("libcuda.so.1"));
        Assert.That(NativeResolver.Candidates("somethingelse"), Is.Empty);
        Assert.That(NativeResolver.Companions("libcublas.so.13"), Is.EqualTo(new[] { "libcublasLt.so.13" }));
        Assert.That(NativeResolver.Companions("libcublas.so.12"), Is.EqualTo(new[] { "libcublasLt.so.12" }));
        Assert.That(NativeResolver.Companions("libcudnn.so.9"), Does.Contain("libcudnn_cnn.so.9").And.Contain("libcudnn_ops.so.9"));
    }

    [Test]
    public void AlgoPerfHasTheLayoutOfCudnnConvolutionAlgoPerf()
    {
        // cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: algo, status, time (float), 4 bytes of padding, memory (size_t),
        // determinism, mathType, reserved[3], 4 bytes of tail padding. cudnnFind writes arrays of them, so the stride matters.
        Assert.That(System.Runtime.InteropServices.Marshal.SizeOf<Cudnn.AlgoPerf>(), Is.EqualTo(48));
        Assert.That(System.Runtime.CompilerServices.Unsafe.SizeOf<Cudnn.AlgoPerf>(), Is.EqualTo(48));
        Assert.That((int)System.Runtime.InteropServices.Marshal.OffsetOf<Cudnn.AlgoPerf>(nameof(Cudnn.AlgoPerf.Memory)), Is.EqualTo(16));
        Assert.That((int)System.Runtime.InteropServices.Marshal.OffsetOf<Cudnn.AlgoPerf>(nameof(Cudnn.AlgoPerf.MathType)), Is.EqualTo(28));
        Assert.That((int)System.Runtime.InteropServices.Marshal.OffsetOf<Cudnn.AlgoPerf>(nameof(Cudnn.AlgoPerf.Reserved2)), Is.EqualTo(40));
    }

    [Test]
    public void SearchOrderIsOverrideThenCudaPathThenTheUsualDirectories()
    {
        string? o = Environment.GetEnvironmentVariable("ENGINE_CUDA_LIBRARY_PATH"), p = Environment.GetEnvironmentVariable("CUDA_PATH"),
            h = Environment.GetEnvironmentVariable("CUDA_HOME");
        try
        {
            Environment.SetEnvironmentVariable("ENGINE_CUDA_LIBRARY_PATH", "/opt/a:/opt/b");
            Environment.SetEnvironmentVariable("CUDA_PATH", "/opt/cuda-x");
            Environment.SetEnvironmentVariable("CUDA_HOME", null);
            var dirs = NativeLibraries.SearchDirectories().ToList();
            int Pos(string d) => dirs.IndexOf(d);
            Assert.That(dirs.Take(2), Is.EqualTo(new[] { "/opt/a", "/opt/b" }));
            Assert.That(Pos("/opt/cuda-x/lib64"), Is.GreaterThan(Pos("/opt/b")));
            Assert.That(Pos("/opt/cuda-x/targets/x86_64-linux/lib"), Is.GreaterThan(Pos("/opt/cuda-x/lib64")));
            Assert.That(Pos("/usr/local/cuda/lib64"), Is.GreaterThan(Pos("/opt/cuda-x/targets/x86_64-linux/lib")));
            Assert.That(Pos("/usr/local/cuda/targets/x86_64-linux/lib"), Is.GreaterThan(Pos("/usr/local/cuda/lib64")));
            Assert.That(dirs[^1], Is.EqualTo("/usr/lib/x86_64-linux-gnu"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ENGINE_CUDA_LIBRARY_PATH", o);
            Environment.SetEnvironmentVariable("CUDA_PATH", p);
            Environment.SetEnvironmentVariable("CUDA_HOME", h);
        }
    }

    [Test]
    public void TheOverrideDirectoryIsTriedFirstAndNamedWhenNothingLoads()
    {
        string dir = Path.Combine(Path.GetTempPath(), "engine-cudalib-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string? o = Environment.GetEnvironmentVariable("ENGINE_CUDA_LIBRARY_PATH");
        try
        {
            // Not an ELF file: found in the override directory, fails to load, and the report says it was tried.
            string fake = Path.Combine(dir, "libengine_fake.so.7");
            File.WriteAllText(fake, "not a library");
            Environment.SetEnvironmentVariable("ENGINE_CUDA_LIBRARY_PATH", dir);
            bool ok = NativeLibraries.TryLoad(["libengine_fake.so.7"], out _, out var detail);
            Assert.That(ok, Is.False);
            Assert.That(detail, Does.StartWith("not found"));
            Assert.That(detail.IndexOf(fake, StringComparison.Ordinal), Is.LessThan(detail.IndexOf("(loader)", StringComparison.Ordinal)), detail);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ENGINE_CUDA_LIBRARY_PATH", o);
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void AMissingLibraryIsADeviceExceptionNamingIt()
    {
        // On a machine with the libraries this passes trivially; without them, the route's first check says what is missing.
        bool cudnn = NativeLibraries.TryLoad(NativeResolver.Candidates(NativeResolver.CudnnName), out _, out _, NativeResolver.Companions);
        bool cublas = NativeLibraries.TryLoad(NativeResolver.Candidates(NativeResolver.CublasName), out _, out _, NativeResolver.Companions);
        if (cudnn) Assert.DoesNotThrow(() => Cudnn.Require("conv"));
        else Assert.That(Assert.Throws<DeviceException>(() => Cudnn.Require("conv"))!.Message, Does.Contain("libcudnn.so.9").And.Contain("ENGINE_CUDA_LIBRARY_PATH"));
        if (cublas) Assert.DoesNotThrow(() => Cublas.Require("matmul"));
        else Assert.That(Assert.Throws<DeviceException>(() => Cublas.Require("matmul"))!.Message, Does.Contain("libcublas.so.13"));
    }

    // ---- status codes ----

    [TestCase(7, "CUBLAS_STATUS_INVALID_VALUE")]
    [TestCase(13, "CUBLAS_STATUS_EXECUTION_FAILED")]
    [TestCase(15, "CUBLAS_STATUS_NOT_SUPPORTED")]
    public void CublasStatusBecomesATypedException(int code, string name)
    {
        Assert.That(Cublas.StatusName(code), Is.EqualTo(name));
        var e = Assert.Throws<CudaLibraryException>(() => Cublas.Check(code, "cublasGemmEx", "m=3"))!;
        Assert.That((e.Library, e.Function, e.Code, e.CodeName), Is.EqualTo(("cuBLAS", "cublasGemmEx", code, name)));
        Assert.That(e.Op, Is.EqualTo("cublasGemmEx"));
        Assert.That(e.Message, Does.Contain(name).And.Contain(code.ToString()).And.Contain("m=3"));
        Assert.DoesNotThrow(() => Cublas.Check(0, "cublasGemmEx"));
    }

    [TestCase(2000, "CUDNN_STATUS_BAD_PARAM")]
    [TestCase(3000, "CUDNN_STATUS_NOT_SUPPORTED")]
    [TestCase(4004, "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED")]
    [TestCase(1008, "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED")]
    public void CudnnStatusBecomesATypedException(int code, string name)
    {
        Assert.That(Cudnn.StatusName(code), Is.EqualTo(name));
        var e = Assert.Throws<CudaLibraryException>(() => Cudnn.Check(code, "cudnnConvolutionForward"))!;
        Assert.That((e.Library, e.Function, e.Code, e.CodeName), Is.EqualTo(("cuDNN", "cudnnConvolutionForward", code, name)));
        Assert.That(e, Is.InstanceOf<EngineException>());
        Assert.DoesNotThrow(() => Cudnn.Check(0, "cudnnConvolutionForward"));
    }

    [Test]
    public void UnknownStatusCodesStillNameTheirNumber()
    {
        Assert.That(Cublas.StatusName(999), Does.Contain("999"));
        Assert.That(Cudnn.StatusName(6789), Does.Contain("6789"));
    }

    // ---- GEMM planner ----

    // A [B, rows, cols] operand in a larger buffer: a layout kind, its strides and offset, filled with random values.
    private sealed record HostMat(double[] Buf, long Offset, long[] Shape, long[] Strides)
    {
        public double At(long b, long r, long c) => Buf[Offset + b * Strides[0] + r * Strides[1] + c * Strides[2]];
    }

    private static HostMat Make(Random r, long b, long rows, long cols, int kind)
    {
        long[] st; long size;
        switch (kind)
        {
            case 0: st = [rows * cols, cols, 1]; break;                                   // contiguous
            case 1: st = [rows * cols, 1, rows]; break;                                   // transposed (column-major)
            case 2: st = [rows * (cols + 3), cols + 3, 1]; break;                         // padded rows
            case 3: st = [0, cols, 1]; break;                                             // broadcast over the batch
            case 4: st = [rows * cols * 2, cols * 2, 2]; break;                           // every other column: a copy
            default: st = [cols, 0, 1]; break;                                            // broadcast rows: a copy
        }
        long off = r.Next(0, 5);
        size = off + 1;
        for (int d = 0; d < 3; d++) size += (new[] { b, rows, cols }[d] - 1) * st[d];
        var buf = new double[Math.Max(size, 1)];
        for (int i = 0; i < buf.Length; i++) buf[i] = r.NextDouble() * 2 - 1;
        return new HostMat(buf, off, [b, rows, cols], st);
    }

    // Executes the plan as cuBLAS would: column-major C(m×n) = op(A)·op(B) per batch, on the operands or their contiguous copies.
    private static double[] RunPlan(GemmPlan p, HostMat x, HostMat y)
    {
        static HostMat Contig(HostMat h)
        {
            long b = h.Shape[0], r = h.Shape[1], c = h.Shape[2];
            var buf = new double[b * r * c];
            for (long i = 0; i < b; i++) for (long j = 0; j < r; j++) for (long k = 0; k < c; k++) buf[(i * r + j) * c + k] = h.At(i, j, k);
            return new HostMat(buf, 0, h.Shape, [r * c, c, 1]);
        }
        var xa = p.CopyX ? Contig(x) : x;
        var ya = p.CopyY ? Contig(y) : y;
        int m = p.N, n = p.M, k = p.K;
        var c = new double[p.Batch * p.StrideC + p.M * p.Ldc + 1];
        // Element (i, j) of the stored column-major matrix with leading dim ld at base: base + i + j·ld.
        double Op(HostMat h, GemmOperand o, long batch, int row, int col) =>
            o.Op == GemmPlan.OpN ? h.Buf[h.Offset + batch * o.BatchStride + row + col * o.Ld] : h.Buf[h.Offset + batch * o.BatchStride + col + row * o.Ld];
        for (long bt = 0; bt < p.Batch; bt++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int l = 0; l < k; l++) s += Op(ya, p.A, bt, i, l) * Op(xa, p.B, bt, l, j);
                    c[bt * p.StrideC + i + j * p.Ldc] = s;
                }
        // Read dst back row-major: element (b, row, col) at b·strideC + row·ldc + col.
        var result = new double[p.Batch * p.M * p.N];
        for (long bt = 0; bt < p.Batch; bt++)
            for (int row = 0; row < p.M; row++)
                for (int col = 0; col < p.N; col++)
                    result[(bt * p.M + row) * p.N + col] = c[bt * p.StrideC + row * p.Ldc + col];
        return result;
    }

    [Test]
    public void GemmPlansComputeTheRowMajorProductForEveryLayout([Range(0, 39)] int trial)
    {
        var r = TestUtil.Rng();
        long b = r.Next(1, 4), m = r.Next(1, 7), k = r.Next(1, 7), n = r.Next(1, 7);
        if (trial % 5 == 0) m = 1;
        if (trial % 7 == 0) n = 1;
        int kx = r.Next(0, 6), ky = r.Next(0, 6);
        var x = Make(r, b, m, k, kx);
        var y = Make(r, b, k, n, ky);
        var plan = GemmPlan.For(x.Shape, x.Strides, y.Shape, y.Strides, [b, m, n], [m * n, n, 1]);
        var got = RunPlan(plan, x, y);
        for (long bt = 0; bt < b; bt++)
            for (long i = 0; i < m; i++)
                for (long j = 0; j < n; j++)
                {
                    double e = 0;
                    for (long l = 0; l < k; l++) e += x.At(bt, i, l) * y.At(bt, l, j);
                    Assert.That(got[(bt * m + i) * n + j], Is.EqualTo(e).Within(1e-12), $"[{bt},{i},{j}] layouts x {kx}, y {ky}, plan {plan}");
                }
        // Copies only where cuBLAS cannot read the layout.
        if (kx is 0 or 1 or 2 or 3) Assert.That(plan.CopyX, Is.False, "x layout " + kx);
        if (ky is 0 or 1 or 2 or 3) Assert.That(plan.CopyY, Is.False, "y layout " + ky);
    }

    [Test]
    public void GemmPlanMapsLayoutsToOpFlags()
    {
        // Contiguous operands: both read as stored, ld = columns.
        var p = GemmPlan.For([1, 4, 5], [20, 5, 1], [1, 5, 6], [30, 6, 1], [1, 4, 6], [24, 6, 1]);
        Assert.That((p.A.Op, p.A.Ld, p.B.Op, p.B.Ld, p.Ldc), Is.EqualTo((GemmPlan.OpN, 6L, GemmPlan.OpN, 5L, 6L)));
        Assert.That((p.M, p.N, p.K, p.CopyX, p.CopyY, p.CopyDst), Is.EqualTo((4, 6, 5, false, false, false)));
        // A transposed x (x = xtᵀ with xt [5, 4] contiguous): OP_T with ld = 4.
        p = GemmPlan.For([1, 4, 5], [20, 1, 4], [1, 5, 6], [30, 6, 1], [1, 4, 6], [24, 6, 1]);
        Assert.That((p.B.Op, p.B.Ld), Is.EqualTo((GemmPlan.OpT, 4L)));
        // A broadcast batch is a zero batch stride, not a copy.
        p = GemmPlan.For([3, 4, 5], [0, 5, 1], [3, 5, 6], [30, 6, 1], [3, 4, 6], [24, 6, 1]);
        Assert.That((p.B.BatchStride, p.A.BatchStride, p.StrideC, p.CopyX), Is.EqualTo((0L, 30L, 24L, false)));
        // A non-unit column stride on both axes needs a copy; so does a dst with non-unit column stride.
        p = GemmPlan.For([1, 4, 5], [40, 10, 2], [1, 5, 6], [30, 6, 1], [1, 4, 6], [48, 12, 2]);
        Assert.That((p.CopyX, p.CopyDst, p.Ldc), Is.EqualTo((true, true, 6L)));
    }

    // ---- convolution planner ----

    [Test]
    public void ConvPlanUsesFourDDescriptorsForTwoDConvolutionsAndSymmetricPaddingAsIs()
    {
        var g = new ConvGeometry(2, 6, 8, 2, [1, 9, 11], [1, 3, 5], [1, 2, 1], [0, 1, 2], [0, 1, 2], [1, 1, 2]);
        var p = CudnnConvPlan.For(g);
        Assert.That(p.Spatial, Is.EqualTo(2));
        Assert.That(p.XDims, Is.EqualTo(new[] { 2, 6, 9, 11 }));
        Assert.That(p.WDims, Is.EqualTo(new[] { 8, 3, 3, 5 }));
        Assert.That(p.YDims, Is.EqualTo(new[] { 2, 8, g.Out(1), g.Out(2) }));
        Assert.That((p.Pad, p.Stride, p.Dilation, p.Groups), Is.EqualTo((new[] { 1, 2 }, new[] { 2, 1 }, new[] { 1, 2 }, 2)));
        Assert.That((p.PadsInput, p.CropsOutput), Is.EqualTo((false, false)));

        var g3 = new ConvGeometry(1, 2, 4, 1, [5, 6, 7], [3, 3, 3], [1, 1, 2], [1, 0, 1], [1, 0, 1], [1, 1, 1]);
        var p3 = CudnnConvPlan.For(g3);
        Assert.That(p3.Spatial, Is.EqualTo(3));
        Assert.That(p3.YDims, Is.EqualTo(new[] { 1, 4, g3.Out(0), g3.Out(1), g3.Out(2) }));
    }

    [Test]
    public void AsymmetricPaddingPlansAreTheSameConvolutionOnTheCpu([Range(0, 7)] int trial)
    {
        // The plan's symmetric convolution over the zero-extended input, cropped to the geometry's output, must equal the
        // asymmetric convolution (both computed by the CPU backend).
        var r = TestUtil.Rng();
        var gen = TestUtil.Gen();
        int h = r.Next(4, 9), w = r.Next(4, 9), kh = r.Next(1, 4), kw = r.Next(1, 4), s = r.Next(1, 3), dil = r.Next(1, 3);
        int[] pad = [r.Next(0, 3), r.Next(0, 3), r.Next(0, 3), r.Next(0, 3)];   // top, bottom, left, right
        if (trial % 2 == 0) pad[1] = pad[0] + 1;
        int groups = trial % 3 == 0 ? 2 : 1, c = 2 * groups, o = 2 * groups;
        using var x = TestUtil.Randn(gen, 2, c, h, w);
        using var wt = TestUtil.Randn(gen, o, c / groups, kh, kw);
        using var expected = F.Conv2d(x, wt, null, [s, s], pad, [dil, dil], groups);
        var g = new ConvGeometry(2, c, o, groups, [1, h, w], [1, kh, kw], [1, s, s], [0, pad[0], pad[2]], [0, pad[1], pad[3]], [1, dil, dil]);
        var plan = CudnnConvPlan.For(g);
        Assert.That(plan.PadsInput, Is.EqualTo(pad[1] > pad[0] || pad[3] > pad[2]));
        using var xe = Tensor.Zeros([plan.XDims[0], plan.XDims[1], plan.XDims[2], plan.XDims[3]], DType.Float64);
        using (var box = xe.Narrow(2, 0, h).Narrow(3, 0, w)) box.CopyFrom(x);
        using var ye = F.Conv2d(xe, wt, null, plan.Stride, plan.Pad, plan.Dilation, plan.Groups);
        Assert.That(ye.Shape, Is.EqualTo(plan.YDims.Select(v => (long)v).ToArray()));
        using var got = ye.Narrow(2, 0, g.Out(1)).Narrow(3, 0, g.Out(2));
        TestUtil.AssertClose(got, expected, 1e-12, 1e-12);
    }

    // ---- pooling planner ----

    // The window tables Functional builds for avg_pool (one dim), reproduced here as the oracle's input.
    private static (int[] St, int[] En, int[] Div, int O) AvgTables(int n, int k, int s, int p, bool ceil, bool include, int? divisor)
    {
        long num = (long)n + 2 * p - (k - 1) - 1 + (ceil ? s - 1 : 0);
        int o = (int)Math.Floor((double)num / s) + 1;
        if (ceil && (o - 1) * s >= n + p) o--;
        var st = new int[o]; var en = new int[o]; var dv = new int[o];
        for (int i = 0; i < o; i++)
        {
            int a = i * s - p, b = Math.Min(a + k, n + p);
            int padded = b - a;
            a = Math.Max(a, 0); b = Math.Min(b, n);
            st[i] = a; en[i] = b;
            dv[i] = divisor is not null ? 1 : include ? padded : Math.Max(b - a, 1);
        }
        return (st, en, dv, o);
    }

    private static PoolGeometry Pool2d(int planes, int h, int w, int k, int s, int p, bool ceil, bool include, int? divisor)
    {
        var th = AvgTables(h, k, s, p, ceil, include, divisor);
        var tw = AvgTables(w, k, s, p, ceil, include, divisor);
        if (divisor is int d) th.Div = th.Div.Select(_ => d).ToArray();
        return new PoolGeometry(planes, [1, h, w], [1, th.O, tw.O], [[0], th.St, tw.St], [[1], th.En, tw.En], [[1], th.Div, tw.Div], [1, 1, 1]);
    }

    // cuDNN's average pooling semantics on one plane: window [i·s − p, +k) clipped to the input, divided by k or by the count inside.
    private static double[] CudnnAvg(double[] x, int h, int w, CudnnPoolPlan plan, int oh, int ow)
    {
        var y = new double[oh * ow];
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
            {
                int a0 = i * plan.Stride[0] - plan.Pad[0], b0 = j * plan.Stride[1] - plan.Pad[1];
                double sum = 0; int count = 0;
                for (int u = a0; u < a0 + plan.Window[0]; u++)
                    for (int v = b0; v < b0 + plan.Window[1]; v++)
                        if (u >= 0 && u < h && v >= 0 && v < w) { sum += x[u * w + v]; count++; }
                int div = plan.Mode == Cudnn.CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING ? plan.Window[0] * plan.Window[1] : count;
                y[i * ow + j] = sum / div;
            }
        return y;
    }

    [Test]
    public void PoolPlansReproduceTheGeometryWhenTheyExist([Range(0, 15)] int trial) => PoolPlanCase(trial, TestUtil.Rng());

    [Test]
    public void PoolPlansHoldOverManyRandomGeometries()
    {
        int first = TestUtil.Rng().Next();
        for (int i = 0; i < 1000; i++)
        {
            int seed = first + i;
            try { PoolPlanCase(i % 16, new Random(seed)); }
            catch (AssertionException e) { Assert.Fail($"seed {seed}, trial {i % 16}: {e.Message}"); }
        }
    }

    private static void PoolPlanCase(int trial, Random r)
    {
        int h = r.Next(3, 12), w = r.Next(3, 12), k = r.Next(1, Math.Min(h, w) + 1), s = r.Next(1, 4), p = r.Next(0, k / 2 + 1);
        bool ceil = trial % 3 == 0, include = trial % 2 == 0;
        int? divisor = trial % 5 == 4 ? k * k + 1 : null;
        var g = Pool2d(1, h, w, k, s, p, ceil, include, divisor);
        var plan = CudnnPoolPlan.For(g, out string reason);
        bool ceilExtra = g.OutSize[1] != (h + 2 * p - k) / s + 1 || g.OutSize[2] != (w + 2 * p - k) / s + 1;
        if (plan is null)
        {
            // Only divisor_override and ceil-mode extra windows may lack a cuDNN equivalent, and the reason says so.
            Assert.That(divisor is not null || ceilExtra, Is.True, $"k{k} s{s} p{p} on {h}x{w}: {reason}");
            Assert.That(reason, Is.Not.Empty);
            return;
        }
        // A plan (sometimes a different window, padding and stride whose tables coincide) must pool exactly like the geometry.
        // The plan's cuDNN pooling equals the CPU backend's pooling of the geometry on random data.
        var gen = TestUtil.Gen();
        using var x = TestUtil.Randn(gen, 1, 1, h, w);
        using var y = Tensor.Zeros([1, 1, g.OutSize[1], g.OutSize[2]], DType.Float64);
        Backends.For(Device.Cpu).AvgPoolForward(g, y.View("t"), x.View("t"));
        var expected = CudnnAvg(x.ToDoubleArray(), h, w, plan, g.OutSize[1], g.OutSize[2]);
        TestUtil.AssertClose(y, expected, 1e-12, 1e-12);
    }

    [Test]
    public void AdaptivePoolingMapsToCudnnOnlyWithUniformWindows()
    {
        static PoolGeometry Adaptive(int n, int o)
        {
            var st = new int[o]; var en = new int[o]; var dv = new int[o];
            for (int i = 0; i < o; i++) { st[i] = (int)((long)i * n / o); en[i] = (int)(((long)(i + 1) * n + o - 1) / o); dv[i] = en[i] - st[i]; }
            return new PoolGeometry(3, [1, n, n], [1, o, o], [[0], st, st], [[1], en, en], [[1], dv, dv], [1, 1, 1]);
        }
        var plan = CudnnPoolPlan.For(Adaptive(12, 4), out _);
        Assert.That(plan, Is.Not.Null);
        Assert.That((plan!.Window, plan.Stride, plan.Pad), Is.EqualTo((new[] { 3, 3 }, new[] { 3, 3 }, new[] { 0, 0 })));
        var global = CudnnPoolPlan.For(Adaptive(7, 1), out _);
        Assert.That(global!.Window, Is.EqualTo(new[] { 7, 7 }));
        Assert.That(CudnnPoolPlan.For(Adaptive(10, 4), out string why), Is.Null);
        Assert.That(why, Does.Contain("adaptive"));
    }

    [Test]
    public void DilatedPoolingHasNoCudnnPlan()
    {
        var g = new PoolGeometry(1, [1, 5, 5], [1, 1, 1], [[0], [0], [0]], [[1], [5], [5]], [[1], [1], [1]], [1, 2, 2]);
        Assert.That(CudnnPoolPlan.For(g, out string why), Is.Null);
        Assert.That(why, Does.Contain("dilation"));
    }
}
