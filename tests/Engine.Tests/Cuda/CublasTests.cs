using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests.CudaTests;

/// <summary>
/// Matrix products through cuBLAS on a real GPU against the CPU backend: random shapes, transposed and strided operands,
/// broadcast batches, TF32 on and off, float64, gradients. [Category("Cuda")]: ignored without a GPU.
/// </summary>
[NonParallelizable]
public class CublasTests
{
    private static readonly Device Gpu0 = Device.Cuda(0);
    private static GpuBackend Gpu => (GpuBackend)Backends.For(Gpu0);

    // Relative to the size of the products: |got − expected| ≤ tol · (‖row of x‖·‖column of y‖ bound) ≈ tol · √K · scale².
    private static void AssertMatMulClose(Tensor got, Tensor expected, long k, double tol)
    {
        var g = got.ToDoubleArray();
        var e = expected.ToDoubleArray();
        Assert.That(g, Has.Length.EqualTo(e.Length));
        double bound = tol * Math.Sqrt(Math.Max(k, 1));
        for (int i = 0; i < g.Length; i++)
            Assert.That(Math.Abs(g[i] - e[i]), Is.LessThanOrEqualTo(bound + tol * Math.Abs(e[i])), $"element {i}: got {g[i]}, expected {e[i]}");
    }

    private static (Tensor Cpu, Tensor Dev) Operand(Generator gen, long[] shape, DType dt, int layout)
    {
        // layout 0: contiguous; 1: the transpose of a contiguous tensor; 2: a column slice (strided rows); 3: every other column.
        Tensor baseT = layout switch
        {
            1 => Tensor.Randn([.. shape[..^2], shape[^1], shape[^2]], dt, gen).Transpose(-1, -2),
            2 => Tensor.Randn([.. shape[..^1], shape[^1] + 3], dt, gen).Narrow(shape.Length - 1, 1, shape[^1]),
            3 => Tensor.Randn([.. shape[..^1], shape[^1] * 2], dt, gen).Slice(shape.Length - 1, 0, shape[^1] * 2, 2),
            _ => Tensor.Randn(shape, dt, gen),
        };
        return (baseT, baseT.To(Gpu0));
    }

    [Test, Category("Cuda")]
    public void MatMulMatchesTheCpuOverRandomShapesAndLayouts([Values(DType.Float32, DType.Float64)] DType dt, [Values(true, false)] bool tf32, [Range(0, 5)] int trial)
    {
        TestDevice.Cuda.Require();
        var r = TestUtil.Rng();
        var gen = TestUtil.Gen();
        bool was = GpuBackend.AllowTf32;
        GpuBackend.AllowTf32 = tf32;
        try
        {
            long b = r.Next(1, 4), m = r.Next(1, 70), k = r.Next(1, 90), n = r.Next(1, 70);
            long[] xs = trial % 2 == 0 ? [b, m, k] : [m, k];
            long[] ys = trial % 3 == 0 ? [k, n] : [b, k, n];   // broadcast batch when y is 2-D and x 3-D
            var (xc, xd) = Operand(gen, xs, dt, r.Next(0, 4));
            var (yc, yd) = Operand(gen, ys, dt, r.Next(0, 4));
            long calls = Gpu.LibraryCalls, fallbacks = Gpu.CpuFallbacks;
            using var expected = xc.MatMul(yc);
            using var got = xd.MatMul(yd);
            double tol = dt == DType.Float64 ? 1e-13 : tf32 ? 2e-3 : 1e-5;
            AssertMatMulClose(got, expected, k, tol);
            Assert.That(Gpu.LibraryCalls, Is.GreaterThan(calls), "cuBLAS ran");
            Assert.That(Gpu.CpuFallbacks, Is.EqualTo(fallbacks), "no CPU fallback");
        }
        finally { GpuBackend.AllowTf32 = was; }
    }

    [Test, Category("Cuda")]
    public void Tf32OffIsFullFloat32Precision()
    {
        TestDevice.Cuda.Require();
        var gen = TestUtil.Gen();
        bool was = GpuBackend.AllowTf32;
        try
        {
            using var x = Tensor.Randn([256, 512], DType.Float64, gen);
            using var y = Tensor.Randn([512, 256], DType.Float64, gen);
            using var exact = x.MatMul(y);
            using var xg = x.To(DType.Float32).To(Gpu0);
            using var yg = y.To(DType.Float32).To(Gpu0);
            GpuBackend.AllowTf32 = false;
            using var fp32 = xg.MatMul(yg);
            GpuBackend.AllowTf32 = true;
            using var tf = xg.MatMul(yg);
            double Err(Tensor t) => t.ToDoubleArray().Zip(exact.ToDoubleArray(), (a, e) => Math.Abs(a - e)).Max();
            Assert.That(Err(fp32), Is.LessThan(1e-3), "float32 accumulation error over K = 512");
            Assert.That(Err(tf), Is.LessThan(0.1), "TF32 error");
        }
        finally { GpuBackend.AllowTf32 = was; }
    }

    [Test, Category("Cuda")]
    public void MatMulGradientsMatchTheCpu()
    {
        TestDevice.Cuda.Require();
        var gen = TestUtil.Gen();
        using var x = Tensor.Randn([3, 17, 29], DType.Float64, gen).RequiresGrad_();
        using var y = Tensor.Randn([29, 13], DType.Float64, gen).RequiresGrad_();
        using var xg = x.Detach().To(Gpu0).RequiresGrad_();
        using var yg = y.Detach().To(Gpu0).RequiresGrad_();
        x.MatMul(y).Sum().Backward();
        xg.MatMul(yg).Sum().Backward();
        TestUtil.AssertClose(xg.Grad!, x.Grad!, 1e-10, 1e-10);
        TestUtil.AssertClose(yg.Grad!, y.Grad!, 1e-10, 1e-10);
    }

    [Test, Category("Cuda")]
    public void EmptyContractionGivesZerosAndIntegerMatMulIsRejected()
    {
        TestDevice.Cuda.Require();
        using var x = Tensor.Zeros([4, 0], DType.Float32, Gpu0);
        using var y = Tensor.Zeros([0, 5], DType.Float32, Gpu0);
        using var z = x.MatMul(y);
        Assert.That(z.ToArray<float>(), Is.All.EqualTo(0f));
        using var a = Tensor.Zeros([2, 2], DType.Int64, Gpu0);
        Assert.Throws<DTypeException>(() => a.MatMul(a).Dispose());
    }
}
