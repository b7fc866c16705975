using Engine.Kernels;

namespace Engine;

// View ops: new geometry over the same storage, no copy. Each records a backward that maps the gradient back.
public sealed partial class Tensor
{
    private static long[] InferShape(string op, long[] shape, long numel)
    {
        var s = (long[])shape.Clone();
        int infer = -1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1)
            {
                if (infer >= 0) throw new ShapeException(op, $"only one dimension can be inferred in {ShapeUtil.Format(shape)}");
                infer = i;
                s[i] = 1;
            }
            else if (s[i] < 0) throw new ShapeException(op, $"invalid size {s[i]} in shape {ShapeUtil.Format(shape)}");
        }
        long known = ShapeUtil.CheckedNumEl(op, s); // the known sizes, checked for overflow (the -1 counted as 1)
        if (infer >= 0)
        {
            if (known == 0 || numel % known != 0)
                throw new ShapeException(op, $"shape {ShapeUtil.Format(shape)} is invalid for input of size {numel}");
            s[infer] = numel / known;
        }
        else if (known != numel)
            throw new ShapeException(op, $"shape {ShapeUtil.Format(shape)} is invalid for input of size {numel}");
        return s;
    }

    // Strides for viewing this tensor's elements with newShape without copying, or null when impossible
    // (PyTorch's computeStride: each run of dims that is contiguous in memory can be re-split freely).
    private long[]? ViewStrides(long[] newShape)
    {
        var ns = new long[newShape.Length];
        if (NumEl == 0 || Rank == 0) return ShapeUtil.ContiguousStrides(newShape);
        int viewD = newShape.Length - 1;
        long chunkBase = _strides.Length > 0 ? _strides[^1] : 1;
        long tensorNumel = 1, viewNumel = 1;
        for (int d = Rank - 1; d >= 0; d--)
        {
            tensorNumel *= _shape[d];
            if (d == 0 || (_shape[d - 1] != 1 && _strides[d - 1] != tensorNumel * chunkBase))
            {
                while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1))
                {
                    ns[viewD] = viewNumel * chunkBase;
                    viewNumel *= newShape[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0) { chunkBase = _strides[d - 1]; tensorNumel = 1; viewNumel = 1; }
            }
        }
        return viewD == -1 ? ns : null;
    }

    /// <summary>The same elements with a new shape (one size may be -1), sharing storage; throws when the strides do not allow it (use <see cref="Reshape"/>).</summary>
    public Tensor View(params long[] shape)
    {
        var s = InferShape("view", shape, NumEl);
        var st = ViewStrides(s) ?? throw new ShapeException("view",
            $"view size {ShapeUtil.Format(s)} is not compatible with input of shape {ShapeUtil.Format(_shape)} and strides {ShapeUtil.Format(_strides)}; use Reshape (which copies)");
        var inShape = _shape;
        return Autograd.Record(Alias(s, st, _offset, "view"), "view", [this], (g, _) => [g.Reshape(inShape)]);
    }

    /// <summary>The same elements with a new shape: a view when possible, else a copy.</summary>
    public Tensor Reshape(params long[] shape)
    {
        var s = InferShape("reshape", shape, NumEl);
        if (ViewStrides(s) is not null) return View(s);
        return Contiguous().View(s);
    }

    /// <summary>Reorders the dimensions.</summary>
    public Tensor Permute(params int[] dims)
    {
        if (dims.Length != Rank)
            throw new ShapeException("permute", $"expected {Rank} dims for shape {ShapeUtil.Format(_shape)}, got {dims.Length}");
        var seen = new bool[Rank];
        var ns = new long[Rank];
        var nst = new long[Rank];
        var inverse = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = NormDim("permute", dims[i], Rank);
            if (seen[d]) throw new IndexException("permute", $"dimension {d} repeats in ({string.Join(", ", dims)})");
            seen[d] = true;
            ns[i] = _shape[d]; nst[i] = _strides[d]; inverse[d] = i;
        }
        var r = Autograd.Record(Alias(ns, nst, _offset, "permute"), "permute", [this], (g, _) => [g.Permute(inverse)]);
        if (OpTrace.IsActive) OpTrace.Annotate(r, ("dims", dims.Select(v => NormDim("permute", v, Rank)).ToArray()));
        return r;
    }

    /// <summary>Swaps two dimensions.</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        int a = NormDim("transpose", dim0, Rank), b = NormDim("transpose", dim1, Rank);
        if (Rank == 0) return Permute(); // PyTorch: transposing a 0-dim tensor (dims 0 or -1) is the identity
        var p = new int[Rank];
        for (int i = 0; i < Rank; i++) p[i] = i;
        (p[a], p[b]) = (p[b], p[a]);
        return Permute(p);
    }

    /// <summary>The transpose of a matrix (rank ≤ 2).</summary>
    public Tensor T
    {
        get
        {
            if (Rank > 2) throw new ShapeException("t", $"expects a tensor of rank <= 2, got shape {ShapeUtil.Format(_shape)}; use Transpose or Permute");
            if (Rank >= 2) return Transpose(0, 1);
            // rank 0 or 1: the identity, but still a recorded op so the gradient flows through
            return Autograd.Record(Alias(_shape, _strides, _offset, "t"), "t", [this], (g, _) => [g]);
        }
    }

    /// <summary>Elements start … start+length-1 along <paramref name="dim"/>, as a view.</summary>
    public Tensor Narrow(int dim, long start, long length)
    {
        int d = DimOf("narrow", dim);
        if (start < 0) start += _shape[d];
        // compared without forming start + length, which can overflow
        if (start < 0 || length < 0 || start > _shape[d] || length > _shape[d] - start)
            throw new IndexException("narrow", $"start {start} and length {length} are out of bounds for dimension {d} of size {_shape[d]}");
        return Slice(d, start, start + length, 1);
    }

    /// <summary>Elements start, start+step, … below end along <paramref name="dim"/> (Python's a[start:end:step]), as a view.</summary>
    public Tensor Slice(int dim, long start, long end, long step = 1)
    {
        int d = DimOf("slice", dim);
        if (step <= 0) throw new ArgumentValueException("slice", $"step must be positive, got {step}");
        long size = _shape[d];
        if (start < 0) start += size;
        if (end < 0) end += size;
        start = Math.Clamp(start, 0, size); end = Math.Clamp(end, start, size);
        long len = end == start ? 0 : (end - start - 1) / step + 1; // ceil((end − start) / step) without overflow
        var ns = Shape; ns[d] = len;
        // With two or more elements step < size, so the stride stays within the tensor's span; with fewer it is unused.
        var nst = Strides; nst[d] = len > 1 ? _strides[d] * step : _strides[d];
        var inShape = _shape;
        long s0 = start;
        var sliced = Autograd.Record(Alias(ns, nst, _offset + start * _strides[d], "slice"), "slice", [this], (g, _) =>
        {
            var z = Zeros(inShape, g.DType, g.Device);
            z.Slice(d, s0, s0 + (len - 1) * step + 1, step).CopyFromUnchecked(g);
            return [z];
        });
        if (OpTrace.IsActive) OpTrace.Annotate(sliced, ("dim", d), ("start", start), ("end", end), ("step", step));
        return sliced;
    }

    /// <summary>The slice at <paramref name="index"/> along <paramref name="dim"/>, with that dim removed.</summary>
    public Tensor Select(int dim, long index)
    {
        int d = DimOf("select", dim);
        long i = index < 0 ? index + _shape[d] : index;
        if (i < 0 || i >= _shape[d]) throw new IndexException("select", $"index {index} is out of bounds for dimension {d} with size {_shape[d]}");
        return Narrow(d, i, 1).Squeeze(d);
    }

    /// <summary>Repeats size-1 dimensions (and adds leading ones) to <paramref name="shape"/> without copying; -1 keeps a size.</summary>
    public Tensor Expand(params long[] shape)
    {
        if (shape.Length < Rank)
            throw new ShapeException("expand", $"the target shape {ShapeUtil.Format(shape)} has fewer dimensions than the tensor's {ShapeUtil.Format(_shape)}");
        var target = (long[])shape.Clone();
        int off = shape.Length - Rank;
        for (int i = 0; i < target.Length; i++)
        {
            int j = i - off;
            if (target[i] == -1)
            {
                if (j < 0) throw new ShapeException("expand", $"-1 is not allowed for a new leading dimension in {ShapeUtil.Format(shape)}");
                target[i] = _shape[j];
            }
            else if (target[i] < 0) throw new ShapeException("expand", $"invalid size {target[i]} in the target shape {ShapeUtil.Format(shape)}");
            if (j >= 0 && _shape[j] != 1 && _shape[j] != target[i])
                throw new ShapeException("expand", $"cannot expand shape {ShapeUtil.Format(_shape)} to {ShapeUtil.Format(shape)}: dimension {i} is {_shape[j]}, not 1");
        }
        ShapeUtil.CheckedNumEl("expand", target);
        var v = ViewAs("expand", target);
        var inShape = _shape;
        return Autograd.Record(Alias(target, v.Strides, _offset, "expand"), "expand", [this], (g, _) => [g.SumTo(inShape)]);
    }

    /// <summary>Expands to the shape of <paramref name="other"/>.</summary>
    public Tensor ExpandAs(Tensor other) => Expand(other._shape);

    /// <summary>Removes size-1 dimensions (all, or just <paramref name="dim"/>).</summary>
    public Tensor Squeeze(int? dim = null)
    {
        var keep = new List<int>();
        int only = dim is null ? -1 : NormDim("squeeze", dim.Value, Rank);
        for (int i = 0; i < Rank; i++)
            if (_shape[i] != 1 || (only >= 0 && i != only)) keep.Add(i);
        var ns = new long[keep.Count];
        var nst = new long[keep.Count];
        for (int i = 0; i < keep.Count; i++) { ns[i] = _shape[keep[i]]; nst[i] = _strides[keep[i]]; }
        var inShape = _shape;
        return Autograd.Record(Alias(ns, nst, _offset, "squeeze"), "squeeze", [this], (g, _) => [g.Reshape(inShape)]);
    }

    /// <summary>Inserts a size-1 dimension at <paramref name="dim"/> (in [-rank-1, rank]).</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = NormDim("unsqueeze", dim, Rank + 1);
        var ns = new List<long>(_shape);
        var nst = new List<long>(_strides);
        ns.Insert(d, 1);
        nst.Insert(d, d < Rank ? _strides[d] * _shape[d] : 1);
        var inShape = _shape;
        return Autograd.Record(Alias([.. ns], [.. nst], _offset, "unsqueeze"), "unsqueeze", [this], (g, _) => [g.Reshape(inShape)]);
    }

    /// <summary>Merges dimensions <paramref name="startDim"/> … <paramref name="endDim"/> into one.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int a = NormDim("flatten", startDim, Rank), b = NormDim("flatten", endDim, Rank);
        if (a > b) throw new IndexException("flatten", $"start dim {startDim} comes after end dim {endDim}");
        var ns = new List<long>();
        for (int i = 0; i < a; i++) ns.Add(_shape[i]);
        long m = 1;
        for (int i = a; i <= b; i++) m *= _shape[i];
        ns.Add(m);
        for (int i = b + 1; i < Rank; i++) ns.Add(_shape[i]);
        return Reshape([.. ns]);
    }

    /// <summary>This tensor if contiguous, else a contiguous copy (gradient flows through).</summary>
    public Tensor Contiguous()
    {
        if (IsContiguous) return this;
        return Clone();
    }

    /// <summary>A contiguous copy with its own storage (gradient flows through).</summary>
    public Tensor Clone() => Autograd.Record(CloneNoGrad(), "clone", [this], (g, _) => [g]);

    /// <summary>A contiguous copy with its own storage, outside the graph.</summary>
    internal Tensor CloneNoGrad()
    {
        var t = Empty(_shape, DType, Device, op: "clone");
        Backend.Copy(t.View("clone"), View("clone"));
        return t;
    }

    /// <summary>This tensor's elements contiguous, outside the graph: an alias when already contiguous, else a copy.</summary>
    internal Tensor ContiguousNoGrad() => IsContiguous ? Alias(_shape, _strides, _offset, "contiguous") : CloneNoGrad();

    /// <summary>A copy converted to <paramref name="dtype"/> (differentiable between float types).</summary>
    public Tensor To(DType dtype) => dtype == DType ? this : ToOwned(dtype, Device, copy: true);

    /// <summary>A copy on <paramref name="device"/> (this tensor when already there).</summary>
    public Tensor To(Device device) => device == Device ? this : ToOwned(DType, device, copy: true);

    internal Tensor ToOwned(DType dtype, Device? device, bool copy = false)
    {
        var dev = device ?? Device;
        if (!copy && dtype == DType && dev == Device) return this;
        var t = Empty(_shape, dtype, dev, op: "to");
        if (dev == Device) Backend.Copy(t.View("to"), View("to"));
        else if (dev.Type != DeviceType.Meta) // the shape-only device has no values to copy in
        {
            // Across devices: stage through host memory in the source dtype, then convert on the target.
            using var src = ContiguousNoGrad();
            var host = new byte[NumEl * DType.ElementSize()];
            Backend.CopyToHost(src.View("to"), host);
            using var staged = Empty(_shape, DType, dev, op: "to");
            staged.Backend.CopyFromHost(staged.View("to"), host);
            t.Backend.Copy(t.View("to"), staged.View("to"));
        }
        if (!dtype.IsFloatingPoint() || !DType.IsFloatingPoint()) return t;
        var (srcType, srcDev) = (DType, Device);
        return Autograd.Record(t, "to", [this], (g, _) => [g.ToOwned(srcType, srcDev)]);
    }

    /// <summary>Copies <paramref name="src"/> (broadcast to this shape, converted to this dtype) into this tensor in place.</summary>
    public Tensor CopyFrom(Tensor src)
    {
        CheckInPlace("copy_");
        return CopyFromUnchecked(src);
    }

    internal Tensor CopyFromUnchecked(Tensor src)
    {
        Checks.SameDevice("copy_", this, src);
        // src must broadcast to this shape without growing it (one-sided, so stricter than Checks.Broadcast)
        if (src.Rank > Rank) throw new ShapeException("copy_", $"cannot copy shape {ShapeUtil.Format(src._shape)} into {ShapeUtil.Format(_shape)}");
        for (int i = 0; i < src.Rank; i++)
        {
            long s = src._shape[i], d = _shape[i + Rank - src.Rank];
            if (s != d && s != 1) throw new ShapeException("copy_", $"cannot copy shape {ShapeUtil.Format(src._shape)} into {ShapeUtil.Format(_shape)}");
        }
        Backend.Copy(WriteView("copy_"), src.ViewAs("copy_", _shape));
        return this;
    }

    internal void CheckInPlace(string op)
    {
        StorageOf(op);
        if (!GradMode.IsEnabled || !RequiresGrad) return;
        if (IsLeaf)
            throw new AutogradException(op, "a leaf tensor that requires grad is being used in an in-place operation; wrap it in Tensor.NoGrad()");
        // In-place ops are not recorded in the graph: the gradient would silently ignore this change.
        throw new AutogradException(op, $"{Describe()} is part of the autograd graph (produced by {GradFn!.Name}) and in-place ops are not " +
            "recorded, so its gradient would ignore this change; use the out-of-place op, or Clone() it first");
    }
}
