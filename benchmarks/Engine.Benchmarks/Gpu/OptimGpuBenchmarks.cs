using System.Globalization;
using Engine.Nn;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// Optimizer steps over 25 M float32 parameters (one tensor, a ResNet-50-sized model), fused (one optim.ptx kernel per
/// parameter) against the unfused chain of elementwise kernels the optimizers used before (<c>FusedUpdates = false</c>;
/// it also takes its scratch buffers from the allocator every step). Bytes are the compulsory traffic of the update,
/// the same for both: Adam reads p, g, m, v and writes p, m, v (28 B per parameter); SGD with momentum reads p, g, buf
/// and writes p, buf (20 B per parameter). The target is 85% of the copy bandwidth measured in the same run.
/// </summary>
public sealed class OptimGpuBenchmarks : IGpuBenchmark
{
    private const long N = 25_000_000;

    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var dev = suite.Backend.Device;
        var gen = new Generator(7);
        Tensor OnDevice(double scale) => (Tensor.Randn([N], DType.Float32, gen) * scale).To(dev);
        string shape = N.ToString("N0", CultureInfo.InvariantCulture) + " float32";
        double Target(double bytes) => bytes / (0.85 * suite.CopyGBs * 1e9) * 1e3;

        var p = OnDevice(0.1).RequiresGrad_();
        p.Grad = OnDevice(1e-2);
        using (var adam = new Adam([p], lr: 1e-3, weightDecay: 1e-4))
        {
            double bytes = 28.0 * N;
            suite.Case("adam step, fused", shape, adam.Step, bytes, targetMs: Target(bytes));
            adam.FusedUpdates = false;
            suite.Case("adam step, unfused chain", shape, adam.Step, bytes);
        }
        using (var sgd = new SGD([p], lr: 1e-2, momentum: 0.9))
        {
            double bytes = 20.0 * N;
            suite.Case("sgd momentum step, fused", shape, sgd.Step, bytes, targetMs: Target(bytes));
            sgd.FusedUpdates = false;
            suite.Case("sgd momentum step, unfused chain", shape, sgd.Step, bytes);
        }
    }
}
