using Engine.Kernels.Ptx;

namespace Engine.Kernels.Gpu;

// CutMix images and soft labels: the hand-written kernels of Kernels/cutmix.ptx.
public sealed partial class GpuBackend
{
    // The kernels' row and column indices are 32-bit and advance by a grid stride (at most 65535 · 256 threads): keeping
    // the counts that far below 2^32 means an index never wraps to a small value and revisits (or loops forever).
    private const long CutMixIndexLimit = uint.MaxValue - 65535L * 256;

    /// <summary>The GPU implementation of <see cref="Fused.FusedOps.CutMixImages"/>.</summary>
    public void CutMix(in StridedView dst, in StridedView src, in StridedView partner, int y1, int y2, int x1, int x2)
    {
        const string op = "cutmix";
        int es = dst.DType.ElementSize();
        if (es is not (4 or 8)) throw new DTypeException(op, $"images of dtype {dst.DType.Name()} have no kernel on {Device} (4- or 8-byte elements only)");
        if (!dst.IsContiguous || !src.IsContiguous || dst.Rank != 4)
            throw new ShapeException(op, "images must be contiguous [N, C, H, W]");
        long n = dst.Shape[0], c = dst.Shape[1], h = dst.Shape[2];
        long rows = c * h, words = dst.Shape[3] * (es / 4);
        if (n * rows >= CutMixIndexLimit || words >= int.MaxValue)
            throw new ShapeException(op, $"batch of shape {ShapeUtil.Format(dst.Shape)} is too large for 32-bit row indices");
        ulong d = Addr(dst, op), s = Addr(src, op), p = Addr(partner, op);
        if (n * rows * words == 0) return;
        uint wx1 = (uint)(x1 * (es / 4)), wx2 = (uint)(x2 * (es / 4));
        if (d == s)
        {
            // in place: boxes to a scratch buffer, then each box from its partner's copy
            if (y2 <= y1 || x2 <= x1) return;
            uint bh = (uint)(y2 - y1), bw = wx2 - wx1;
            var scratch = (GpuStorage)Allocate(n * c * bh * bw * 4, zero: false);
            try
            {
                var (grid, block) = Shape2D(bw, c * bh, n);
                Launch(EmbeddedKernel("cutmix", "cutmix_box_gather"), grid, block, 0, new ParamBuffer()
                    .U64(scratch.Address).U64(d).U32((uint)n).U32((uint)c).U32((uint)h).U32((uint)words).U32((uint)y1).U32(bh).U32(wx1).U32(bw));
                Launch(EmbeddedKernel("cutmix", "cutmix_box_paste"), grid, block, 0, new ParamBuffer()
                    .U64(d).U64(scratch.Address).U64(p).U32((uint)n).U32((uint)c).U32((uint)h).U32((uint)words).U32((uint)y1).U32(bh).U32(wx1).U32(bw));
            }
            finally { scratch.Release(); }
            return;
        }
        // out of place: 16-byte quads when every row starts 16-byte aligned, else one word per thread
        bool v4 = words % 4 == 0 && d % 16 == 0 && s % 16 == 0;
        var (g, b) = Shape2D(v4 ? words / 4 : words, rows, n);
        Launch(EmbeddedKernel("cutmix", v4 ? "cutmix_mix_v4" : "cutmix_mix_w1"), g, b, 0, new ParamBuffer()
            .U64(d).U64(s).U64(p).U32((uint)n).U32((uint)rows).U32((uint)h).U32((uint)words)
            .U32((uint)y1).U32((uint)y2).U32(wx1).U32(wx2));
    }

    /// <summary>
    /// Grid and block for the CutMix kernels: block x a multiple of 32 covering <paramref name="units"/> per row (up to 256),
    /// the rest of 256 threads over rows; grid x covers the units, grid y and z (images) are capped and looped over.
    /// </summary>
    private static (Dim3 Grid, Dim3 Block) Shape2D(long units, long rows, long images)
    {
        int bx = (int)Math.Min(256, (units + 31) / 32 * 32), by = 256 / bx;
        long gx = (units + bx - 1) / bx, gy = Math.Min((rows + by - 1) / by, 65535), gz = Math.Min(images, 65535);
        return (new Dim3((int)gx, (int)gy, (int)gz), new Dim3(bx, by, 1));
    }

    /// <summary>The GPU implementation of <see cref="Fused.FusedOps.CutMixLabels"/>.</summary>
    public void CutMixLabels(in StridedView dst, in StridedView labels, in StridedView partner, double lambda)
    {
        const string op = "cutmix_labels";
        if (dst.DType is not (DType.Float32 or DType.Float64)) throw new DTypeException(op, $"soft labels must be float32 or float64, got {dst.DType.Name()}");
        if (!dst.IsContiguous || dst.Rank != 2) throw new ShapeException(op, "soft labels must be contiguous [N, classes]");
        long n = dst.Shape[0], k = dst.Shape[1];
        if (n * k >= CutMixIndexLimit) throw new ShapeException(op, $"labels of shape {ShapeUtil.Format(dst.Shape)} are too large for 32-bit indices");
        ulong d = Addr(dst, op), y = Addr(labels, op), p = Addr(partner, op);
        if (n * k == 0) return;
        var pb = new ParamBuffer().U64(d).U64(y).U64(p).U32((uint)n).U32((uint)k);
        bool f32 = dst.DType == DType.Float32;
        if (f32) pb.F32((float)lambda).F32((float)(1 - lambda));
        else pb.F64(lambda).F64(1 - lambda);
        int bx = (int)Math.Min(256, (k + 31) / 32 * 32), by = 256 / bx;
        var grid = new Dim3(1, (int)Math.Min((n + by - 1) / by, 65535), 1);
        Launch(EmbeddedKernel("cutmix", f32 ? "cutmix_labels_f32" : "cutmix_labels_f64"), grid, new Dim3(bx, by, 1), 0, pb);
    }
}
