using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// SGEMM 4096³ through cuBLAS (GpuBackend.MatMul on contiguous operands: one cublasGemmEx), with TF32 tensor cores
/// allowed (the default) and forbidden (full float32), and the float64 DGEMM for reference. TFLOP/s count 2·M·N·K;
/// bytes are the compulsory traffic (read A and B, write C).
/// </summary>
public sealed class CublasGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        const long n = 4096;
        var dev = suite.Backend.Device;
        foreach (var (dt, tf32, name) in new[] { (DType.Float32, true, "sgemm (TF32)"), (DType.Float32, false, "sgemm (fp32)"), (DType.Float64, false, "dgemm") })
        {
            var a = Tensor.Randn([1, n, n], dt, null, dev);
            var b = Tensor.Randn([1, n, n], dt, null, dev);
            var c = Tensor.Empty([1, n, n], dt, dev);
            StridedView av = a.View("bench"), bv = b.View("bench"), cv = c.View("bench");
            bool was = GpuBackend.AllowTf32;
            GpuBackend.AllowTf32 = tf32;
            try
            {
                suite.Case(name, "4096x4096x4096", () => suite.Backend.MatMul(cv, av, bv),
                    bytes: 3.0 * n * n * dt.ElementSize(), flops: 2.0 * n * n * n);
            }
            finally { GpuBackend.AllowTf32 = was; }
        }
    }
}
