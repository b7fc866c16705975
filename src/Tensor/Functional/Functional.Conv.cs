using Engine.Kernels;

namespace Engine;

/// <summary>
/// The functional CNN ops (PyTorch's torch.nn.functional): convolution, pooling, normalisation, dropout,
/// losses and batch augmentation. Each validates its inputs, calls one backend kernel (or composes tensor
/// ops) and records its backward rule.
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// 2-D convolution of x [N, C, H, W] with w [O, C/groups, kH, kW] plus optional bias [O]. Scalar stride,
    /// padding (both sides) and dilation apply to both spatial dims.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv2d(x, w, bias, [stride, stride], [padding, padding], [dilation, dilation], groups);

    /// <summary>
    /// 2-D convolution with per-dim options: stride and dilation as (h, w); padding as (h, w) for symmetric
    /// padding or (top, bottom, left, right) for per-side padding.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, int[] stride, int[] padding, int[] dilation, int groups = 1) =>
        ConvNd("conv2d", 2, x, w, bias, stride, padding, dilation, groups);

    /// <summary>3-D convolution of x [N, C, T, H, W] with w [O, C/groups, kT, kH, kW] (video models).</summary>
    public static Tensor Conv3d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv3d(x, w, bias, [stride, stride, stride], [padding, padding, padding], [dilation, dilation, dilation], groups);

    /// <summary>3-D convolution with per-dim options; padding as (t, h, w) or per side (front, back, top, bottom, left, right).</summary>
    public static Tensor Conv3d(Tensor x, Tensor w, Tensor? bias, int[] stride, int[] padding, int[] dilation, int groups = 1) =>
        ConvNd("conv3d", 3, x, w, bias, stride, padding, dilation, groups);

    /// <summary>
    /// 2-D convolution with PyTorch's string padding: <see cref="ConvPadding.Same"/> keeps H and W (stride must be 1),
    /// <see cref="ConvPadding.Valid"/> pads nothing. Stride and dilation as one value or (h, w).
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, ConvPadding padding, int[]? stride = null, int[]? dilation = null, int groups = 1) =>
        ConvNd("conv2d", 2, x, w, bias, stride ?? [1], PaddingFor("conv2d", padding, KernelOf("conv2d", w, 2), stride ?? [1], dilation ?? [1]), dilation ?? [1], groups);

    /// <summary>3-D convolution with PyTorch's string padding (see the 2-D overload); stride and dilation as one value or (t, h, w).</summary>
    public static Tensor Conv3d(Tensor x, Tensor w, Tensor? bias, ConvPadding padding, int[]? stride = null, int[]? dilation = null, int groups = 1) =>
        ConvNd("conv3d", 3, x, w, bias, stride ?? [1], PaddingFor("conv3d", padding, KernelOf("conv3d", w, 3), stride ?? [1], dilation ?? [1]), dilation ?? [1], groups);

    /// <summary>
    /// The explicit padding PyTorch uses for a string padding mode: none for <see cref="ConvPadding.Valid"/>; for
    /// <see cref="ConvPadding.Same"/> a total of dilation·(k − 1) per dim, half before and the odd one after
    /// (bottom/right), returned per side (before₀, after₀, before₁, after₁, …) when any dim is uneven, else one value
    /// per dim. Same padding with a stride above 1 raises <see cref="ArgumentValueException"/>, as in PyTorch.
    /// </summary>
    public static int[] PaddingFor(string op, ConvPadding padding, int[] kernel, int[] stride, int[] dilation)
    {
        int spatial = kernel.Length;
        Per(op, "kernel size", kernel, spatial, 1);
        stride = Per(op, "stride", stride, spatial, 1);
        dilation = Per(op, "dilation", dilation, spatial, 1);
        if (padding == ConvPadding.Valid) return new int[spatial];
        if (padding != ConvPadding.Same) throw new ArgumentValueException(op, $"unknown padding mode {padding}");
        if (stride.Any(s => s != 1))
            throw new ArgumentValueException(op, $"padding 'same' is not supported for strided convolutions (stride ({string.Join(", ", stride)}))");
        var perSide = new int[2 * spatial];
        for (int d = 0; d < spatial; d++)
        {
            int total = ShapeUtil.ToInt(op, (long)dilation[d] * (kernel[d] - 1), "the 'same' padding (dilation × (kernel − 1))");
            perSide[2 * d] = total / 2;
            perSide[2 * d + 1] = total - total / 2;
        }
        bool symmetric = Enumerable.Range(0, spatial).All(d => perSide[2 * d] == perSide[2 * d + 1]);
        return symmetric ? [.. Enumerable.Range(0, spatial).Select(d => perSide[2 * d])] : perSide;
    }

    private static int[] KernelOf(string op, Tensor w, int spatial) =>
        w.Rank == spatial + 2 ? [.. w.ShapeSpan[2..].ToArray().Select(k => ShapeUtil.ToInt(op, k, "the kernel size"))] : [.. Enumerable.Repeat(1, spatial)]; // a bad rank fails in ConvNd

    private static int[] Per(string op, string what, int[] v, int spatial, int min)
    {
        if (v.Length == 1) v = Enumerable.Repeat(v[0], spatial).ToArray();
        if (v.Length != spatial) throw new ArgumentValueException(op, $"{what} needs {spatial} values, got ({string.Join(", ", v)})");
        foreach (var e in v) if (e < min) throw new ArgumentValueException(op, $"{what} must be at least {min}, got ({string.Join(", ", v)})");
        return v;
    }

    // Expands spatial-rank values to the 3-dim form the kernels use (leading dims get the neutral value).
    private static int[] To3(int[] v, int neutral) => v.Length == 3 ? v : [.. Enumerable.Repeat(neutral, 3 - v.Length), .. v];

    private static void CheckFloatOperands(string op, Tensor x, params Tensor?[] others)
    {
        x.StorageOf(op);
        Checks.Float(op, x);
        foreach (var o in others)
        {
            if (o is null) continue;
            o.StorageOf(op);
            Checks.SameDevice(op, x, o);
            Checks.SameDType(op, x, o);
        }
    }

    private static Tensor ConvNd(string op, int spatial, Tensor x, Tensor w, Tensor? bias, int[] stride, int[] padding, int[] dilation, int groups)
    {
        CheckFloatOperands(op, x, w, bias);
        string dims = spatial == 2 ? "(N, C, H, W)" : "(N, C, T, H, W)";
        if (x.Rank != spatial + 2)
            throw new ShapeException(op, $"expected a {spatial + 2}-D input {dims}, got shape {ShapeUtil.Format(x.ShapeSpan)}");
        if (w.Rank != spatial + 2)
            throw new ShapeException(op, $"expected a {spatial + 2}-D weight (O, C/groups, kernel...), got shape {ShapeUtil.Format(w.ShapeSpan)}");
        if (groups < 1) throw new ArgumentValueException(op, $"groups must be positive, got {groups}");
        long n = x.Size(0), c = x.Size(1), o = w.Size(0);
        if (c % groups != 0 || o % groups != 0)
            throw new ShapeException(op, $"groups={groups} must divide both the input channels ({c}, input {ShapeUtil.Format(x.ShapeSpan)}) and the output channels ({o}, weight {ShapeUtil.Format(w.ShapeSpan)})");
        if (w.Size(1) * groups != c)
            throw new ShapeException(op, $"input of shape {ShapeUtil.Format(x.ShapeSpan)} has {c} channels but the weight {ShapeUtil.Format(w.ShapeSpan)} with groups={groups} expects {w.Size(1) * groups}");
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != o))
            throw new ShapeException(op, $"bias must have shape [{o}], got {ShapeUtil.Format(bias.ShapeSpan)}");
        stride = Per(op, "stride", stride, spatial, 1);
        dilation = Per(op, "dilation", dilation, spatial, 1);
        int[] padB, padE;
        if (padding.Length == 2 * spatial && spatial > 1 || (spatial == 1 && padding.Length == 2))
        {
            padB = new int[spatial]; padE = new int[spatial];
            for (int d = 0; d < spatial; d++) { padB[d] = padding[2 * d]; padE[d] = padding[2 * d + 1]; }
            Per(op, "padding", padB, spatial, 0); Per(op, "padding", padE, spatial, 0);
        }
        else { padB = Per(op, "padding", padding, spatial, 0); padE = padB; }
        var inSizes = new int[spatial];
        var kernel = new int[spatial];
        for (int d = 0; d < spatial; d++)
        {
            inSizes[d] = ShapeUtil.ToInt(op, x.Size(2 + d), $"the input size of spatial dim {d}");
            kernel[d] = ShapeUtil.ToInt(op, w.Size(2 + d), $"the kernel size of spatial dim {d}");
            long padded = (long)inSizes[d] + padB[d] + padE[d], span = (long)dilation[d] * (kernel[d] - 1) + 1;
            if (padded < span)
                throw new ShapeException(op, $"kernel size {ShapeUtil.Format(w.ShapeSpan[2..])} (dilated extent {span} in spatial dim {d}) is larger than the padded input size {padded} (input {ShapeUtil.Format(x.ShapeSpan)})");
        }
        var g = new ConvGeometry(ShapeUtil.ToInt(op, n, "the batch size"), ShapeUtil.ToInt(op, c, "the input channel count"),
            ShapeUtil.ToInt(op, o, "the output channel count"), groups, To3(inSizes, 1), To3(kernel, 1), To3(stride, 1), To3(padB, 0), To3(padE, 0), To3(dilation, 1));
        g.Validate(op);
        var outShape = new long[spatial + 2];
        outShape[0] = n; outShape[1] = o;
        for (int d = 0; d < spatial; d++) outShape[2 + d] = g.Out(3 - spatial + d);

        using var xc = x.ContiguousNoGrad();
        using var wc = w.ContiguousNoGrad();
        using var bc = bias?.ContiguousNoGrad();
        var y = Tensor.Empty(outShape, x.DType, x.Device, op: op);
        x.Backend.ConvForward(g, y.View(op), xc.View(op), wc.View(op), bc?.View(op));
        Autograd.Record(y, op, [x, w, bias], (gy, need) =>
        {
            using var gyc = gy.ContiguousNoGrad();
            Tensor? dx = null, dw = null, db = null;
            if (need[0])
            {
                dx = Tensor.Empty(x.ShapeSpan, x.DType, x.Device, op: op);
                using var wb = w.ContiguousNoGrad();
                x.Backend.ConvBackwardData(g, dx.View(op), gyc.View(op), wb.View(op));
            }
            if (need[1] || need[2])
            {
                dw = Tensor.Empty(w.ShapeSpan, w.DType, w.Device, op: op);
                if (bias is not null && need[2]) db = Tensor.Empty(bias.ShapeSpan, bias.DType, bias.Device, op: op);
                using var xb = x.ContiguousNoGrad();
                x.Backend.ConvBackwardWeight(g, dw.View(op), db?.View(op), gyc.View(op), xb.View(op));
                if (!need[1]) { dw.Dispose(); dw = null; }
            }
            return [dx, dw, db];
        }, saved: [w.RequiresGrad ? x : null, x.RequiresGrad ? w : null]);
        if (OpTrace.IsActive) OpTrace.Annotate(y, ("stride", stride), ("padding_begin", padB), ("padding_end", padE), ("dilation", dilation), ("groups", groups));
        return SpatialWindow.Attach(y, kernel, stride, padB, dilation);
    }

    /// <summary>x · wᵀ + b for x [..., in], w [out, in], b [out].</summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? bias = null)
    {
        const string op = "linear";
        CheckFloatOperands(op, x, w, bias);
        if (w.Rank != 2) throw new ShapeException(op, $"weight must be 2-D (out, in), got shape {ShapeUtil.Format(w.ShapeSpan)}");
        if (x.Rank < 1 || x.Size(-1) != w.Size(1))
            throw new ShapeException(op, $"input of shape {ShapeUtil.Format(x.ShapeSpan)} does not match weight {ShapeUtil.Format(w.ShapeSpan)}: last dim must be {w.Size(1)}");
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != w.Size(0)))
            throw new ShapeException(op, $"bias must have shape [{w.Size(0)}], got {ShapeUtil.Format(bias.ShapeSpan)}");
        var y = x.MatMul(w.T);
        return bias is null ? y : y.Add(bias);
    }
}

/// <summary>PyTorch's string padding of a convolution: <c>padding="valid"</c> or <c>padding="same"</c>.</summary>
public enum ConvPadding
{
    /// <summary>No padding: the output shrinks by dilation·(k − 1).</summary>
    Valid,
    /// <summary>Pads so the output has the input's spatial size (stride 1 only); an odd total puts the extra element after.</summary>
    Same,
}
