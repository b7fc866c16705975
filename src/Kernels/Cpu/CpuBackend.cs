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

    private static DTypeException Unsupported(string op, DType t) => new(op, $"dtype {t.Name()} is not supported on the CPU backend");

    /// <inheritdoc/>
    public void Copy(in StridedView dst, in StridedView src)
    {
        switch (src.DType)
        {
            case DType.Float32: CopyFrom<float>(dst, src); break;
            case DType.Float64: CopyFrom<double>(dst, src); break;
            case DType.Int64: CopyFrom<long>(dst, src); break;
            case DType.Int32: CopyFrom<int>(dst, src); break;
            case DType.UInt8: case DType.Bool: CopyFrom<byte>(dst, src); break;
            default: throw Unsupported("copy", src.DType);
        }
    }

    private static void CopyFrom<TS>(in StridedView dst, in StridedView src) where TS : unmanaged, INumber<TS>
    {
        switch (dst.DType)
        {
            case DType.Float32: CpuElementwise.Cast<TS, float>(dst, src); break;
            case DType.Float64: CpuElementwise.Cast<TS, double>(dst, src); break;
            case DType.Int64: CpuElementwise.Cast<TS, long>(dst, src); break;
            case DType.Int32: CpuElementwise.Cast<TS, int>(dst, src); break;
            case DType.UInt8: case DType.Bool: CpuElementwise.Cast<TS, byte>(dst, src); break;
            default: throw Unsupported("copy", dst.DType);
        }
    }

    /// <inheritdoc/>
    public void Fill(in StridedView dst, double value)
    {
        switch (dst.DType)
        {
            case DType.Float32: CpuElementwise.Fill(dst, (float)value); break;
            case DType.Float64: CpuElementwise.Fill(dst, value); break;
            case DType.Int64: CpuElementwise.Fill(dst, (long)value); break;
            case DType.Int32: CpuElementwise.Fill(dst, (int)value); break;
            case DType.UInt8: CpuElementwise.Fill(dst, (byte)value); break;
            case DType.Bool: CpuElementwise.Fill(dst, value != 0 ? (byte)1 : (byte)0); break;
            default: throw Unsupported("fill", dst.DType);
        }
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
    public void Unary(UnaryOp op, in StridedView dst, in StridedView src, double a, double b)
    {
        switch (src.DType)
        {
            case DType.Float32: if (!UnaryFloat<float>(op, dst, src, a, b)) UnaryNumeric<float>(op, dst, src, a, b); break;
            case DType.Float64: if (!UnaryFloat<double>(op, dst, src, a, b)) UnaryNumeric<double>(op, dst, src, a, b); break;
            case DType.Int64: UnaryNumeric<long>(op, dst, src, a, b); break;
            case DType.Int32: UnaryNumeric<int>(op, dst, src, a, b); break;
            case DType.UInt8: UnaryNumeric<byte>(op, dst, src, a, b); break;
            default: throw Unsupported(op.ToString(), src.DType);
        }
    }

    private static void UnaryNumeric<T>(UnaryOp op, in StridedView d, in StridedView s, double a, double b) where T : unmanaged, INumber<T>
    {
        T ta = T.CreateTruncating(a), tb = T.CreateTruncating(b);
        switch (op)
        {
            case UnaryOp.Neg: CpuElementwise.Unary<T, NegFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Abs: CpuElementwise.Unary<T, AbsFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Square: CpuElementwise.Unary<T, SquareFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Sign: CpuElementwise.Unary<T, SignFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Affine: CpuElementwise.Unary<T, AffineFn<T>>(d, s, new(ta, tb), op, a, b); break;
            case UnaryOp.ScalarDiv: CpuElementwise.Unary<T, ScalarDivFn<T>>(d, s, new(ta), op, a, b); break;
            case UnaryOp.Relu: CpuElementwise.Unary<T, ReluFn<T>>(d, s, default, op, a, b); break;
            case UnaryOp.Relu6: CpuElementwise.Unary<T, Relu6Fn<T>>(d, s, new(T.CreateTruncating(6)), op, a, b); break;
            case UnaryOp.LeakyRelu: CpuElementwise.Unary<T, LeakyReluFn<T>>(d, s, new(ta), op, a, b); break;
            case UnaryOp.Clamp: CpuElementwise.Unary<T, ClampFn<T>>(d, s, new(ta, tb), op, a, b); break;
            default: throw Unsupported(op.ToString(), s.DType);
        }
    }

    private static bool UnaryFloat<T>(UnaryOp op, in StridedView d, in StridedView s, double a, double b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T ta = T.CreateTruncating(a);
        switch (op)
        {
            case UnaryOp.Exp: CpuElementwise.Unary<T, ExpFn<T>>(d, s, default, op, a, b); return true;
            case UnaryOp.Log: CpuElementwise.Unary<T, LogFn<T>>(d, s, default, op, a, b); return true;
            case UnaryOp.Sqrt: CpuElementwise.Unary<T, SqrtFn<T>>(d, s, default, op, a, b); return true;
            case UnaryOp.Rsqrt: CpuElementwise.Unary<T, RsqrtFn<T>>(d, s, default, op, a, b); return true;
            case UnaryOp.PowScalar: CpuElementwise.Unary<T, PowScalarFn<T>>(d, s, new(ta), op, a, b); return true;
            case UnaryOp.ScalarPow: CpuElementwise.Unary<T, ScalarPowFn<T>>(d, s, new(ta), op, a, b); return true;
            case UnaryOp.Sigmoid: CpuElementwise.Unary<T, SigmoidFn<T>>(d, s, default, op, a, b); return true;
            case UnaryOp.Tanh: CpuElementwise.Unary<T, TanhFn<T>>(d, s, default, op, a, b); return true;
            case UnaryOp.Silu: CpuElementwise.Unary<T, SiluFn<T>>(d, s, default, op, a, b); return true;
            case UnaryOp.Gelu: CpuElementwise.Unary<T, GeluFn<T>>(d, s, default, op, a, b); return true;
            case UnaryOp.Hardsigmoid: CpuElementwise.Unary<T, HardsigmoidFn<T>>(d, s, default, op, a, b); return true;
            case UnaryOp.Hardswish: CpuElementwise.Unary<T, HardswishFn<T>>(d, s, default, op, a, b); return true;
            default: return false;
        }
    }

    /// <inheritdoc/>
    public void Binary(BinaryOp op, in StridedView dst, in StridedView x, in StridedView y, double a, double b)
    {
        switch (x.DType)
        {
            case DType.Float32: if (!BinaryFloat<float>(op, dst, x, y, a, b)) BinaryNumeric<float>(op, dst, x, y, a, b); break;
            case DType.Float64: if (!BinaryFloat<double>(op, dst, x, y, a, b)) BinaryNumeric<double>(op, dst, x, y, a, b); break;
            case DType.Int64: BinaryNumeric<long>(op, dst, x, y, a, b); break;
            case DType.Int32: BinaryNumeric<int>(op, dst, x, y, a, b); break;
            case DType.UInt8: case DType.Bool: BinaryNumeric<byte>(op, dst, x, y, a, b); break;
            default: throw Unsupported(op.ToString(), x.DType);
        }
    }

    private static void BinaryNumeric<T>(BinaryOp op, in StridedView d, in StridedView x, in StridedView y, double a, double b) where T : unmanaged, INumber<T>
    {
        T ta = T.CreateTruncating(a), tb = T.CreateTruncating(b);
        switch (op)
        {
            case BinaryOp.Add: CpuElementwise.Binary<T, T, AddFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Sub: CpuElementwise.Binary<T, T, SubFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Mul: CpuElementwise.Binary<T, T, MulFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Div: CpuElementwise.Binary<T, T, DivFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Maximum: CpuElementwise.Binary<T, T, MaximumFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Minimum: CpuElementwise.Binary<T, T, MinimumFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Eq: CpuElementwise.Binary<T, byte, EqFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Ne: CpuElementwise.Binary<T, byte, NeFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Lt: CpuElementwise.Binary<T, byte, LtFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Le: CpuElementwise.Binary<T, byte, LeFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Gt: CpuElementwise.Binary<T, byte, GtFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Ge: CpuElementwise.Binary<T, byte, GeFn<T>>(d, x, y, default, op); break;
            case BinaryOp.ReluBackward: CpuElementwise.Binary<T, T, ReluBackwardFn<T>>(d, x, y, default, op); break;
            case BinaryOp.Relu6Backward: CpuElementwise.Binary<T, T, Relu6BackwardFn<T>>(d, x, y, new(T.CreateTruncating(6)), op); break;
            case BinaryOp.LeakyReluBackward: CpuElementwise.Binary<T, T, LeakyReluBackwardFn<T>>(d, x, y, new(ta), op); break;
            case BinaryOp.ClampBackward: CpuElementwise.Binary<T, T, ClampBackwardFn<T>>(d, x, y, new(ta, tb), op); break;
            case BinaryOp.AbsBackward: CpuElementwise.Binary<T, T, AbsBackwardFn<T>>(d, x, y, default, op); break;
            default: throw Unsupported(op.ToString(), x.DType);
        }
    }

    private static bool BinaryFloat<T>(BinaryOp op, in StridedView d, in StridedView x, in StridedView y, double a, double b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case BinaryOp.Pow: CpuElementwise.Binary<T, T, PowFn<T>>(d, x, y, default, op); return true;
            case BinaryOp.PowScalarBackward: CpuElementwise.Binary<T, T, PowScalarBackwardFn<T>>(d, x, y, new(T.CreateTruncating(a)), op); return true;
            case BinaryOp.SigmoidBackward: CpuElementwise.Binary<T, T, SigmoidBackwardFn<T>>(d, x, y, default, op); return true;
            case BinaryOp.TanhBackward: CpuElementwise.Binary<T, T, TanhBackwardFn<T>>(d, x, y, default, op); return true;
            case BinaryOp.SiluBackward: CpuElementwise.Binary<T, T, SiluBackwardFn<T>>(d, x, y, default, op); return true;
            case BinaryOp.GeluBackward: CpuElementwise.Binary<T, T, GeluBackwardFn<T>>(d, x, y, default, op); return true;
            case BinaryOp.HardsigmoidBackward: CpuElementwise.Binary<T, T, HardsigmoidBackwardFn<T>>(d, x, y, default, op); return true;
            case BinaryOp.HardswishBackward: CpuElementwise.Binary<T, T, HardswishBackwardFn<T>>(d, x, y, default, op); return true;
            default: return false;
        }
    }

    /// <inheritdoc/>
    public void Where(in StridedView dst, in StridedView cond, in StridedView x, in StridedView y)
    {
        switch (dst.DType.ElementSize())
        {
            case 8: CpuElementwise.Where<long>(dst, cond, x, y); break;
            case 4: CpuElementwise.Where<int>(dst, cond, x, y); break;
            case 2: CpuElementwise.Where<short>(dst, cond, x, y); break;
            default: CpuElementwise.Where<byte>(dst, cond, x, y); break;
        }
    }

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, in StridedView dst, in StridedView src)
    {
        switch (src.DType)
        {
            case DType.Float32: CpuReduce.Reduce<float>(op, dst, src); break;
            case DType.Float64: CpuReduce.Reduce<double>(op, dst, src); break;
            case DType.Int64: CpuReduce.Reduce<long>(op, dst, src); break;
            case DType.Int32: CpuReduce.Reduce<int>(op, dst, src); break;
            case DType.UInt8: case DType.Bool: CpuReduce.Reduce<byte>(op, dst, src); break;
            default: throw Unsupported(op.ToString(), src.DType);
        }
    }

    /// <inheritdoc/>
    public void ArgReduce(bool max, in StridedView values, in StridedView indices, in StridedView src, int dim)
    {
        switch (src.DType)
        {
            case DType.Float32: CpuReduce.ArgReduce<float>(max, values, indices, src, dim); break;
            case DType.Float64: CpuReduce.ArgReduce<double>(max, values, indices, src, dim); break;
            case DType.Int64: CpuReduce.ArgReduce<long>(max, values, indices, src, dim); break;
            case DType.Int32: CpuReduce.ArgReduce<int>(max, values, indices, src, dim); break;
            case DType.UInt8: case DType.Bool: CpuReduce.ArgReduce<byte>(max, values, indices, src, dim); break;
            default: throw Unsupported("argmax", src.DType);
        }
    }

    /// <inheritdoc/>
    public void MatMul(in StridedView dst, in StridedView x, in StridedView y)
    {
        switch (x.DType)
        {
            case DType.Float32: CpuGemm.MatMul<float>(dst, x, y); break;
            case DType.Float64: CpuGemm.MatMul<double>(dst, x, y); break;
            case DType.Int64: CpuGemm.MatMul<long>(dst, x, y); break;
            case DType.Int32: CpuGemm.MatMul<int>(dst, x, y); break;
            default: throw Unsupported("matmul", x.DType);
        }
    }

    /// <inheritdoc/>
    public void Softmax(in StridedView dst, in StridedView src, bool log, double scale)
    {
        switch (src.DType)
        {
            case DType.Float32: CpuSoftmax.Forward<float>(dst, src, log, scale); break;
            case DType.Float64: CpuSoftmax.Forward<double>(dst, src, log, scale); break;
            default: throw Unsupported("softmax", src.DType);
        }
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(in StridedView dst, in StridedView grad, in StridedView y, bool log, double scale)
    {
        switch (y.DType)
        {
            case DType.Float32: CpuSoftmax.Backward<float>(dst, grad, y, log, scale); break;
            case DType.Float64: CpuSoftmax.Backward<double>(dst, grad, y, log, scale); break;
            default: throw Unsupported("softmax_backward", y.DType);
        }
    }

    /// <inheritdoc/>
    public void Gather(in StridedView dst, in StridedView src, in StridedView index, int dim)
    {
        switch (src.DType.ElementSize())
        {
            case 8: CpuIndex.Gather<long>(dst, src, index, dim); break;
            case 4: CpuIndex.Gather<int>(dst, src, index, dim); break;
            case 2: CpuIndex.Gather<short>(dst, src, index, dim); break;
            default: CpuIndex.Gather<byte>(dst, src, index, dim); break;
        }
    }

    /// <inheritdoc/>
    public void ScatterAdd(in StridedView dst, in StridedView index, in StridedView src, int dim)
    {
        switch (dst.DType)
        {
            case DType.Float32: CpuIndex.ScatterAdd<float>(dst, index, src, dim); break;
            case DType.Float64: CpuIndex.ScatterAdd<double>(dst, index, src, dim); break;
            case DType.Int64: CpuIndex.ScatterAdd<long>(dst, index, src, dim); break;
            case DType.Int32: CpuIndex.ScatterAdd<int>(dst, index, src, dim); break;
            case DType.UInt8: CpuIndex.ScatterAdd<byte>(dst, index, src, dim); break;
            default: throw Unsupported("scatter_add", dst.DType);
        }
    }

    /// <inheritdoc/>
    public void IndexSelect(in StridedView dst, in StridedView src, in StridedView index, int dim)
    {
        switch (src.DType.ElementSize())
        {
            case 8: CpuIndex.IndexSelect<long>(dst, src, index, dim); break;
            case 4: CpuIndex.IndexSelect<int>(dst, src, index, dim); break;
            case 2: CpuIndex.IndexSelect<short>(dst, src, index, dim); break;
            default: CpuIndex.IndexSelect<byte>(dst, src, index, dim); break;
        }
    }

    /// <inheritdoc/>
    public void IndexAdd(in StridedView dst, in StridedView index, in StridedView src, int dim)
    {
        switch (dst.DType)
        {
            case DType.Float32: CpuIndex.IndexAdd<float>(dst, index, src, dim); break;
            case DType.Float64: CpuIndex.IndexAdd<double>(dst, index, src, dim); break;
            case DType.Int64: CpuIndex.IndexAdd<long>(dst, index, src, dim); break;
            case DType.Int32: CpuIndex.IndexAdd<int>(dst, index, src, dim); break;
            case DType.UInt8: CpuIndex.IndexAdd<byte>(dst, index, src, dim); break;
            default: throw Unsupported("index_add", dst.DType);
        }
    }

    /// <inheritdoc/>
    public void FillRandom(in StridedView dst, RandomKind kind, ulong seed, ulong offset, double a, double b)
    {
        switch (dst.DType)
        {
            case DType.Float32: CpuRandom.Fill<float>(dst, kind, seed, offset, a, b); break;
            case DType.Float64: CpuRandom.Fill<double>(dst, kind, seed, offset, a, b); break;
            case DType.Int64: CpuRandom.Fill<long>(dst, kind, seed, offset, a, b); break;
            case DType.Int32: CpuRandom.Fill<int>(dst, kind, seed, offset, a, b); break;
            case DType.UInt8: case DType.Bool: CpuRandom.Fill<byte>(dst, kind, seed, offset, a, b); break;
            default: throw Unsupported("random", dst.DType);
        }
    }

    private static bool IsF32(in StridedView v, string op) => v.DType switch
    {
        DType.Float32 => true,
        DType.Float64 => false,
        _ => throw Unsupported(op, v.DType),
    };

    private static T* P<T>(StridedView? v) where T : unmanaged => v is { } x ? x.Ptr<T>() : null;

    /// <inheritdoc/>
    public void ConvForward(ConvGeometry g, in StridedView y, in StridedView x, in StridedView w, StridedView? bias)
    {
        if (IsF32(x, "conv")) CpuConv.Forward(g, x.Ptr<float>(), w.Ptr<float>(), P<float>(bias), y.Ptr<float>());
        else CpuConv.Forward(g, x.Ptr<double>(), w.Ptr<double>(), P<double>(bias), y.Ptr<double>());
    }

    /// <inheritdoc/>
    public void ConvBackwardData(ConvGeometry g, in StridedView dx, in StridedView dy, in StridedView w)
    {
        if (IsF32(dy, "conv_backward")) CpuConv.BackwardData(g, dy.Ptr<float>(), w.Ptr<float>(), dx.Ptr<float>());
        else CpuConv.BackwardData(g, dy.Ptr<double>(), w.Ptr<double>(), dx.Ptr<double>());
    }

    /// <inheritdoc/>
    public void ConvBackwardWeight(ConvGeometry g, in StridedView dw, StridedView? db, in StridedView dy, in StridedView x)
    {
        if (IsF32(dy, "conv_backward")) CpuConv.BackwardWeight(g, dy.Ptr<float>(), x.Ptr<float>(), dw.Ptr<float>(), P<float>(db));
        else CpuConv.BackwardWeight(g, dy.Ptr<double>(), x.Ptr<double>(), dw.Ptr<double>(), P<double>(db));
    }

    /// <inheritdoc/>
    public void MaxPoolForward(PoolGeometry g, in StridedView y, in StridedView indices, in StridedView x)
    {
        if (IsF32(x, "max_pool")) CpuPool.MaxForward(g, x.Ptr<float>(), y.Ptr<float>(), indices.Ptr<long>());
        else CpuPool.MaxForward(g, x.Ptr<double>(), y.Ptr<double>(), indices.Ptr<long>());
    }

    /// <inheritdoc/>
    public void MaxPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy, in StridedView indices)
    {
        if (IsF32(dy, "max_pool_backward")) CpuPool.MaxBackward(g, dy.Ptr<float>(), indices.Ptr<long>(), dx.Ptr<float>());
        else CpuPool.MaxBackward(g, dy.Ptr<double>(), indices.Ptr<long>(), dx.Ptr<double>());
    }

    /// <inheritdoc/>
    public void AvgPoolForward(PoolGeometry g, in StridedView y, in StridedView x)
    {
        if (IsF32(x, "avg_pool")) CpuPool.AvgForward(g, x.Ptr<float>(), y.Ptr<float>());
        else CpuPool.AvgForward(g, x.Ptr<double>(), y.Ptr<double>());
    }

    /// <inheritdoc/>
    public void AvgPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy)
    {
        if (IsF32(dy, "avg_pool_backward")) CpuPool.AvgBackward(g, dy.Ptr<float>(), dx.Ptr<float>());
        else CpuPool.AvgBackward(g, dy.Ptr<double>(), dx.Ptr<double>());
    }

    /// <inheritdoc/>
    public void BatchNormForward(int n, int c, int s, in StridedView y, in StridedView x, StridedView? weight, StridedView? bias,
        StridedView? runningMean, StridedView? runningVar, bool training, double momentum, double eps, in StridedView saveMean, in StridedView saveInvStd)
    {
        if (IsF32(x, "batch_norm"))
            CpuBatchNorm.Forward(n, c, s, x.Ptr<float>(), P<float>(weight), P<float>(bias), P<float>(runningMean), P<float>(runningVar), training, momentum, eps,
                y.Ptr<float>(), saveMean.Ptr<float>(), saveInvStd.Ptr<float>());
        else
            CpuBatchNorm.Forward(n, c, s, x.Ptr<double>(), P<double>(weight), P<double>(bias), P<double>(runningMean), P<double>(runningVar), training, momentum, eps,
                y.Ptr<double>(), saveMean.Ptr<double>(), saveInvStd.Ptr<double>());
    }

    /// <inheritdoc/>
    public void BatchNormBackward(int n, int c, int s, StridedView? dx, StridedView? dw, StridedView? db, in StridedView dy, in StridedView x,
        StridedView? weight, in StridedView saveMean, in StridedView saveInvStd, bool training)
    {
        if (IsF32(dy, "batch_norm_backward"))
            CpuBatchNorm.Backward(n, c, s, dy.Ptr<float>(), x.Ptr<float>(), P<float>(weight), saveMean.Ptr<float>(), saveInvStd.Ptr<float>(), training,
                P<float>(dx), P<float>(dw), P<float>(db));
        else
            CpuBatchNorm.Backward(n, c, s, dy.Ptr<double>(), x.Ptr<double>(), P<double>(weight), saveMean.Ptr<double>(), saveInvStd.Ptr<double>(), training,
                P<double>(dx), P<double>(dw), P<double>(db));
    }

    /// <inheritdoc/>
    public void LrnForward(int n, int c, int s, int size, double alpha, double beta, double k, in StridedView y, in StridedView x)
    {
        if (IsF32(x, "local_response_norm")) CpuLrn.Forward(n, c, s, size, alpha, beta, k, x.Ptr<float>(), y.Ptr<float>());
        else CpuLrn.Forward(n, c, s, size, alpha, beta, k, x.Ptr<double>(), y.Ptr<double>());
    }

    /// <inheritdoc/>
    public void LrnBackward(int n, int c, int s, int size, double alpha, double beta, double k, in StridedView dx, in StridedView dy, in StridedView x, in StridedView y)
    {
        if (IsF32(x, "local_response_norm_backward")) CpuLrn.Backward(n, c, s, size, alpha, beta, k, x.Ptr<float>(), y.Ptr<float>(), dy.Ptr<float>(), dx.Ptr<float>());
        else CpuLrn.Backward(n, c, s, size, alpha, beta, k, x.Ptr<double>(), y.Ptr<double>(), dy.Ptr<double>(), dx.Ptr<double>());
    }
}
