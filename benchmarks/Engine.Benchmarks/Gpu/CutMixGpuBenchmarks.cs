using Engine.Kernels.Ptx;
using Engine.Kernels.Gpu;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// CutMix on a 256x3x224x224 float32 batch on the GPU (issue 6's shape; torchvision v2.CutMix takes 0.38 ms on an
/// H100, the target is 0.12 ms). Bytes are the compulsory traffic: out of place, read N·C·H·W + write N·C·H·W floats;
/// in place, read the partners' boxes + write the boxes (2 × box area × N·C floats; the kernel's scratch round trip
/// is extra traffic it pays for, not counted); labels, the soft labels written plus the labels read. The one-word-per-thread
/// kernel runs on the same batch next to the 16-byte-quad one, and on W = 227 where rows are not 16-byte aligned.
/// </summary>
public sealed class CutMixGpuBenchmarks : IGpuBenchmark
{
    /// <inheritdoc/>
    public void Run(GpuSuite suite)
    {
        var dev = suite.Backend.Device;
        var gpu = suite.Backend;
        const int n = 256, c = 3, h = 224, w = 224;
        var images = Tensor.Rand([n, c, h, w], DType.Float32, new Generator(1), dev);
        // a box of about half the image (λ ≈ 0.5), the mean case of α = 1
        long[] perm = [.. Enumerable.Range(0, n).Select(i => (long)((i * 97 + 13) % n))];
        var box = new CutMixBox(perm, 33, 191, 33, 191, 1 - 158.0 * 158 / (h * w));
        var partner = Tensor.FromArray(perm).To(dev);
        var mixed = Tensor.Zeros([n, c, h, w], DType.Float32, dev);
        double full = 2.0 * n * c * h * w * sizeof(float);
        string shape = $"{n}x{c}x{h}x{w}";
        suite.Case("cutmix out of place (16-byte quads)", shape,
            () => gpu.CutMix(mixed.View("b"), images.View("b"), partner.View("b"), box.Y1, box.Y2, box.X1, box.X2), full, targetMs: 0.12);

        var simple = gpu.EmbeddedKernel("cutmix", "cutmix_mix_w1");
        var p = new ParamBuffer().U64(gpu.AddressOf(mixed.View("b"), "b")).U64(gpu.AddressOf(images.View("b"), "b")).U64(gpu.AddressOf(partner.View("b"), "b"))
            .U32(n).U32(c * h).U32(h).U32(w).U32((uint)box.Y1).U32((uint)box.Y2).U32((uint)box.X1).U32((uint)box.X2);
        suite.Case("cutmix out of place (one word per thread)", shape,
            () => gpu.Launch(simple, new Dim3((w + 63) / 64, (c * h + 3) / 4, n), new Dim3(64, 4, 1), 0, p), full);

        double boxBytes = 2.0 * n * c * (box.Y2 - box.Y1) * (box.X2 - box.X1) * sizeof(float);
        suite.Case("cutmix in place (boxes only)", shape + " box 158x158",
            () => gpu.CutMix(images.View("b"), images.View("b"), partner.View("b"), box.Y1, box.Y2, box.X1, box.X2), boxBytes);

        const int w2 = 227;
        var odd = Tensor.Rand([n, c, w2, w2], DType.Float32, new Generator(3), dev);
        var oddOut = Tensor.Zeros([n, c, w2, w2], DType.Float32, dev);
        suite.Case("cutmix out of place, W % 4 != 0 (one word per thread)", $"{n}x{c}x{w2}x{w2}",
            () => gpu.CutMix(oddOut.View("b"), odd.View("b"), partner.View("b"), 35, 195, 35, 195), 2.0 * n * c * w2 * w2 * sizeof(float));

        const int classes = 1000;
        var labels = Tensor.RandInt(0, classes, [n], DType.Int64, new Generator(4), dev);
        var soft = Tensor.Zeros([n, classes], DType.Float32, dev);
        suite.Case("cutmix soft labels", $"{n}x{classes}",
            () => gpu.CutMixLabels(soft.View("b"), labels.View("b"), partner.View("b"), box.Lambda), n * classes * 4.0 + n * 3 * 8.0);
    }
}
