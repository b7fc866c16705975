using Engine.Kernels;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// The fused knowledge-distillation loss (distillation.ptx: loss and student gradient, two launches) and the KL divergence
/// kernels (kl_div.ptx), float32, called at the backend level so only the kernels are timed; plus the whole
/// Functional.DistillationLoss forward and backward for reference (it also validates the labels on the host).
/// Bytes are the compulsory traffic: distillation reads s and t (4 + 4 bytes per element) and the labels (8 per row)
/// and writes dStudent (4 per element); KL pointwise reads x, t and writes the terms (12 per element), the reduced
/// forward reads x, t (8), the backward of a reduced loss reads t and writes dx (8).
/// </summary>
public sealed class DistillationGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var dev = suite.Backend.Device;
        var be = suite.Backend;
        var g = new Generator(1234);
        const double temperature = 4, alpha = 0.7;
        foreach (var (b, target) in new[] { (8192, 0.05), (256, 0.02) })
        {
            const int c = 1000;
            // inputs drawn on the CPU (random fills have no GPU kernel yet) and copied over
            var s = Tensor.Randn([b, c], DType.Float32, g).Mul(3.0).To(dev);
            var t = Tensor.Randn([b, c], DType.Float32, g).Mul(3.0).To(dev);
            var y = Tensor.RandInt(0, c, [b], DType.Int64, g).To(dev);
            var loss = Tensor.Empty([], DType.Float32, dev, op: "bench");
            var rows = Tensor.Empty([b], DType.Float32, dev, op: "bench");
            var ds = Tensor.Empty([b, c], DType.Float32, dev, op: "bench");
            double klScale = alpha * temperature * temperature / b, ceScale = (1 - alpha) / b;
            double bytes = 12.0 * b * c + 8.0 * b;
            var (lv, rv, dv, sv, tv, yv) = (loss.View("bench"), rows.View("bench"), ds.View("bench"), s.View("bench"), t.View("bench"), y.View("bench"));
            suite.Case("distillation fwd+bwd (fused kernel)", $"{b}x{c}", () => be.DistillationLoss(lv, rv, dv, sv, tv, yv, temperature, klScale, ceScale), bytes, targetMs: target);
            var leaf = s.Detach().RequiresGrad_();
            suite.Case("distillation fwd+bwd (Functional + autograd)", $"{b}x{c}", () =>
            {
                using var scope = Tensor.NewDisposeScope();
                leaf.Grad = null;
                Functional.DistillationLoss(leaf, t, y, temperature, alpha).Backward();
            }, bytes);
        }

        var shape = new long[] { 8192, 1000 };
        long n = shape[0] * shape[1];
        var x = Tensor.Randn(shape, DType.Float32, g).Mul(0.5).Sub(7.0).To(dev);   // log-probability-like values
        var p = Tensor.Rand(shape, DType.Float32, g).To(dev);
        var lp = Tensor.Randn(shape, DType.Float32, g).Mul(0.5).Sub(8.0).To(dev);
        var point = Tensor.Empty(shape, DType.Float32, dev, op: "bench");
        var scalar = Tensor.Empty([], DType.Float32, dev, op: "bench");
        var one = Tensor.Ones([], DType.Float32, dev);
        var dx = Tensor.Empty(shape, DType.Float32, dev, op: "bench");
        var (xv, pv, lpv, ptv, scv, onev, dxv) = (x.View("bench"), p.View("bench"), lp.View("bench"), point.View("bench"), scalar.View("bench"), one.View("bench"), dx.View("bench"));
        suite.Case("kl_div forward, reduction none", "8192x1000", () => be.KlDiv(ptv, xv, pv, false, false, 1), 12.0 * n);
        suite.Case("kl_div forward, batchmean (partials + finish)", "8192x1000", () => be.KlDiv(scv, xv, pv, false, true, 1.0 / shape[0]), 8.0 * n);
        suite.Case("kl_div forward, log target, batchmean", "8192x1000", () => be.KlDiv(scv, xv, lpv, true, true, 1.0 / shape[0]), 8.0 * n);
        suite.Case("kl_div backward (dInput of a reduced loss)", "8192x1000", () => be.KlDivBackward(dxv, null, onev, xv, pv, false, 1.0 / shape[0]), 8.0 * n);
    }
}
