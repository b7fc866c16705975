using Engine.Kernels.Gpu;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// LRN across channels (n = 5, α = 1e-4, β = 0.75, k = 2) on AlexNet's first LRN input, 128×96×55×55 float32, with the
/// hand-written kernels of lrn.ptx: the sliding-window ones and the simple ones, forward, backward and both. Bytes are
/// each kernel's compulsory traffic: forward reads x and writes y (8 B/element); the sliding backward reads x and dy
/// and writes dx (12 B/element: it recomputes s from x and never reads y); the simple backward also reads y
/// (16 B/element). Targets from issue 6: forward 0.125 ms, forward+backward 0.30 ms.
/// </summary>
public sealed class LrnGpuBenchmarks : IGpuBenchmark
{
    private const int N = 128, C = 96, H = 55, W = 55, Size = 5;
    private const double Alpha = 1e-4, Beta = 0.75, K = 2;

    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var b = suite.Backend;
        var dev = b.Device;
        const int s = H * W;
        const double el = (double)N * C * s;
        var g = new Generator(6);
        // Random values made on the host and copied over (the benchmark needs no device random-number kernel).
        using var xh = Tensor.Randn([N, C, H, W], DType.Float32, g) * 3.0;
        using var dyh = Tensor.Randn([N, C, H, W], DType.Float32, g);
        var x = xh.To(dev);
        var dy = dyh.To(dev);
        var y = Tensor.Zeros([N, C, H, W], DType.Float32, dev);
        var dx = Tensor.Zeros([N, C, H, W], DType.Float32, dev);
        const string op = "lrn_benchmark";
        var xv = x.View(op);
        var yv = y.View(op);
        var dyv = dy.View(op);
        var dxv = dx.View(op);
        string shape = $"{N}x{C}x{H}x{W} n={Size}";
        var old = b.LrnKernels;
        try
        {
            foreach (var which in new[] { LrnKernels.Sliding, LrnKernels.Simple })
            {
                b.LrnKernels = which;
                string name = which == LrnKernels.Sliding ? "lrn" : "lrn simple";
                double bwdBytes = (which == LrnKernels.Sliding ? 12 : 16) * el;
                void Forward() => b.LrnForward(new(N, C, s, Size, Alpha, Beta, K), yv, xv);
                void Backward() => b.LrnBackward(new(N, C, s, Size, Alpha, Beta, K), dxv, dyv, xv, yv);
                suite.Case($"{name} forward", shape, Forward, 8 * el, targetMs: 0.125);
                suite.Case($"{name} backward", shape, Backward, bwdBytes);
                suite.Case($"{name} forward+backward", shape, () => { Forward(); Backward(); }, 8 * el + bwdBytes, targetMs: 0.30);
            }
        }
        finally { b.LrnKernels = old; }
    }
}
