using Engine.Kernels;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// Cross-channel LRN on AlexNet's first normalisation shape [128, 96, 55, 55], n = 5 (α = 1e-4, β = 0.75, k = 2), float32:
/// cuDNN's cudnnLRNCrossChannelForward/Backward beside the engine's own LRN kernel (GpuBackend.LrnForward/Backward, timed
/// here too so the two sit side by side; a row says so when the engine's kernel is not available on the GPU). Bytes: forward
/// reads x and writes y; backward reads x, y and dy and writes dx.
/// </summary>
public sealed class CudnnLrnGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        var be = suite.Backend;
        var dev = be.Device;
        const int n = 128, c = 96, s = 55 * 55, size = 5;
        const double alpha = 1e-4, beta = 0.75, k = 2;
        long[] shape = [n, c, s];
        var x = Tensor.Randn(shape, DType.Float32, null, dev);
        var y = Tensor.Empty(shape, DType.Float32, dev);
        var dy = Tensor.Randn(shape, DType.Float32, null, dev);
        var dx = Tensor.Empty(shape, DType.Float32, dev);
        StridedView xv = x.View("b"), yv = y.View("b"), dyv = dy.View("b"), dxv = dx.View("b");
        double e = 4.0 * x.NumEl;
        const string sh = "[128, 96, 55, 55] n=5";
        suite.Case("cudnn lrn fwd", sh, () => be.CudnnLrnForward(new(n, c, s, size, alpha, beta, k), yv, xv), 2 * e);
        suite.Case("cudnn lrn fwd+bwd", sh, () =>
        {
            be.CudnnLrnForward(new(n, c, s, size, alpha, beta, k), yv, xv);
            be.CudnnLrnBackward(new(n, c, s, size, alpha, beta, k), dxv, dyv, xv, yv);
        }, 2 * e + 4 * e);
        try
        {
            suite.Case("engine lrn fwd", sh, () => be.LrnForward(new(n, c, s, size, alpha, beta, k), yv, xv), 2 * e);
            suite.Case("engine lrn fwd+bwd", sh, () =>
            {
                be.LrnForward(new(n, c, s, size, alpha, beta, k), yv, xv);
                be.LrnBackward(new(n, c, s, size, alpha, beta, k), dxv, dyv, xv, yv);
            }, 2 * e + 4 * e);
        }
        catch (EngineException ex)
        {
            Console.WriteLine($"| engine lrn | {sh} | not available on the GPU: {ex.Message.Split('\n')[0]} |");
        }
    }
}
