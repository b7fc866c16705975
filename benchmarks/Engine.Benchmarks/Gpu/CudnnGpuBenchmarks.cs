using Engine.Kernels;
using Engine.Kernels.Gpu;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// cuDNN through the GPU backend at ResNet-50 shapes, batch 32, float32 with TF32 allowed (the default):
/// the first layer (3→64, 7×7, stride 2, padding 3, 224×224 → 112×112) and a middle 3×3 layer (64→64 at 56×56, padding 1),
/// each forward, backward-data, backward-weight and the training step's forward + both backwards; then batch norm forward +
/// backward over the first layer's output [32, 64, 112, 112]. FLOPs count 2·N·O·C/g·k²·out² per direction; bytes are the
/// compulsory traffic (every operand read once, every result written once).
/// </summary>
public sealed class CudnnGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        Conv(suite, "conv1 7x7/2", new ConvGeometry(32, 3, 64, 1, [1, 224, 224], [1, 7, 7], [1, 2, 2], [0, 3, 3], [0, 3, 3], [1, 1, 1]));
        Conv(suite, "conv 3x3 (res2)", new ConvGeometry(32, 64, 64, 1, [1, 56, 56], [1, 3, 3], [1, 1, 1], [0, 1, 1], [0, 1, 1], [1, 1, 1]));
        BatchNorm(suite, 32, 64, 112 * 112);
    }

    private static void Conv(GpuSuite suite, string name, ConvGeometry g)
    {
        var be = suite.Backend;
        var dev = be.Device;
        long[] xs = [g.Batch, g.InChannels, g.In[1], g.In[2]], ws = [g.OutChannels, g.InPerGroup, g.Kernel[1], g.Kernel[2]], ys = [g.Batch, g.OutChannels, g.Out(1), g.Out(2)];
        var x = Tensor.Randn(xs, DType.Float32, null, dev);
        var w = Tensor.Randn(ws, DType.Float32, null, dev);
        var y = Tensor.Empty(ys, DType.Float32, dev);
        var dy = Tensor.Randn(ys, DType.Float32, null, dev);
        var dx = Tensor.Empty(xs, DType.Float32, dev);
        var dw = Tensor.Empty(ws, DType.Float32, dev);
        StridedView xv = x.View("b"), wv = w.View("b"), yv = y.View("b"), dyv = dy.View("b"), dxv = dx.View("b"), dwv = dw.View("b");
        double flops = 2.0 * g.Batch * g.OutChannels * g.InPerGroup * g.KernelVolume * g.OutPlane;
        double bx = 4.0 * x.NumEl, bw = 4.0 * w.NumEl, by = 4.0 * y.NumEl;
        string shape = $"N{g.Batch} {g.InChannels}->{g.OutChannels} {g.In[1]}x{g.In[2]}";
        suite.Case($"{name} fwd", shape, () => be.ConvForward(g, yv, xv, wv, null), bx + bw + by, flops);
        suite.Case($"{name} bwd data", shape, () => be.ConvBackwardData(g, dxv, dyv, wv), by + bw + bx, flops);
        suite.Case($"{name} bwd weight", shape, () => be.ConvBackwardWeight(g, dwv, null, dyv, xv), by + bx + bw, flops);
        suite.Case($"{name} fwd+bwd", shape, () =>
        {
            be.ConvForward(g, yv, xv, wv, null);
            be.ConvBackwardData(g, dxv, dyv, wv);
            be.ConvBackwardWeight(g, dwv, null, dyv, xv);
        }, 3 * (bx + bw + by), 3 * flops);
    }

    private static void BatchNorm(GpuSuite suite, int n, int c, int s)
    {
        var be = suite.Backend;
        var dev = be.Device;
        long[] shape = [n, c, s];
        var x = Tensor.Randn(shape, DType.Float32, null, dev);
        var y = Tensor.Empty(shape, DType.Float32, dev);
        var dy = Tensor.Randn(shape, DType.Float32, null, dev);
        var dx = Tensor.Empty(shape, DType.Float32, dev);
        var w = Tensor.Ones([c], DType.Float32, dev);
        var b = Tensor.Zeros([c], DType.Float32, dev);
        var rm = Tensor.Zeros([c], DType.Float32, dev);
        var rv = Tensor.Ones([c], DType.Float32, dev);
        var sm = Tensor.Empty([c], DType.Float32, dev);
        var si = Tensor.Empty([c], DType.Float32, dev);
        var dw = Tensor.Empty([c], DType.Float32, dev);
        var db = Tensor.Empty([c], DType.Float32, dev);
        StridedView xv = x.View("b"), yv = y.View("b"), dyv = dy.View("b"), dxv = dx.View("b"), wv = w.View("b"), bv = b.View("b"),
            rmv = rm.View("b"), rvv = rv.View("b"), smv = sm.View("b"), siv = si.View("b"), dwv = dw.View("b"), dbv = db.View("b");
        double e = 4.0 * x.NumEl;
        string sh = $"[{n}, {c}, {s}]";
        suite.Case("batch norm fwd (train)", sh, () => be.BatchNormForward(new(n, c, s, true, 0.1, 1e-5), yv, xv, new(wv, bv, rmv, rvv), new(smv, siv)), 2 * e);
        suite.Case("batch norm fwd+bwd", sh, () =>
        {
            be.BatchNormForward(new(n, c, s, true, 0.1, 1e-5), yv, xv, new(wv, bv, rmv, rvv), new(smv, siv));
            be.BatchNormBackward(new(n, c, s, true), new(dxv, dwv, dbv), dyv, xv, wv, new(smv, siv));
        }, 2 * e + 3 * e);
    }
}
