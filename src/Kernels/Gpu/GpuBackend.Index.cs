namespace Engine.Kernels.Gpu;

// Index ops: gather, scatter_add, index_select, index_add: CPU fallback for now (runs on the emulator's host-mapped memory; a DeviceException on a real GPU).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void Gather(in StridedView dst, in StridedView src, in StridedView index, int dim) => Cpu("gather").Gather(dst, src, index, dim);

    /// <inheritdoc/>
    public void ScatterAdd(in StridedView dst, in StridedView index, in StridedView src, int dim) => Cpu("scatter_add").ScatterAdd(dst, index, src, dim);

    /// <inheritdoc/>
    public void IndexSelect(in StridedView dst, in StridedView src, in StridedView index, int dim) => Cpu("index_select").IndexSelect(dst, src, index, dim);

    /// <inheritdoc/>
    public void IndexAdd(in StridedView dst, in StridedView index, in StridedView src, int dim) => Cpu("index_add").IndexAdd(dst, index, src, dim);
}
