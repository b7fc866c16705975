using Engine.Kernels;

namespace Engine;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with PyTorch's rules: 1-D·1-D is a dot product, a 1-D operand is treated as a row (left)
    /// or column (right) vector and that dim is removed from the result, and N-D operands are batches of
    /// matrices whose batch dims broadcast.
    /// </summary>
    public Tensor MatMul(Tensor other)
    {
        const string op = "matmul";
        StorageOf(op); other.StorageOf(op);
        Checks.SameDevice(op, this, other);
        Checks.SameDType(op, this, other);
        if (DType is DType.Bool or DType.UInt8) throw new DTypeException(op, $"matmul is not defined for {DType.Name()}");
        if (Rank == 0 || other.Rank == 0)
            throw new ShapeException(op, $"both arguments need at least 1 dimension, got shapes {ShapeUtil.Format(_shape)} and {ShapeUtil.Format(other._shape)}");
        if (Rank == 1 && other.Rank == 1)
        {
            if (_shape[0] != other._shape[0])
                throw new ShapeException(op, $"dot product of vectors of sizes {_shape[0]} and {other._shape[0]}");
            return Unsqueeze(0).MatMul(other.Unsqueeze(1)).Reshape();
        }
        if (Rank == 1) return Unsqueeze(0).MatMul(other).Squeeze(-2);
        if (other.Rank == 1) return MatMul(other.Unsqueeze(1)).Squeeze(-1);

        long m = _shape[^2], k = _shape[^1], k2 = other._shape[^2], n = other._shape[^1];
        if (k != k2)
            throw new ShapeException(op, $"shapes {ShapeUtil.Format(_shape)} and {ShapeUtil.Format(other._shape)} cannot be multiplied ({m}x{k} and {k2}x{n})");
        // The GEMM kernels index rows, columns and the inner dimension with ints.
        ShapeUtil.ToInt(op, m, "the row count"); ShapeUtil.ToInt(op, n, "the column count"); ShapeUtil.ToInt(op, k, "the inner dimension");
        var batch = Checks.Broadcast(op, _shape.AsSpan(0, Rank - 2), other._shape.AsSpan(0, other.Rank - 2));
        long b = ShapeUtil.NumEl(batch);
        var outShape = batch.Append(m).Append(n).ToArray();
        var r = Empty(outShape, DType, Device, op: op);
        using (var xa = Batched(this, batch, m, k))
        using (var yb = Batched(other, batch, k, n))
            Backend.MatMul(r.View(op).With([b, m, n], [m * n, n, 1]), xa.View(op), yb.View(op));
        Tensor x = this, y = other;
        return Autograd.Record(r, op, [this, other], (g, need) =>
            [need[0] ? g.MatMul(y.Transpose(-1, -2)).SumTo(x._shape) : null,
             need[1] ? x.Transpose(-1, -2).MatMul(g).SumTo(y._shape) : null],
            saved: [other.RequiresGrad ? x : null, RequiresGrad ? y : null]);
    }

    // A [B, rows, cols] view of t broadcast over the batch dims: strided in place when the batch dims
    // collapse to one stride, otherwise a contiguous copy.
    private static Tensor Batched(Tensor t, long[] batch, long rows, long cols)
    {
        var full = batch.Append(rows).Append(cols).ToArray();
        var v = t.ViewAs("matmul", full);
        long bs = 0;
        bool ok = true;
        long expect = -1;
        for (int i = batch.Length - 1; i >= 0; i--)
        {
            if (batch[i] == 1) continue;
            long s = v.Strides[i];
            if (expect < 0) { bs = s; expect = s * batch[i]; }
            else if (s != expect) { ok = false; break; }
            else expect = s * batch[i];
        }
        long[] shape3 = [ShapeUtil.NumEl(batch), rows, cols];
        if (ok) return t.Alias(shape3, [bs, v.Strides[^2], v.Strides[^1]], t._offset, "matmul");
        var c = Empty(full, t.DType, t.Device, op: "matmul");
        t.Backend.Copy(c.View("matmul"), v);
        var r = c.Alias(shape3, ShapeUtil.ContiguousStrides(shape3), 0, "matmul");
        c.Dispose();
        return r;
    }

    /// <summary>Alias of <see cref="MatMul"/> for 2-D operands (PyTorch's mm).</summary>
    public Tensor Mm(Tensor other)
    {
        if (Rank != 2 || other.Rank != 2)
            throw new ShapeException("mm", $"expects two matrices, got shapes {ShapeUtil.Format(_shape)} and {ShapeUtil.Format(other._shape)}");
        return MatMul(other);
    }
}
