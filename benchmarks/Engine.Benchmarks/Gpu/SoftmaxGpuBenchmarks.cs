using Engine.Kernels.Gpu;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// softmax.ptx: softmax(z/T) over the last dim, forward and backward, softmax and log-softmax, the fast kernels (chosen by
/// row length) against the simple one-thread-per-row kernel. Bytes are the compulsory traffic: forward read x and write y
/// (8 B per element), backward read g and y and write dx (12 B); the online kernel's second read of long rows is not
/// counted, so its GB/s shows what the re-read costs.
/// </summary>
public sealed class SoftmaxGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        var b = suite.Backend;
        var dev = b.Device;
        var g = new Generator(seed: 1);
        const double T = 4, k = 1 / T;

        void Cases(long rows, long n, double? forwardTarget, bool simple)
        {
            var x = Tensor.Randn([rows, n], DType.Float32, g).To(dev);   // random fill has no GPU kernel yet: made on the CPU
            var y = Tensor.Empty([rows, n], DType.Float32, dev);
            var grad = Tensor.Randn([rows, n], DType.Float32, g).To(dev);
            var dx = Tensor.Empty([rows, n], DType.Float32, dev);
            var (vx, vy, vg, vdx) = (x.View("bench"), y.View("bench"), grad.View("bench"), dx.View("bench"));
            double elems = (double)rows * n;
            string shape = $"{rows}x{n}";
            var kernels = simple ? new[] { SoftmaxKernel.Auto, SoftmaxKernel.Simple } : [SoftmaxKernel.Auto];
            foreach (var kernel in kernels)
            {
                string tag = kernel == SoftmaxKernel.Auto ? "fast" : "simple";
                suite.Case($"softmax(z/T) forward, {tag}", shape, () => b.Softmax(vy, vx, false, k, kernel), 8 * elems,
                    targetMs: kernel == SoftmaxKernel.Auto ? forwardTarget : null);
                suite.Case($"log_softmax(z/T) forward, {tag}", shape, () => b.Softmax(vy, vx, true, k, kernel), 8 * elems);
                b.Softmax(vy, vx, false, k, SoftmaxKernel.Auto);
                suite.Case($"softmax(z/T) backward, {tag}", shape, () => b.SoftmaxBackward(vdx, vg, vy, false, k, kernel), 12 * elems);
                b.Softmax(vy, vx, true, k, SoftmaxKernel.Auto);
                suite.Case($"log_softmax(z/T) backward, {tag}", shape, () => b.SoftmaxBackward(vdx, vg, vy, true, k, kernel), 12 * elems);
            }
        }

        Cases(8192, 1000, forwardTarget: 0.030, simple: true);   // classifier logits: warp per row
        Cases(8192, 10, forwardTarget: null, simple: false);     // few classes: mostly launch and index overhead
        Cases(2048, 8000, forwardTarget: null, simple: false);   // cached block per row
        Cases(64, 100_000, forwardTarget: null, simple: true);   // long rows: online max/sum, read twice
    }
}
