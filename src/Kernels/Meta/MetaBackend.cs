namespace Engine.Kernels.Meta;

/// <summary>
/// The shape-only device (PyTorch's "meta"): tensors have shapes, dtypes and strides but no memory, and every
/// kernel does nothing, so a forward pass computes every shape (and the autograd graph) at almost no cost. Used to
/// count a model's multiply-accumulates at full input size (<c>engine models</c>). Values read back are zeros.
/// </summary>
public sealed class MetaBackend : IBackend
{
    private sealed class MetaStorage(long bytes) : Storage(bytes)
    {
        public override Device Device => Device.Meta;
        protected override void Free() { }
    }

    /// <inheritdoc/>
    public Device Device => Device.Meta;

    /// <inheritdoc/>
    public Storage Allocate(long bytes, bool zero) => new MetaStorage(bytes);

    /// <inheritdoc/>
    public void CopyToHost(in StridedView src, Span<byte> dst) => dst.Clear();

#pragma warning disable CS1591 // every other kernel does nothing: there are no values
    public void Copy(in StridedView dst, in StridedView src) { }
    public void Fill(in StridedView dst, double value) { }
    public void CopyFromHost(in StridedView dst, ReadOnlySpan<byte> src) { }
    public void Unary(UnaryOp op, in StridedView dst, in StridedView src, double a, double b) { }
    public void Binary(BinaryOp op, in StridedView dst, in StridedView x, in StridedView y, double a, double b) { }
    public void Where(in StridedView dst, in StridedView cond, in StridedView x, in StridedView y) { }
    public void Reduce(ReduceOp op, in StridedView dst, in StridedView src) { }
    public void ArgReduce(bool max, in StridedView values, in StridedView indices, in StridedView src, int dim) { }
    public void MatMul(in StridedView dst, in StridedView x, in StridedView y) { }
    public void Softmax(in StridedView dst, in StridedView src, bool log, double scale) { }
    public void SoftmaxBackward(in StridedView dst, in StridedView grad, in StridedView y, bool log, double scale) { }
    public void Gather(in StridedView dst, in StridedView src, in StridedView index, int dim) { }
    public void ScatterAdd(in StridedView dst, in StridedView index, in StridedView src, int dim) { }
    public void IndexSelect(in StridedView dst, in StridedView src, in StridedView index, int dim) { }
    public void IndexAdd(in StridedView dst, in StridedView index, in StridedView src, int dim) { }
    public void FillRandom(in StridedView dst, RandomKind kind, ulong seed, ulong offset, double a, double b) { }
    public void ConvForward(ConvGeometry g, in StridedView y, in StridedView x, in StridedView w, StridedView? bias) { }
    public void ConvBackwardData(ConvGeometry g, in StridedView dx, in StridedView dy, in StridedView w) { }
    public void ConvBackwardWeight(ConvGeometry g, in StridedView dw, StridedView? db, in StridedView dy, in StridedView x) { }
    public void MaxPoolForward(PoolGeometry g, in StridedView y, in StridedView indices, in StridedView x) { }
    public void MaxPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy, in StridedView indices) { }
    public void AvgPoolForward(PoolGeometry g, in StridedView y, in StridedView x) { }
    public void AvgPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy) { }
    public void BatchNormForward(BatchNormParams args, in StridedView y, in StridedView x, in BatchNormChannels channels, in BatchNormSaved saved) { }
    public void BatchNormBackward(BatchNormParams args, in BatchNormGrads grads, in StridedView dy, in StridedView x, StridedView? weight, in BatchNormSaved saved) { }
    public void LrnForward(LrnParams args, in StridedView y, in StridedView x) { }
    public void LrnBackward(LrnParams args, in StridedView dx, in StridedView dy, in StridedView x, in StridedView y) { }
#pragma warning restore CS1591
}
