using Engine.Kernels;

namespace Engine;

// Reductions over all dims or given dims, with keepDim. Sum/Max/Min run as kernels; mean, var, std and
// logsumexp are compositions, so their gradients come from the ops they are made of.
public sealed partial class Tensor
{
    private int[] ReduceDims(string op, int[]? dims)
    {
        if (dims is null || dims.Length == 0) { var all = new int[Rank]; for (int i = 0; i < Rank; i++) all[i] = i; return all; }
        var set = new SortedSet<int>();
        foreach (var d in dims)
            if (!set.Add(NormDim(op, d, Rank))) throw new IndexException(op, $"dimension {d} appears more than once in ({string.Join(", ", dims)})");
        return [.. set];
    }

    private static long[] KeepShape(long[] shape, int[] dims)
    {
        var s = (long[])shape.Clone();
        foreach (var d in dims) if (d < s.Length) s[d] = 1;
        return s;
    }

    private static long[] DropShape(long[] shape, int[] dims)
    {
        var r = new List<long>();
        for (int i = 0; i < shape.Length; i++) if (Array.IndexOf(dims, i) < 0) r.Add(shape[i]);
        return [.. r];
    }

    private Tensor ReduceKernel(string op, ReduceOp kind, int[] dims, bool keepDim)
    {
        StorageOf(op);
        Checks.Numeric(op, this);
        var keep = KeepShape(_shape, dims);
        if ((kind != ReduceOp.Sum) && NumEl == 0)
            throw new ShapeException(op, $"cannot take {op} of an empty tensor of shape {ShapeUtil.Format(_shape)}");
        var r = Empty(keep, DType, Device, op: op);
        Backend.Reduce(kind, r.View(op), View(op));
        if (keepDim) return r;
        var dropped = r.Alias(DropShape(keep, dims), ShapeUtil.ContiguousStrides(DropShape(keep, dims)), 0, op);
        r.Dispose();
        return dropped;
    }

    /// <summary>Sum over all elements (a scalar).</summary>
    public Tensor Sum() => Sum(null);

    /// <summary>Sum over <paramref name="dims"/> (all when null).</summary>
    public Tensor Sum(int[]? dims, bool keepDim = false)
    {
        // As PyTorch: integer and bool sums accumulate (and return) int64, so they do not overflow int32.
        if (DType is DType.Int32 or DType.UInt8 or DType.Bool) { using var wide = To(DType.Int64); return wide.Sum(dims, keepDim); }
        var d = ReduceDims("sum", dims);
        var r = ReduceKernel("sum", ReduceOp.Sum, d, keepDim);
        var keep = KeepShape(_shape, d);
        var inShape = _shape;
        var sum = Autograd.Record(r, "sum", [this], (g, _) => [g.Reshape(keep).Expand(inShape)]);
        if (OpTrace.IsActive) OpTrace.Annotate(sum, ("dims", d), ("keep_dim", keepDim));
        return sum;
    }

    /// <summary>Sum over one dim.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>Mean over all elements.</summary>
    public Tensor Mean() => Mean(null);

    /// <summary>Mean over <paramref name="dims"/> (all when null).</summary>
    public Tensor Mean(int[]? dims, bool keepDim = false)
    {
        Checks.Float("mean", this);
        var d = ReduceDims("mean", dims);
        long count = 1;
        foreach (var i in d) if (i < Rank) count *= _shape[i];
        return Sum(d, keepDim).Div(count);
    }

    /// <summary>Mean over one dim.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Largest element (a scalar). Gradient is shared evenly among tied maxima.</summary>
    public Tensor Max() => Extreme("max", ReduceOp.Max, null, false);

    /// <summary>Smallest element (a scalar).</summary>
    public Tensor Min() => Extreme("min", ReduceOp.Min, null, false);

    /// <summary>Largest values over <paramref name="dims"/> (PyTorch's amax).</summary>
    public Tensor Amax(int[]? dims, bool keepDim = false) => Extreme("amax", ReduceOp.Max, dims, keepDim);

    /// <summary>Smallest values over <paramref name="dims"/> (PyTorch's amin).</summary>
    public Tensor Amin(int[]? dims, bool keepDim = false) => Extreme("amin", ReduceOp.Min, dims, keepDim);

    private Tensor Extreme(string op, ReduceOp kind, int[]? dims, bool keepDim)
    {
        var d = ReduceDims(op, dims);
        var r = ReduceKernel(op, kind, d, keepDim);
        var keep = KeepShape(_shape, d);
        Tensor x = this;
        var extreme = Autograd.Record(r, op, [this], (g, _) =>
        {
            var mask = x.Eq(r.Reshape(keep)).To(g.DType);
            return [mask.Mul(g.Reshape(keep)).Div(mask.Sum(d, keepDim: true))];
        }, saved: [x, r]);
        if (OpTrace.IsActive) OpTrace.Annotate(extreme, ("dims", d), ("keep_dim", keepDim));
        return extreme;
    }

    /// <summary>Max along <paramref name="dim"/>: the values and the index of the first maximum (int64).</summary>
    public (Tensor Values, Tensor Indices) Max(int dim, bool keepDim = false) => ArgExtreme("max", true, dim, keepDim);

    /// <summary>Min along <paramref name="dim"/>: the values and the index of the first minimum (int64).</summary>
    public (Tensor Values, Tensor Indices) Min(int dim, bool keepDim = false) => ArgExtreme("min", false, dim, keepDim);

    private (Tensor, Tensor) ArgExtreme(string op, bool max, int dim, bool keepDim)
    {
        StorageOf(op);
        Checks.Numeric(op, this);
        int d = NormDim(op, dim, Rank);
        if (Rank == 0) return (Autograd.Record(Alias([], [], _offset, op), op, [this], (g, _) => [g]), Zeros([], DType.Int64, Device));
        if (_shape[d] == 0) throw new ShapeException(op, $"cannot take {op} along dimension {d} of size 0 (shape {ShapeUtil.Format(_shape)})");
        var keep = KeepShape(_shape, [d]);
        var v = Empty(keep, DType, Device, op: op);
        var ix = Empty(keep, DType.Int64, Device, op: op);
        Backend.ArgReduce(max, v.View(op), ix.View(op), View(op), d);
        if (!keepDim)
        {
            var vs = v.Squeeze(d); var ixs = ix.Squeeze(d);
            v.Dispose(); ix.Dispose();
            (v, ix) = (vs, ixs);
        }
        var inShape = _shape;
        var idx = ix;
        var values = Autograd.Record(v, op, [this], (g, _) =>
        {
            var z = Zeros(inShape, g.DType, g.Device);
            var gi = keepDim ? g : g.Unsqueeze(d);
            var ii = keepDim ? idx : idx.Unsqueeze(d);
            z.ScatterAddInPlace(d, ii, gi);
            return [z];
        }, saved: [idx]);
        if (OpTrace.IsActive) OpTrace.Annotate(values, ("dims", new[] { d }), ("keep_dim", keepDim));
        return (values, ix);
    }

    /// <summary>Index of the largest element of the flattened tensor (int64 scalar).</summary>
    public Tensor ArgMax() { using var f = Reshape(-1); return f.Max(0).Indices; }

    /// <summary>Indices of the largest values along <paramref name="dim"/>.</summary>
    public Tensor ArgMax(int dim, bool keepDim = false) => Max(dim, keepDim).Indices;

    /// <summary>Index of the smallest element of the flattened tensor.</summary>
    public Tensor ArgMin() { using var f = Reshape(-1); return f.Min(0).Indices; }

    /// <summary>Indices of the smallest values along <paramref name="dim"/>.</summary>
    public Tensor ArgMin(int dim, bool keepDim = false) => Min(dim, keepDim).Indices;

    /// <summary>Variance over <paramref name="dims"/> (all when null) with Bessel's correction by default (correction = 1).</summary>
    public Tensor Var(int[]? dims = null, bool keepDim = false, int correction = 1)
    {
        Checks.Float("var", this);
        var d = ReduceDims("var", dims);
        long n = 1;
        foreach (var i in d) if (i < Rank) n *= _shape[i];
        var centered = Sub(Mean(d, keepDim: true));
        return centered.Square().Sum(d, keepDim).Div(Math.Max(n - correction, 0));
    }

    /// <summary>Standard deviation over <paramref name="dims"/> (√<see cref="Var"/>).</summary>
    public Tensor Std(int[]? dims = null, bool keepDim = false, int correction = 1) => Var(dims, keepDim, correction).Sqrt();

    /// <summary>log Σ e^x over <paramref name="dims"/>, computed stably (the max is subtracted first).</summary>
    public Tensor LogSumExp(int[] dims, bool keepDim = false)
    {
        Checks.Float("logsumexp", this);
        var d = ReduceDims("logsumexp", dims);
        Tensor m;
        using (GradMode.Disable())
        {
            using var amax = Amax(d, keepDim: true);
            // rows that are all -inf keep a finite shift
            using var inf = amax.Abs().Eq(double.PositiveInfinity);
            using var zero = ScalarLike(0);
            m = Where(inf, zero, amax);
        }
        var r = Sub(m).Exp().Sum(d, keepDim: true).Log().Add(m);
        return keepDim ? r : r.Squeeze(d);
    }

    /// <summary>log Σ e^x over one dim.</summary>
    public Tensor LogSumExp(int dim, bool keepDim = false) => LogSumExp([dim], keepDim);

    private Tensor Squeeze(int[] dims)
    {
        var t = this;
        for (int i = dims.Length - 1; i >= 0; i--) t = t.Squeeze(dims[i]);
        return t;
    }
}
