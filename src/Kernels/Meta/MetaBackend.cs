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
    public void BatchNormForward(int n, int c, int s, in StridedView y, in StridedView x, StridedView? weight, StridedView? bias,
        StridedView? runningMean, StridedView? runningVar, bool training, double momentum, double eps, in StridedView saveMean, in StridedView saveInvStd) { }
    public void BatchNormBackward(int n, int c, int s, StridedView? dx, StridedView? dw, StridedView? db, in StridedView dy, in StridedView x,
        StridedView? weight, in StridedView saveMean, in StridedView saveInvStd, bool training) { }
    public void LrnForward(int n, int c, int s, int size, double alpha, double beta, double k, in StridedView y, in StridedView x) { }
    public void LrnBackward(int n, int c, int s, int size, double alpha, double beta, double k, in StridedView dx, in StridedView dy, in StridedView x, in StridedView y) { }
    public void CutMix(in StridedView dst, in StridedView src, in StridedView partner, int y1, int y2, int x1, int x2) { }
    public void CutMixLabels(in StridedView dst, in StridedView labels, in StridedView partner, double lambda) { }
    public void SgdUpdate(in StridedView param, in StridedView grad, StridedView? momentumBuffer, double lr, double momentum,
        double dampening, double weightDecay, bool nesterov, bool firstStep) { }
    public void AdamUpdate(in StridedView param, in StridedView grad, in StridedView expAvg, in StridedView expAvgSq, StridedView? maxExpAvgSq,
        double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, double biasCorrection1, double biasCorrection2) { }
    public void KlDiv(in StridedView dst, in StridedView input, in StridedView target, bool logTarget, bool reduce, double scale) { }
    public void KlDivBackward(StridedView? dInput, StridedView? dTarget, in StridedView grad, in StridedView input, in StridedView target, bool logTarget, double scale) { }
    public void DistillationLoss(in StridedView loss, in StridedView rowLoss, StridedView? dStudent, in StridedView student, in StridedView teacher,
        in StridedView labels, double temperature, double klScale, double ceScale) { }
#pragma warning restore CS1591
}
