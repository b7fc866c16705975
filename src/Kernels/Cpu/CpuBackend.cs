using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// The CPU backend: maps each kernel call to a generic kernel instantiated for the operand dtype.
/// Validation happened in the tensor layer; a dtype reaching a kernel that lacks it is a DTypeException.
/// </summary>
public sealed unsafe partial class CpuBackend : IBackend
{
    /// <inheritdoc/>
    public Device Device => Device.Cpu;

    /// <inheritdoc/>
    public Storage Allocate(long bytes, bool zero) => new CpuStorage(bytes, zero);

    private static DTypeException Unsupported(string op, DType t) => DTypeDispatch.Unsupported(op, t);

    /// <inheritdoc/>
    public void Copy(in StridedView dst, in StridedView src) => DTypeDispatch.Numeric(src.DType, "copy", new CopyKernel(dst, src));

    private readonly struct CopyKernel(StridedView dst, StridedView src) : INumericKernel
    {
        public void Run<TS>() where TS : unmanaged, INumber<TS>, IMinMaxValue<TS> => DTypeDispatch.Numeric(dst.DType, "copy", new CastKernel<TS>(dst, src));
    }

    private readonly struct CastKernel<TS>(StridedView dst, StridedView src) : INumericKernel where TS : unmanaged, INumber<TS>
    {
        public void Run<TD>() where TD : unmanaged, INumber<TD>, IMinMaxValue<TD> => CpuElementwise.Cast<TS, TD>(dst, src);
    }

    /// <inheritdoc/>
    public void Fill(in StridedView dst, double value) =>
        DTypeDispatch.Numeric(dst.DType, "fill", new FillKernel(dst, dst.DType == DType.Bool && value != 0 ? 1 : value));

    private readonly struct FillKernel(StridedView dst, double value) : INumericKernel
    {
        // C#'s conversions from double (not INumber's saturating ones): the value every backend stores
        public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T> => CpuElementwise.Fill(dst,
            typeof(T) == typeof(float) ? (T)(object)(float)value
            : typeof(T) == typeof(double) ? (T)(object)value
            : typeof(T) == typeof(long) ? (T)(object)(long)value
            : typeof(T) == typeof(int) ? (T)(object)(int)value
            : (T)(object)(byte)value);
    }

    private static byte* Bytes(in StridedView v) =>
        v.With(v.Shape, v.Strides, offset: 0).Ptr<byte>() + v.Offset * v.DType.ElementSize();

    /// <inheritdoc/>
    public void CopyFromHost(in StridedView dst, ReadOnlySpan<byte> src) =>
        src.CopyTo(new Span<byte>(Bytes(dst), src.Length));

    /// <inheritdoc/>
    public void CopyToHost(in StridedView src, Span<byte> dst) =>
        new ReadOnlySpan<byte>(Bytes(src), dst.Length).CopyTo(dst);

    /// <inheritdoc/>
    public void Unary(UnaryOp op, in StridedView dst, in StridedView src, double a, double b) =>
        DTypeDispatch.FloatOrNumeric(src.DType, op.ToString(), new UnaryKernel(op, dst, src, a, b), boolAsByte: false);

    /// <inheritdoc/>
    public void Binary(BinaryOp op, in StridedView dst, in StridedView x, in StridedView y, double a, double b) =>
        DTypeDispatch.FloatOrNumeric(x.DType, op.ToString(), new BinaryKernel(op, dst, x, y, a, b), boolAsByte: true);

    /// <inheritdoc/>
    public void Where(in StridedView dst, in StridedView cond, in StridedView x, in StridedView y) =>
        DTypeDispatch.Bits(dst.DType, new WhereKernel(dst, cond, x, y));

    private readonly struct WhereKernel(StridedView dst, StridedView cond, StridedView x, StridedView y) : INumericKernel
    {
        public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T> => CpuElementwise.Where<T>(dst, cond, x, y);
    }

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, in StridedView dst, in StridedView src) => DTypeDispatch.Numeric(src.DType, op.ToString(), new ReduceKernel(op, dst, src));

    private readonly struct ReduceKernel(ReduceOp op, StridedView dst, StridedView src) : INumericKernel
    {
        public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T> => CpuReduce.Reduce<T>(op, dst, src);
    }

    /// <inheritdoc/>
    public void ArgReduce(bool max, in StridedView values, in StridedView indices, in StridedView src, int dim) =>
        DTypeDispatch.Numeric(src.DType, "argmax", new ArgReduceKernel(max, values, indices, src, dim));

    private readonly struct ArgReduceKernel(bool max, StridedView values, StridedView indices, StridedView src, int dim) : INumericKernel
    {
        public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T> => CpuReduce.ArgReduce<T>(max, values, indices, src, dim);
    }

    /// <inheritdoc/>
    public void MatMul(in StridedView dst, in StridedView x, in StridedView y)
    {
        if (x.DType == DType.UInt8) throw Unsupported("matmul", x.DType);
        DTypeDispatch.Numeric(x.DType, "matmul", new MatMulKernel(dst, x, y), boolAsByte: false);
    }

    private readonly struct MatMulKernel(StridedView dst, StridedView x, StridedView y) : INumericKernel
    {
        public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T> => CpuGemm.MatMul<T>(dst, x, y);
    }

    /// <inheritdoc/>
    public void Softmax(in StridedView dst, in StridedView src, bool log, double scale) =>
        DTypeDispatch.Float(src.DType, "softmax", new SoftmaxKernel(dst, src, log, scale));

    private readonly struct SoftmaxKernel(StridedView dst, StridedView src, bool log, double scale) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> => CpuSoftmax.Forward<T>(dst, src, log, scale);
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(in StridedView dst, in StridedView grad, in StridedView y, bool log, double scale) =>
        DTypeDispatch.Float(y.DType, "softmax_backward", new SoftmaxBackwardKernel(dst, grad, y, log, scale));

    private readonly struct SoftmaxBackwardKernel(StridedView dst, StridedView grad, StridedView y, bool log, double scale) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> => CpuSoftmax.Backward<T>(dst, grad, y, log, scale);
    }

    /// <inheritdoc/>
    public void Gather(in StridedView dst, in StridedView src, in StridedView index, int dim) =>
        DTypeDispatch.Bits(src.DType, new IndexKernel(IndexKind.Gather, dst, src, index, dim));

    /// <inheritdoc/>
    public void ScatterAdd(in StridedView dst, in StridedView index, in StridedView src, int dim) =>
        DTypeDispatch.Numeric(dst.DType, "scatter_add", new IndexKernel(IndexKind.ScatterAdd, dst, src, index, dim), boolAsByte: false);

    /// <inheritdoc/>
    public void IndexSelect(in StridedView dst, in StridedView src, in StridedView index, int dim) =>
        DTypeDispatch.Bits(src.DType, new IndexKernel(IndexKind.IndexSelect, dst, src, index, dim));

    /// <inheritdoc/>
    public void IndexAdd(in StridedView dst, in StridedView index, in StridedView src, int dim) =>
        DTypeDispatch.Numeric(dst.DType, "index_add", new IndexKernel(IndexKind.IndexAdd, dst, src, index, dim), boolAsByte: false);

    private enum IndexKind { Gather, ScatterAdd, IndexSelect, IndexAdd }

    /// <summary>The index ops: gather and index_select move elements by size, the adds sum by dtype.</summary>
    private readonly struct IndexKernel(IndexKind kind, StridedView dst, StridedView src, StridedView index, int dim) : INumericKernel
    {
        public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T>
        {
            switch (kind)
            {
                case IndexKind.Gather: CpuIndex.Gather<T>(dst, src, index, dim); break;
                case IndexKind.ScatterAdd: CpuIndex.ScatterAdd<T>(dst, index, src, dim); break;
                case IndexKind.IndexSelect: CpuIndex.IndexSelect<T>(dst, src, index, dim); break;
                default: CpuIndex.IndexAdd<T>(dst, index, src, dim); break;
            }
        }
    }

    /// <inheritdoc/>
    public void FillRandom(in StridedView dst, RandomKind kind, ulong seed, ulong offset, double a, double b) =>
        DTypeDispatch.Numeric(dst.DType, "random", new RandomKernel(dst, kind, seed, offset, a, b));

    private readonly struct RandomKernel(StridedView dst, RandomKind kind, ulong seed, ulong offset, double a, double b) : INumericKernel
    {
        public void Run<T>() where T : unmanaged, INumber<T>, IMinMaxValue<T> => CpuRandom.Fill<T>(dst, kind, seed, offset, a, b);
    }

    /// <summary>The element pointer of an optional operand, or null.</summary>
    private static T* PtrOrNull<T>(StridedView? v) where T : unmanaged => v is { } x ? x.Ptr<T>() : null;

    /// <inheritdoc/>
    public void ConvForward(ConvGeometry g, in StridedView y, in StridedView x, in StridedView w, StridedView? bias) =>
        DTypeDispatch.Float(x.DType, "conv", new ConvForwardKernel(g, y, x, w, bias));

    private readonly struct ConvForwardKernel(ConvGeometry g, StridedView y, StridedView x, StridedView w, StridedView? bias) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> =>
            CpuConv.Forward(g, x.Ptr<T>(), w.Ptr<T>(), PtrOrNull<T>(bias), y.Ptr<T>());
    }

    /// <inheritdoc/>
    public void ConvBackwardData(ConvGeometry g, in StridedView dx, in StridedView dy, in StridedView w) =>
        DTypeDispatch.Float(dy.DType, "conv_backward", new ConvBackwardDataKernel(g, dx, dy, w));

    private readonly struct ConvBackwardDataKernel(ConvGeometry g, StridedView dx, StridedView dy, StridedView w) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> =>
            CpuConv.BackwardData(g, dy.Ptr<T>(), w.Ptr<T>(), dx.Ptr<T>());
    }

    /// <inheritdoc/>
    public void ConvBackwardWeight(ConvGeometry g, in StridedView dw, StridedView? db, in StridedView dy, in StridedView x) =>
        DTypeDispatch.Float(dy.DType, "conv_backward", new ConvBackwardWeightKernel(g, dw, db, dy, x));

    private readonly struct ConvBackwardWeightKernel(ConvGeometry g, StridedView dw, StridedView? db, StridedView dy, StridedView x) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> =>
            CpuConv.BackwardWeight(g, dy.Ptr<T>(), x.Ptr<T>(), dw.Ptr<T>(), PtrOrNull<T>(db));
    }

    /// <inheritdoc/>
    public void MaxPoolForward(PoolGeometry g, in StridedView y, in StridedView indices, in StridedView x) =>
        DTypeDispatch.Float(x.DType, "max_pool", new PoolKernel(PoolPass.MaxForward, g, y, x, indices));

    /// <inheritdoc/>
    public void MaxPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy, in StridedView indices) =>
        DTypeDispatch.Float(dy.DType, "max_pool_backward", new PoolKernel(PoolPass.MaxBackward, g, dx, dy, indices));

    /// <inheritdoc/>
    public void AvgPoolForward(PoolGeometry g, in StridedView y, in StridedView x) =>
        DTypeDispatch.Float(x.DType, "avg_pool", new PoolKernel(PoolPass.AvgForward, g, y, x, null));

    /// <inheritdoc/>
    public void AvgPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy) =>
        DTypeDispatch.Float(dy.DType, "avg_pool_backward", new PoolKernel(PoolPass.AvgBackward, g, dx, dy, null));

    private enum PoolPass { MaxForward, MaxBackward, AvgForward, AvgBackward }

    /// <summary>A pooling pass from <paramref name="src"/> (x, or dy backward) to <paramref name="dst"/> (y, or dx backward).</summary>
    private readonly struct PoolKernel(PoolPass pass, PoolGeometry g, StridedView dst, StridedView src, StridedView? indices) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T>
        {
            switch (pass)
            {
                case PoolPass.MaxForward: CpuPool.MaxForward(g, src.Ptr<T>(), dst.Ptr<T>(), PtrOrNull<long>(indices)); break;
                case PoolPass.MaxBackward: CpuPool.MaxBackward(g, src.Ptr<T>(), PtrOrNull<long>(indices), dst.Ptr<T>()); break;
                case PoolPass.AvgForward: CpuPool.AvgForward(g, src.Ptr<T>(), dst.Ptr<T>()); break;
                default: CpuPool.AvgBackward(g, src.Ptr<T>(), dst.Ptr<T>()); break;
            }
        }
    }

    /// <inheritdoc/>
    public void BatchNormForward(BatchNormParams args, in StridedView y, in StridedView x, in BatchNormChannels channels, in BatchNormSaved saved) =>
        DTypeDispatch.Float(x.DType, "batch_norm", new BatchNormForwardKernel(args, y, x, channels, saved));

    private readonly struct BatchNormForwardKernel(BatchNormParams args, StridedView y, StridedView x, BatchNormChannels ch, BatchNormSaved saved) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> =>
            CpuBatchNorm.Forward(args.N, args.C, args.S, x.Ptr<T>(), PtrOrNull<T>(ch.Weight), PtrOrNull<T>(ch.Bias), PtrOrNull<T>(ch.RunningMean), PtrOrNull<T>(ch.RunningVar),
                args.Training, args.Momentum, args.Eps, y.Ptr<T>(), saved.Mean.Ptr<T>(), saved.InvStd.Ptr<T>());
    }

    /// <inheritdoc/>
    public void BatchNormBackward(BatchNormParams args, in BatchNormGrads grads, in StridedView dy, in StridedView x, StridedView? weight, in BatchNormSaved saved) =>
        DTypeDispatch.Float(dy.DType, "batch_norm_backward", new BatchNormBackwardKernel(args, grads, dy, x, weight, saved));

    private readonly struct BatchNormBackwardKernel(BatchNormParams args, BatchNormGrads grads, StridedView dy, StridedView x, StridedView? weight, BatchNormSaved saved) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T> =>
            CpuBatchNorm.Backward(args.N, args.C, args.S, dy.Ptr<T>(), x.Ptr<T>(), PtrOrNull<T>(weight), saved.Mean.Ptr<T>(), saved.InvStd.Ptr<T>(), args.Training,
                PtrOrNull<T>(grads.Dx), PtrOrNull<T>(grads.Dw), PtrOrNull<T>(grads.Db));
    }

    /// <inheritdoc/>
    public void LrnForward(LrnParams args, in StridedView y, in StridedView x) =>
        DTypeDispatch.Float(x.DType, "local_response_norm", new LrnKernel(args, y, x, null, null));

    /// <inheritdoc/>
    public void LrnBackward(LrnParams args, in StridedView dx, in StridedView dy, in StridedView x, in StridedView y) =>
        DTypeDispatch.Float(x.DType, "local_response_norm_backward", new LrnKernel(args, y, x, dy, dx));

    /// <summary>LRN forward (y from x), or backward when <paramref name="dy"/> is given (dx from dy, x and y).</summary>
    private readonly struct LrnKernel(LrnParams args, StridedView y, StridedView x, StridedView? dy, StridedView? dx) : IFloatKernel
    {
        public void RunFloat<T>() where T : unmanaged, IFloatingPointIeee754<T>, IMinMaxValue<T>
        {
            if (dy is null) CpuLrn.Forward(args.N, args.C, args.S, args.Size, args.Alpha, args.Beta, args.K, x.Ptr<T>(), y.Ptr<T>());
            else CpuLrn.Backward(args.N, args.C, args.S, args.Size, args.Alpha, args.Beta, args.K, x.Ptr<T>(), y.Ptr<T>(), PtrOrNull<T>(dy), PtrOrNull<T>(dx));
        }
    }
}
