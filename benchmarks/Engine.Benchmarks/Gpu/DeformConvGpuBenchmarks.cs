using Engine.Kernels.Fused;
using Engine.Kernels.Gpu;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// Deformable convolution (DCNv2: offsets and mask) at a ResNet-50 stage-4 size, the 3×3 conv of its bottlenecks:
/// input 32×256×14×14 float32, weight 256×256×3×3, padding 1, one offset group, offsets of a few pixels. The three
/// kernels of deform_conv.ptx alone, per-tap (the default) and simple (bytes: their compulsory traffic, E = C·9·N·14·14
/// column elements: im2col writes 4E and reads the input, offsets and mask once; col2im reads 4E and adds into the input
/// gradient; col2im_coord reads the columns once per-tap, twice simple, plus input, offsets and mask) and the whole <see cref="Functional.DeformConv2d"/> forward and
/// forward+backward (FLOPs: the GEMM, 2·O·C·9·N·14·14, times 3 with the backward). PyTorch's side is
/// benchmarks/deform_conv_torch.py (torchvision.ops.deform_conv2d on the same shapes).
/// </summary>
public sealed class DeformConvGpuBenchmarks : IGpuBenchmark
{
    private const int N = 32, C = 256, H = 14, W = 14, O = 256, K = 3;

    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var gpu = suite.Backend;
        var dev = gpu.Device;
        var g = new Generator(13);
        const int kk = K * K, hw = H * W;
        var x = Tensor.Randn([N, C, H, W], DType.Float32, g).To(dev);
        var offset = (Tensor.Randn([N, 2 * kk, H, W], DType.Float32, g) * 2.0).To(dev);
        var mask = Tensor.Rand([N, kk, H, W], DType.Float32, g).To(dev);
        var weight = (Tensor.Randn([O, C, K, K], DType.Float32, g) * 0.02).To(dev);
        var bias = Tensor.Randn([O], DType.Float32, g).To(dev);
        var cols = Tensor.Empty([C * kk, N * hw], DType.Float32, dev, op: "bench");
        var gcols = Tensor.Randn([C * kk, N * hw], DType.Float32, g).To(dev);
        var gx = Tensor.Zeros([N, C, H, W], DType.Float32, dev);
        var goff = Tensor.Empty(offset.ShapeSpan, DType.Float32, dev, op: "bench");
        var gmask = Tensor.Empty(mask.ShapeSpan, DType.Float32, dev, op: "bench");
        var geo = new DeformGeometry(N, C, H, W, K, K, H, W, 1, 1, 1, 1, 1, 1, 1, true);
        const string op = "bench";
        double e = (double)C * kk * N * hw * 4, small = ((double)N * C * hw + 3.0 * N * kk * hw) * 4;
        double flops = 2.0 * O * C * kk * N * hw;
        string shape = $"{N}x{C}x{H}x{W} 3x3 O={O} mask";

        var old = gpu.DeformKernels;
        try
        {
            foreach (var kernels in new[] { DeformKernels.PerTap, DeformKernels.Simple })
            {
                gpu.DeformKernels = kernels;
                string k = kernels == DeformKernels.PerTap ? "" : " (simple)";
                suite.Case($"deform im2col{k}", shape, () =>
                    FusedOps.DeformIm2Col.Run(gpu, new DeformIm2ColArgs(cols.View(op), x.View(op), offset.View(op), mask.View(op), geo)), e + small);
                suite.Case($"deform col2im{k}", shape, () =>
                    FusedOps.DeformCol2Im.Run(gpu, new DeformCol2ImArgs(gx.View(op), gcols.View(op), offset.View(op), mask.View(op), geo)), e + 2 * small);
                // the simple kernel reads the columns twice (its dy and dx threads), the per-tap one once
                suite.Case($"deform col2im_coord (+mask grad){k}", shape, () =>
                    FusedOps.DeformCol2ImCoord.Run(gpu, new DeformCol2ImCoordArgs(goff.View(op), gmask.View(op), gcols.View(op), x.View(op),
                        offset.View(op), mask.View(op), geo)), (kernels == DeformKernels.PerTap ? e : 2 * e) + 2 * small);
            }
        }
        finally { gpu.DeformKernels = old; }

        suite.Case("deform_conv2d forward", shape, () =>
        {
            using var scope = Tensor.NewDisposeScope();
            Functional.DeformConv2d(x, offset, weight, bias, 1, 1, 1, mask);
        }, 0, flops);

        var leaves = new[] { x, offset, weight, bias, mask }.Select(t => t.Detach().RequiresGrad_()).ToArray();
        var upstream = Tensor.Randn([N, O, H, W], DType.Float32, g).To(dev);
        suite.Case("deform_conv2d forward+backward", shape, () =>
        {
            using var scope = Tensor.NewDisposeScope();
            foreach (var t in leaves) t.Grad = null;
            Functional.DeformConv2d(leaves[0], leaves[1], leaves[2], leaves[3], 1, 1, 1, leaves[4]).Backward(upstream);
        }, 0, 3 * flops);
    }
}
