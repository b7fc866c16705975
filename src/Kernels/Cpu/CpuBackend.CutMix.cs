namespace Engine.Kernels.Cpu;

// CutMix images and soft labels (CpuCutMix).
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void CutMix(in StridedView dst, in StridedView src, in StridedView partner, int y1, int y2, int x1, int x2)
    {
        switch (dst.DType.ElementSize())
        {
            case 4: CpuCutMix.Images<int>(dst, src, partner, y1, y2, x1, x2); break;
            case 8: CpuCutMix.Images<long>(dst, src, partner, y1, y2, x1, x2); break;
            default: throw Unsupported("cutmix", dst.DType);
        }
    }

    /// <inheritdoc/>
    public void CutMixLabels(in StridedView dst, in StridedView labels, in StridedView partner, double lambda)
    {
        switch (dst.DType)
        {
            case DType.Float32: CpuCutMix.Labels<float>(dst, labels, partner, lambda); break;
            case DType.Float64: CpuCutMix.Labels<double>(dst, labels, partner, lambda); break;
            default: throw Unsupported("cutmix_labels", dst.DType);
        }
    }
}
