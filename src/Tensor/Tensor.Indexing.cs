using Engine.Kernels;

namespace Engine;

// Joining, splitting and index-driven ops. Index tensors are int64 and are range-checked before any kernel runs.
public sealed partial class Tensor
{
    /// <summary>Concatenates tensors of equal shape (except along <paramref name="dim"/>) along <paramref name="dim"/>.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        const string op = "cat";
        if (tensors.Count == 0) throw new ArgumentValueException(op, "expected a non-empty list of tensors");
        var first = tensors[0];
        first.StorageOf(op);
        int d = first.DimOf(op, dim);
        long total = 0;
        foreach (var t in tensors)
        {
            t.StorageOf(op);
            Checks.SameDevice(op, first, t);
            Checks.SameDType(op, first, t);
            if (t.Rank != first.Rank) throw new ShapeException(op, $"tensors must have the same rank, got shapes {ShapeUtil.Format(first._shape)} and {ShapeUtil.Format(t._shape)}");
            for (int i = 0; i < t.Rank; i++)
                if (i != d && t._shape[i] != first._shape[i])
                    throw new ShapeException(op, $"sizes must match except in dimension {d}: got {ShapeUtil.Format(first._shape)} and {ShapeUtil.Format(t._shape)}");
            total = ShapeUtil.CheckedAdd(op, total, t._shape[d], $"the concatenated size of dimension {d}");
        }
        var shape = first.Shape; shape[d] = total;
        var r = Empty(shape, first.DType, first.Device, op: op);
        long at = 0;
        var sizes = new long[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            sizes[i] = t._shape[d];
            var part = r.View(op).With(t._shape, r._strides, at * r._strides[d]);
            r.Backend.Copy(part, t.View(op));
            at += sizes[i];
        }
        var inputs = tensors.ToArray();
        var joined = Autograd.Record(r, op, inputs, (g, need) =>
        {
            var grads = new Tensor?[sizes.Length];
            long s = 0;
            for (int i = 0; i < sizes.Length; i++) { if (need[i]) grads[i] = g.Narrow(d, s, sizes[i]); s += sizes[i]; }
            return grads;
        });
        if (OpTrace.IsActive) OpTrace.Annotate(joined, ("dim", d));
        return joined;
    }

    /// <summary>Stacks tensors of one shape along a new dimension <paramref name="dim"/>.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        if (tensors.Count == 0) throw new ArgumentValueException("stack", "expected a non-empty list of tensors");
        foreach (var t in tensors)
            if (!t.ShapeSpan.SequenceEqual(tensors[0].ShapeSpan))
                throw new ShapeException("stack", $"all tensors must have one shape, got {ShapeUtil.Format(tensors[0].ShapeSpan)} and {ShapeUtil.Format(t.ShapeSpan)}");
        int d = NormDim("stack", dim, tensors[0].Rank + 1);
        var parts = new Tensor[tensors.Count];
        for (int i = 0; i < parts.Length; i++) parts[i] = tensors[i].Unsqueeze(d);
        return Cat(parts, d);
    }

    /// <summary>Splits into views of <paramref name="splitSize"/> along <paramref name="dim"/> (the last may be smaller).</summary>
    public Tensor[] Split(long splitSize, int dim = 0)
    {
        int d = DimOf("split", dim);
        if (splitSize <= 0) throw new ArgumentValueException("split", $"split size must be positive, got {splitSize}");
        var parts = new List<Tensor>();
        for (long s = 0; s < _shape[d] || (s == 0 && _shape[d] == 0); s = splitSize >= _shape[d] - s ? _shape[d] : s + splitSize)
        {
            parts.Add(Narrow(d, s, Math.Min(splitSize, _shape[d] - s)));
            if (_shape[d] == 0) break;
        }
        return [.. parts];
    }

    /// <summary>Splits into views of the given sizes along <paramref name="dim"/>; the sizes must add up to the dim.</summary>
    public Tensor[] Split(long[] sizes, int dim = 0)
    {
        int d = DimOf("split", dim);
        long sum = 0;
        foreach (var s in sizes)
        {
            if (s < 0) throw new ArgumentValueException("split", $"negative split size {s}");
            sum = ShapeUtil.CheckedAdd("split", sum, s, "the sum of the split sizes");
        }
        if (sum != _shape[d]) throw new ShapeException("split", $"split sizes ({string.Join(", ", sizes)}) sum to {sum} but dimension {d} has size {_shape[d]}");
        var parts = new Tensor[sizes.Length];
        long at = 0;
        for (int i = 0; i < sizes.Length; i++) { parts[i] = Narrow(d, at, sizes[i]); at += sizes[i]; }
        return parts;
    }

    /// <summary>Splits into <paramref name="chunks"/> near-equal views along <paramref name="dim"/> (as PyTorch: size ⌈n/chunks⌉, so possibly fewer chunks).</summary>
    public Tensor[] Chunk(int chunks, int dim = 0)
    {
        if (chunks <= 0) throw new ArgumentValueException("chunk", $"number of chunks must be positive, got {chunks}");
        int d = DimOf("chunk", dim);
        long size = _shape[d] == 0 ? 1 : (_shape[d] - 1) / chunks + 1; // ⌈n/chunks⌉ without overflow
        return Split(size, d);
    }

    private void CheckIndex(string op, Tensor index, long size)
    {
        index.StorageOf(op);
        Checks.IsDType(op, index, DType.Int64, "index");
        Checks.SameDevice(op, this, index);
        if (index.NumEl == 0) return;
        double lo, hi;
        using (GradMode.Disable())
        {
            using var mn = index.Min(); using var mx = index.Max();
            lo = mn.Item(); hi = mx.Item();
        }
        if (lo < 0 || hi >= size)
            throw new IndexException(op, $"index {(lo < 0 ? lo : hi)} is out of bounds for size {size}");
    }

    private void CheckGatherShapes(string op, Tensor index, int d, Tensor other)
    {
        if (index.Rank != Rank)
            throw new ShapeException(op, $"index has rank {index.Rank} but the tensor has rank {Rank} (shapes {ShapeUtil.Format(index._shape)}, {ShapeUtil.Format(_shape)})");
        for (int i = 0; i < Rank; i++)
            if (i != d && index._shape[i] > other._shape[i])
                throw new ShapeException(op, $"index shape {ShapeUtil.Format(index._shape)} exceeds {ShapeUtil.Format(other._shape)} in dimension {i}");
    }

    /// <summary>out[i][j][k] = this[i][index[i][j][k]][k] for dim 1 (and likewise for other dims).</summary>
    public Tensor Gather(int dim, Tensor index)
    {
        const string op = "gather";
        StorageOf(op);
        int d = DimOf(op, dim);
        CheckGatherShapes(op, index, d, this);
        CheckIndex(op, index, _shape[d]);
        var r = Empty(index._shape, DType, Device, op: op);
        Backend.Gather(r.View(op), View(op), index.View(op), d);
        var inShape = _shape;
        return Autograd.Record(r, op, [this], (g, _) =>
        {
            var z = Zeros(inShape, g.DType, g.Device);
            z.ScatterAddInPlace(d, index, g);
            return [z];
        }, saved: [index]);
    }

    /// <summary>A copy of this tensor with <paramref name="src"/> added at the positions <paramref name="index"/> names along <paramref name="dim"/>.</summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src)
    {
        const string op = "scatter_add";
        int d = DimOf(op, dim);
        Checks.SameDType(op, this, src);
        var owned = CloneNoGrad();
        owned.ScatterAddInPlace(d, index, src);
        return Autograd.Record(owned, op, [this, src], (g, need) => [need[0] ? g : null, need[1] ? g.Gather(d, index) : null], saved: [index]);
    }

    internal void ScatterAddInPlace(int d, Tensor index, Tensor src)
    {
        const string op = "scatter_add";
        Checks.SameDevice(op, this, src);
        Checks.SameDType(op, this, src);
        if (!index.ShapeSpan.SequenceEqual(src.ShapeSpan))
            throw new ShapeException(op, $"index shape {ShapeUtil.Format(index._shape)} must equal src shape {ShapeUtil.Format(src._shape)}");
        CheckGatherShapes(op, index, d, this);
        CheckIndex(op, index, _shape[d]);
        Backend.ScatterAdd(WriteView(op), index.View(op), src.View(op), d);
    }

    /// <summary>The slices at positions <paramref name="index"/> (1-D int64) along <paramref name="dim"/>.</summary>
    public Tensor IndexSelect(int dim, Tensor index)
    {
        const string op = "index_select";
        StorageOf(op);
        int d = DimOf(op, dim);
        if (index.Rank != 1) throw new ShapeException(op, $"index must be 1-D, got shape {ShapeUtil.Format(index.ShapeSpan)}");
        CheckIndex(op, index, _shape[d]);
        var shape = Shape; shape[d] = index._shape[0];
        var r = Empty(shape, DType, Device, op: op);
        Backend.IndexSelect(r.View(op), View(op), index.View(op), d);
        var inShape = _shape;
        return Autograd.Record(r, op, [this], (g, _) =>
        {
            var z = Zeros(inShape, g.DType, g.Device);
            z.Backend.IndexAdd(z.View("index_add"), index.View("index_add"), g.View("index_add"), d);
            return [z];
        }, saved: [index]);
    }

    /// <summary>Elementwise choice: <paramref name="x"/> where <paramref name="condition"/> is true, else <paramref name="y"/> (all broadcast).</summary>
    public static Tensor Where(Tensor condition, Tensor x, Tensor y)
    {
        const string op = "where";
        condition.StorageOf(op); x.StorageOf(op); y.StorageOf(op);
        Checks.IsDType(op, condition, DType.Bool, "condition");
        Checks.SameDevice(op, condition, x); Checks.SameDevice(op, x, y);
        Checks.SameDType(op, x, y);
        var shape = Checks.Broadcast(op, Checks.Broadcast(op, condition._shape, x._shape), y._shape);
        var r = Empty(shape, x.DType, x.Device, op: op);
        x.Backend.Where(r.View(op), condition.ViewAs(op, shape), x.ViewAs(op, shape), y.ViewAs(op, shape));
        return Autograd.Record(r, op, [x, y], (g, need) =>
        {
            using var zero = g.ScalarLike(0);
            return [need[0] ? Where(condition, g, zero).SumTo(x._shape) : null, need[1] ? Where(condition, zero, g).SumTo(y._shape) : null];
        }, saved: [condition]);
    }

    /// <summary>A copy with <paramref name="value"/> where <paramref name="mask"/> (bool, broadcast) is true.</summary>
    public Tensor MaskedFill(Tensor mask, double value)
    {
        using var v = ScalarLike(value);
        var r = Where(mask, v, this);
        if (!r.ShapeSpan.SequenceEqual(ShapeSpan))
            throw new ShapeException("masked_fill", $"mask of shape {ShapeUtil.Format(mask.ShapeSpan)} does not broadcast to {ShapeUtil.Format(_shape)}");
        return r;
    }

    /// <summary>One-hot encoding of int64 class indices: a new last dim of size <paramref name="numClasses"/> (int64), as PyTorch.</summary>
    public Tensor OneHot(long numClasses = -1)
    {
        const string op = "one_hot";
        StorageOf(op);
        Checks.IsDType(op, this, DType.Int64, "the class indices");
        if (numClasses < 0)
        {
            if (NumEl == 0) throw new ArgumentValueException(op, "cannot infer the number of classes from an empty tensor");
            using var mx = Max();
            numClasses = (long)mx.Item() + 1;
        }
        CheckIndex(op, this, numClasses);
        // The result's shape is checked before the classes are enumerated (a huge count is a shape error, not an overflow).
        long bytes = ShapeUtil.CheckedBytes(op, [.. _shape, numClasses], DType.Int64.ElementSize());
        if (numClasses > Array.MaxLength) throw new ArgumentValueException(op, $"{numClasses} classes are more than the {Array.MaxLength} one-hot supports");
        if (Device.Type == DeviceType.Cpu) Engine.Kernels.Cpu.HostBlockCache.CheckFits(op, bytes);
        using var classes = Arange(0, numClasses, 1, DType.Int64, Device);
        using var col = Unsqueeze(-1);
        using var eq = col.Eq(classes);
        return eq.To(DType.Int64);
    }
}
