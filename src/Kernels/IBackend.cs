namespace Engine.Kernels;

/// <summary>
/// One compute backend (a device kind). The tensor layer validates every op and allocates outputs, then
/// calls exactly one of these kernels; a backend never sees bad shapes. Output views are freshly allocated
/// unless stated; input views may be strided, and broadcast inputs carry stride 0.
/// </summary>
public interface IBackend
{
    /// <summary>The device this backend runs on.</summary>
    Device Device { get; }

    /// <summary>Allocates memory on the device.</summary>
    Storage Allocate(long bytes, bool zero);

    /// <summary>dst ← src elementwise, converting dtype when they differ. Shapes equal; src may broadcast.</summary>
    void Copy(in StridedView dst, in StridedView src);

    /// <summary>Every element of dst ← value.</summary>
    void Fill(in StridedView dst, double value);

    /// <summary>dst ← host bytes (dst contiguous).</summary>
    void CopyFromHost(in StridedView dst, ReadOnlySpan<byte> src);

    /// <summary>host bytes ← src (src contiguous).</summary>
    void CopyToHost(in StridedView src, Span<byte> dst);

    /// <summary>dst ← op(src). dst and src may be the same view (in place).</summary>
    void Unary(UnaryOp op, in StridedView dst, in StridedView src, double a, double b);

    /// <summary>dst ← op(x, y) with x, y broadcast to dst's shape.</summary>
    void Binary(BinaryOp op, in StridedView dst, in StridedView x, in StridedView y, double a, double b);

    /// <summary>dst ← cond ? x : y, all broadcast to dst's shape.</summary>
    void Where(in StridedView dst, in StridedView cond, in StridedView x, in StridedView y);

    /// <summary>
    /// Reduces src into dst, which has src's rank with size 1 on the reduced dimensions.
    /// </summary>
    void Reduce(ReduceOp op, in StridedView dst, in StridedView src);

    /// <summary>Max or min along <paramref name="dim"/> with the index of the first extreme (int64); keepdim shapes.</summary>
    void ArgReduce(bool max, in StridedView values, in StridedView indices, in StridedView src, int dim);

    /// <summary>Batched product dst[b] = x[b] · y[b]; dst [B,M,N], x [B,M,K], y [B,K,N], any strides.</summary>
    void MatMul(in StridedView dst, in StridedView x, in StridedView y);

    /// <summary>
    /// Softmax (or log-softmax) of <paramref name="scale"/>·x over the last dim of contiguous rows (scale = 1/T for a
    /// temperature T; positive and finite, checked by the tensor layer), fused: no separate scaling pass.
    /// </summary>
    void Softmax(in StridedView dst, in StridedView src, bool log, double scale);

    /// <summary>
    /// Gradient w.r.t. x of softmax (or log-softmax) of <paramref name="scale"/>·x over the last dim, from the forward
    /// output y and its gradient: scale·y·(g − Σg·y), or scale·(g − e^y·Σg) for log-softmax.
    /// </summary>
    void SoftmaxBackward(in StridedView dst, in StridedView grad, in StridedView y, bool log, double scale);

    /// <summary>dst[..i..] = src[..index[..i..]..] along dim (index int64, shaped like dst).</summary>
    void Gather(in StridedView dst, in StridedView src, in StridedView index, int dim);

    /// <summary>dst[..index[..i..]..] += src[..i..] along dim (index shaped like src).</summary>
    void ScatterAdd(in StridedView dst, in StridedView index, in StridedView src, int dim);

    /// <summary>dst = src with positions along dim picked by the 1-D index.</summary>
    void IndexSelect(in StridedView dst, in StridedView src, in StridedView index, int dim);

    /// <summary>dst[.., index[i], ..] += src[.., i, ..] along dim (1-D index).</summary>
    void IndexAdd(in StridedView dst, in StridedView index, in StridedView src, int dim);

    /// <summary>Fills dst (contiguous) with Philox counter-based random numbers: element i draws from counter offset + i.</summary>
    void FillRandom(in StridedView dst, RandomKind kind, ulong seed, ulong offset, double a, double b);

    /// <summary>y = conv(x, w) + bias; x [N,C,D,H,W], w [O,C/groups,kD,kH,kW], y [N,O,oD,oH,oW], all contiguous; bias may be null.</summary>
    void ConvForward(ConvGeometry g, in StridedView y, in StridedView x, in StridedView w, StridedView? bias);

    /// <summary>dx (overwritten) from dy and w.</summary>
    void ConvBackwardData(ConvGeometry g, in StridedView dx, in StridedView dy, in StridedView w);

    /// <summary>dw (overwritten) and, when given, db from dy and x.</summary>
    void ConvBackwardWeight(ConvGeometry g, in StridedView dw, StridedView? db, in StridedView dy, in StridedView x);

    /// <summary>Max pooling over contiguous [planes, D, H, W]; indices (int64) are flat positions within the plane.</summary>
    void MaxPoolForward(PoolGeometry g, in StridedView y, in StridedView indices, in StridedView x);

    /// <summary>dx (overwritten) from dy and the recorded indices.</summary>
    void MaxPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy, in StridedView indices);

    /// <summary>Average pooling over contiguous [planes, D, H, W].</summary>
    void AvgPoolForward(PoolGeometry g, in StridedView y, in StridedView x);

    /// <summary>dx (overwritten) from dy.</summary>
    void AvgPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy);

    /// <summary>
    /// Batch norm over contiguous x seen as [N, C, S]; updates the running stats in training mode; writes the
    /// per-channel mean and inverse std used. weight, bias and the running stats may be null (running stats are
    /// required in eval mode).
    /// </summary>
    void BatchNormForward(BatchNormParams args, in StridedView y, in StridedView x, in BatchNormChannels channels, in BatchNormSaved saved);

    /// <summary>Batch norm gradients; any of dx, dw, db may be null.</summary>
    void BatchNormBackward(BatchNormParams args, in BatchNormGrads grads, in StridedView dy, in StridedView x, StridedView? weight, in BatchNormSaved saved);

    /// <summary>Local response normalisation across channels of contiguous x seen as [N, C, S].</summary>
    void LrnForward(LrnParams args, in StridedView y, in StridedView x);

    /// <summary>LRN gradient from x, the forward output y and dy.</summary>
    void LrnBackward(LrnParams args, in StridedView dx, in StridedView dy, in StridedView x, in StridedView y);
}
