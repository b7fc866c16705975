using Engine.Kernels;

namespace Engine;

public static partial class Functional
{
    /// <summary>2-D max pooling of x [N, C, H, W]; stride defaults to the kernel size.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        MaxPool2dWithIndices(x, [kernel, kernel], [stride ?? kernel, stride ?? kernel], [padding, padding], [dilation, dilation], ceilMode).Output;

    /// <summary>2-D max pooling with per-dim (h, w) options (each one value or two); stride defaults to the kernel size.</summary>
    public static Tensor MaxPool2d(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false) =>
        MaxPoolNd("max_pool2d", 2, x, kernel, stride, padding, dilation, ceilMode).Output;

    /// <summary>2-D max pooling with per-dim (h, w) options, returning the flat index (h·W + w) of each maximum as PyTorch does.</summary>
    public static (Tensor Output, Tensor Indices) MaxPool2dWithIndices(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false) =>
        MaxPoolNd("max_pool2d", 2, x, kernel, stride, padding, dilation, ceilMode);

    /// <summary>3-D max pooling of x [N, C, T, H, W].</summary>
    public static Tensor MaxPool3d(Tensor x, int kernel, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        MaxPoolNd("max_pool3d", 3, x, [kernel], [stride ?? kernel], [padding], [dilation], ceilMode).Output;

    /// <summary>3-D max pooling with per-dim (t, h, w) options (each one value or three).</summary>
    public static Tensor MaxPool3d(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false) =>
        MaxPoolNd("max_pool3d", 3, x, kernel, stride, padding, dilation, ceilMode).Output;

    /// <summary>3-D max pooling with per-dim options and indices (flat t·H·W + h·W + w).</summary>
    public static (Tensor Output, Tensor Indices) MaxPool3dWithIndices(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false) =>
        MaxPoolNd("max_pool3d", 3, x, kernel, stride, padding, dilation, ceilMode);

    /// <summary>2-D average pooling; <paramref name="countIncludePad"/> divides by the padded window size, as PyTorch's default.</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPoolNd("avg_pool2d", 2, x, [kernel], [stride ?? kernel], [padding], ceilMode, countIncludePad, divisorOverride);

    /// <summary>2-D average pooling with per-dim (h, w) options.</summary>
    public static Tensor AvgPool2d(Tensor x, int[] kernel, int[]? stride, int[]? padding, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPoolNd("avg_pool2d", 2, x, kernel, stride, padding, ceilMode, countIncludePad, divisorOverride);

    /// <summary>3-D average pooling.</summary>
    public static Tensor AvgPool3d(Tensor x, int kernel, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPoolNd("avg_pool3d", 3, x, [kernel], [stride ?? kernel], [padding], ceilMode, countIncludePad, divisorOverride);

    /// <summary>3-D average pooling with per-dim (t, h, w) options.</summary>
    public static Tensor AvgPool3d(Tensor x, int[] kernel, int[]? stride, int[]? padding, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPoolNd("avg_pool3d", 3, x, kernel, stride, padding, ceilMode, countIncludePad, divisorOverride);

    /// <summary>Average pooling to an output of <paramref name="outH"/>×<paramref name="outW"/> whatever the input size (windows ⌊i·In/Out⌋ … ⌈(i+1)·In/Out⌉).</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outH, int outW) => AdaptiveNd("adaptive_avg_pool2d", 2, x, [outH, outW], max: false).Output;

    /// <summary>Max pooling to a fixed output size.</summary>
    public static Tensor AdaptiveMaxPool2d(Tensor x, int outH, int outW) => AdaptiveNd("adaptive_max_pool2d", 2, x, [outH, outW], max: true).Output;

    /// <summary>Adaptive max pooling with the flat indices of the maxima.</summary>
    public static (Tensor Output, Tensor Indices) AdaptiveMaxPool2dWithIndices(Tensor x, int outH, int outW)
    {
        var (y, i) = AdaptiveNd("adaptive_max_pool2d", 2, x, [outH, outW], max: true);
        return (y, i!);
    }

    /// <summary>Adaptive average pooling over T, H, W.</summary>
    public static Tensor AdaptiveAvgPool3d(Tensor x, int outT, int outH, int outW) => AdaptiveNd("adaptive_avg_pool3d", 3, x, [outT, outH, outW], max: false).Output;

    /// <summary>The mean over H and W, keeping them as size 1: [N, C, 1, 1].</summary>
    public static Tensor GlobalAvgPool2d(Tensor x) => AdaptiveAvgPool2d(x, 1, 1);

    /// <summary>PyTorch's pooling output size, including the ceil-mode rule that the last window must start inside the input or left padding.</summary>
    internal static int PoolOutSize(int input, int kernel, int stride, int pad, int dilation, bool ceil)
    {
        long num = (long)input + 2L * pad - (long)dilation * (kernel - 1) - 1 + (ceil ? stride - 1L : 0);
        long o = (long)Math.Floor((double)num / stride) + 1;
        if (ceil && (o - 1) * stride >= (long)input + pad) o--;
        return (int)Math.Clamp(o, int.MinValue, int.MaxValue); // callers reject o < 1; o cannot exceed the input size + 1
    }

    private static (int planes, int[] inSizes) PoolInput(string op, int spatial, Tensor x)
    {
        x.StorageOf(op);
        Checks.Float(op, x);
        if (x.Rank != spatial + 2)
            throw new ShapeException(op, $"expected a {spatial + 2}-D input ({(spatial == 2 ? "N, C, H, W" : "N, C, T, H, W")}), got shape {ShapeUtil.Format(x.ShapeSpan)}");
        var inSizes = new int[spatial];
        for (int d = 0; d < spatial; d++) inSizes[d] = ShapeUtil.ToInt(op, x.Size(2 + d), $"the input size of spatial dim {d}");
        long plane = 1;
        foreach (var n in inSizes) plane = ShapeUtil.ToInt(op, plane * n, "the input plane (spatial elements per channel)");
        return (ShapeUtil.ToInt(op, x.Size(0) * x.Size(1), "the number of planes (N × C)"), inSizes);
    }

    // The window tables cost 12 bytes per output position and dim, and the output's size is known before they are
    // built: both are checked first, so an absurd output size is a typed error rather than a failed allocation.
    private static void CheckPoolOutput(string op, Tensor x, int[] outSizes)
    {
        long plane = 1, positions = 0;
        foreach (var o in outSizes) { plane = ShapeUtil.ToInt(op, plane * o, "the output plane (spatial elements per channel)"); positions += o; }
        long bytes = ShapeUtil.CheckedBytes(op, PoolOutShape(x, outSizes), x.DType.ElementSize());
        // The tables are host memory on every device, the meta device included (where they are the only cost).
        if (12 * positions > Engine.Kernels.Cpu.HostBlockCache.PhysicalBytes / 4)
            throw new ShapeException(op, $"output size {ShapeUtil.Format(PoolOutShape(x, outSizes))} needs {12 * positions} bytes of pooling window tables, " +
                "more than a quarter of the machine's memory");
        if (x.Device.Type == DeviceType.Cpu) Engine.Kernels.Cpu.HostBlockCache.CheckFits(op, bytes);
    }

    private static long[] PoolOutShape(Tensor x, int[] outSizes)
    {
        var s = new long[outSizes.Length + 2];
        s[0] = x.Size(0); s[1] = x.Size(1);
        for (int d = 0; d < outSizes.Length; d++) s[2 + d] = outSizes[d];
        return s;
    }

    private static PoolGeometry Geometry(int planes, int[] inSizes, int[] outSizes, int[][] start, int[][] end, int[][] div, int[] dil)
    {
        int pad = 3 - inSizes.Length;
        int[] Pad3(int[] v, int neutral) => [.. Enumerable.Repeat(neutral, pad), .. v];
        int[][] PadT(int[][] v, int[] neutral) => [.. Enumerable.Repeat(neutral, pad), .. v];
        return new PoolGeometry(planes, Pad3(inSizes, 1), Pad3(outSizes, 1), PadT(start, [0]), PadT(end, [1]), PadT(div, [1]), Pad3(dil, 1));
    }

    private static (Tensor Output, Tensor Indices) MaxPoolNd(string op, int spatial, Tensor x, int[] kernel, int[]? stride, int[]? padding, int[]? dilation, bool ceilMode)
    {
        var (planes, inSizes) = PoolInput(op, spatial, x);
        kernel = Per(op, "kernel size", kernel, spatial, 1);
        stride = Per(op, "stride", stride ?? kernel, spatial, 1);
        padding = Per(op, "padding", padding ?? [0], spatial, 0);
        dilation = Per(op, "dilation", dilation ?? [1], spatial, 1);
        var outSizes = new int[spatial];
        var start = new int[spatial][]; var end = new int[spatial][]; var div = new int[spatial][];
        for (int d = 0; d < spatial; d++)
        {
            int k = kernel[d], s = stride[d], p = padding[d], dl = dilation[d], n = inSizes[d];
            if (2L * p > (long)(k - 1) * dl + 1) throw new ArgumentValueException(op, $"padding should be at most half of the effective kernel size, got padding {p} for kernel {k} and dilation {dl}");
            int o = PoolOutSize(n, k, s, p, dl, ceilMode);
            if (o < 1) throw new ShapeException(op, $"input of shape {ShapeUtil.Format(x.ShapeSpan)} is too small for kernel {ShapeUtil.Format(kernel.Select(v => (long)v).ToArray())}: output size would be {o}");
            outSizes[d] = o;
        }
        CheckPoolOutput(op, x, outSizes);
        for (int d = 0; d < spatial; d++)
        {
            int k = kernel[d], s = stride[d], p = padding[d], dl = dilation[d], n = inSizes[d], o = outSizes[d];
            start[d] = new int[o]; end[d] = new int[o]; div[d] = new int[o];
            for (int i = 0; i < o; i++)
            {
                // In long: i·s − p and the window's far end can pass the int range before being clamped to the input.
                long st0 = (long)i * s - p;
                int en = (int)Math.Min(st0 + (long)(k - 1) * dl + 1, n);
                if (st0 < 0) st0 += (-st0 + dl - 1) / dl * dl; // the first dilated tap inside the input
                int st = (int)Math.Min(st0, n);
                // A dilated window over a tiny input can skip every real position: it would have no maximum and
                // an index outside the plane (which backward would write through).
                if (st >= en) throw new ShapeException(op, $"input of shape {ShapeUtil.Format(x.ShapeSpan)} is too small for kernel {k} with padding {p} and dilation {dl} in spatial dim {d}: pooling window {i} holds no input element");
                start[d][i] = st; end[d][i] = en; div[d][i] = 1;
            }
        }
        var g = Geometry(planes, inSizes, outSizes, start, end, div, dilation);
        var (y, indices) = RunMaxPool(op, x, g, PoolOutShape(x, outSizes));
        if (OpTrace.IsActive) OpTrace.Annotate(y, ("kernel", kernel), ("stride", stride), ("padding", padding), ("dilation", dilation), ("ceil_mode", ceilMode));
        return (SpatialWindow.Attach(y, kernel, stride, padding, dilation), indices);
    }

    private static (Tensor Output, Tensor Indices) RunMaxPool(string op, Tensor x, PoolGeometry g, long[] outShape)
    {
        using var xc = x.ContiguousNoGrad();
        var y = Tensor.Empty(outShape, x.DType, x.Device, op: op);
        var idx = Tensor.Empty(outShape, DType.Int64, x.Device, op: op);
        x.Backend.MaxPoolForward(g, y.View(op), idx.View(op), xc.View(op));
        var result = Autograd.Record(y, op, [x], (gy, _) =>
        {
            using var gyc = gy.ContiguousNoGrad();
            var dx = Tensor.Empty(x.ShapeSpan, x.DType, x.Device, op: op);
            x.Backend.MaxPoolBackward(g, dx.View(op), gyc.View(op), idx.View(op));
            return [dx];
        }, saved: [idx]);
        return (result, idx);
    }

    private static Tensor AvgPoolNd(string op, int spatial, Tensor x, int[] kernel, int[]? stride, int[]? padding, bool ceilMode, bool countIncludePad, int? divisorOverride)
    {
        var (planes, inSizes) = PoolInput(op, spatial, x);
        kernel = Per(op, "kernel size", kernel, spatial, 1);
        stride = Per(op, "stride", stride ?? kernel, spatial, 1);
        padding = Per(op, "padding", padding ?? [0], spatial, 0);
        if (divisorOverride is <= 0) throw new ArgumentValueException(op, $"divisor must be positive, got {divisorOverride}");
        var outSizes = new int[spatial];
        var start = new int[spatial][]; var end = new int[spatial][]; var div = new int[spatial][];
        for (int d = 0; d < spatial; d++)
        {
            int k = kernel[d], s = stride[d], p = padding[d], n = inSizes[d];
            if (2L * p > k) throw new ArgumentValueException(op, $"padding should be at most half of the kernel size, got padding {p} for kernel {k}");
            int o = PoolOutSize(n, k, s, p, 1, ceilMode);
            if (o < 1) throw new ShapeException(op, $"input of shape {ShapeUtil.Format(x.ShapeSpan)} is too small for kernel {k}: output size would be {o}");
            outSizes[d] = o;
        }
        CheckPoolOutput(op, x, outSizes);
        for (int d = 0; d < spatial; d++)
        {
            int k = kernel[d], s = stride[d], p = padding[d], n = inSizes[d], o = outSizes[d];
            start[d] = new int[o]; end[d] = new int[o]; div[d] = new int[o];
            for (int i = 0; i < o; i++)
            {
                // In long: the padded window can reach past the int range; its clamped ends cannot.
                long st0 = (long)i * s - p, en0 = Math.Min(st0 + k, (long)n + p);
                int padded = ShapeUtil.ToInt(op, en0 - st0, "the padded pooling window");
                int st = (int)Math.Clamp(st0, 0, n), en = (int)Math.Clamp(en0, 0, n);
                start[d][i] = st; end[d][i] = en;
                div[d][i] = divisorOverride is not null ? 1 : countIncludePad ? padded : Math.Max(en - st, 1);
            }
        }
        if (divisorOverride is int dv) div[0] = div[0].Select(_ => dv).ToArray();
        var g = Geometry(planes, inSizes, outSizes, start, end, div, Enumerable.Repeat(1, spatial).ToArray());
        var y = RunAvgPool(op, x, g, PoolOutShape(x, outSizes));
        if (OpTrace.IsActive)
            OpTrace.Annotate(y, ("kernel", kernel), ("stride", stride), ("padding", padding), ("ceil_mode", ceilMode), ("count_include_pad", countIncludePad),
                ("divisor_override", (object?)divisorOverride ?? 0));
        return SpatialWindow.Attach(y, kernel, stride, padding, [.. Enumerable.Repeat(1, spatial)]);
    }

    private static Tensor RunAvgPool(string op, Tensor x, PoolGeometry g, long[] outShape)
    {
        using var xc = x.ContiguousNoGrad();
        var y = Tensor.Empty(outShape, x.DType, x.Device, op: op);
        x.Backend.AvgPoolForward(g, y.View(op), xc.View(op));
        return Autograd.Record(y, op, [x], (gy, _) =>
        {
            using var gyc = gy.ContiguousNoGrad();
            var dx = Tensor.Empty(x.ShapeSpan, x.DType, x.Device, op: op);
            x.Backend.AvgPoolBackward(g, dx.View(op), gyc.View(op));
            return [dx];
        });
    }

    private static (Tensor Output, Tensor? Indices) AdaptiveNd(string op, int spatial, Tensor x, int[] outSizes, bool max)
    {
        var (planes, inSizes) = PoolInput(op, spatial, x);
        var start = new int[spatial][]; var end = new int[spatial][]; var div = new int[spatial][];
        for (int d = 0; d < spatial; d++)
        {
            int o = outSizes[d], n = inSizes[d];
            if (o < 1) throw new ArgumentValueException(op, $"output size must be positive, got {ShapeUtil.Format(outSizes.Select(v => (long)v).ToArray())}");
            if (n < 1) throw new ShapeException(op, $"input of shape {ShapeUtil.Format(x.ShapeSpan)} has an empty spatial dim");
        }
        CheckPoolOutput(op, x, outSizes);
        for (int d = 0; d < spatial; d++)
        {
            int o = outSizes[d], n = inSizes[d];
            start[d] = new int[o]; end[d] = new int[o]; div[d] = new int[o];
            for (int i = 0; i < o; i++)
            {
                start[d][i] = (int)((long)i * n / o);
                end[d][i] = (int)(((long)(i + 1) * n + o - 1) / o);
                div[d][i] = end[d][i] - start[d][i];
            }
        }
        var g = Geometry(planes, inSizes, outSizes, start, end, div, Enumerable.Repeat(1, spatial).ToArray());
        var outShape = PoolOutShape(x, outSizes);
        var (y, indices) = max ? RunMaxPool(op, x, g, outShape) : (RunAvgPool(op, x, g, outShape), null);
        // Windows vary in length: describe them by the largest, stepping input/output on average.
        if (y.GradFn is { } node)
            node.Window = new SpatialWindow([.. Enumerable.Range(0, spatial).Select(d => end[d].Zip(start[d], (e, s) => e - s).Max())],
                [.. Enumerable.Range(0, spatial).Select(d => (double)inSizes[d] / outSizes[d])], new int[spatial], [.. Enumerable.Repeat(1, spatial)]);
        return (y, indices);
    }
}
