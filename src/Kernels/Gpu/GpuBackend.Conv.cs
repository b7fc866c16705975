using Engine.Kernels.Cuda;

namespace Engine.Kernels.Gpu;

// Convolution: cuDNN on a real GPU (2-D and 3-D, stride, padding incl. asymmetric via CudnnConvPlan, dilation, groups;
// the algorithm found once per shape by cudnnFind and cached on the runtime; workspace from the caching allocator (a failed workspace allocation moves on to a workspace-free algorithm)); the CPU
// kernel on the emulator's host-mapped memory.
public sealed unsafe partial class GpuBackend
{
    /// <inheritdoc/>
    public void ConvForward(ConvGeometry g, in StridedView y, in StridedView x, in StridedView w, StridedView? bias)
    {
        if (CudaRuntimeOrNull is not { } cuda) { Cpu("conv").ConvForward(g, y, x, w, bias); return; }
        const string op = "conv";
        var dt = x.DType;
        int cdt = CudnnDescriptor.DataType(dt, op);
        var plan = CudnnConvPlan.For(g);
        ulong xa = Addr(x, op), wa = Addr(w, op), ya = Addr(y, op), ba = bias is { } bv ? Addr(bv, op) : 0;
        if (y.NumEl == 0) return;
        GpuStorage? xs = null, ys = null;
        byte* sc = stackalloc byte[16];
        Scalars(sc, dt);
        try
        {
            // cuDNN rejects zero dims: an empty input or weight (no input channels) sums nothing, so y is the bias alone.
            if (x.NumEl == 0 || w.NumEl == 0) Fill(y, 0);
            else
            {
                if (plan.PadsInput) { xs = PaddedInput(plan, g, x, dt); xa = xs.Address; }
                if (plan.CropsOutput) { ys = Scratch(Volume(plan.YDims) * dt.ElementSize()); ya = ys.Address; }
                using var xd = CudnnDescriptor.Tensor(cdt, plan.XDims);
                using var wd = CudnnDescriptor.Filter(cdt, plan.WDims);
                using var yd = CudnnDescriptor.Tensor(cdt, plan.YDims);
                int math = ConvMath(dt);
                using var cd = CudnnDescriptor.Convolution(plan.Pad, plan.Stride, plan.Dilation, cdt, plan.Groups, math);
                using (var lib = cuda.EnterCudnn())
                {
                    nint h = lib.Handle;
                    CheckOutputDims(cd.Handle, xd.Handle, wd.Handle, plan.YDims, op);
                    var algos = cuda.ConvAlgorithms(Key("fwd", dt, math, plan), () =>
                    {
                        var r = stackalloc Cudnn.AlgoPerf[Cudnn.FwdAlgoCount];
                        Cudnn.Check(Cudnn.cudnnFindConvolutionForwardAlgorithm(h, xd.Handle, wd.Handle, cd.Handle, yd.Handle, Cudnn.FwdAlgoCount, out int n, r),
                            nameof(Cudnn.cudnnFindConvolutionForwardAlgorithm), Shapes(plan));
                        return Usable(r, n, op);
                    });
                    RunConvAlgorithm(op, algos, cd.Handle, math == Cudnn.CUDNN_FMA_MATH,
                        algo => { Cudnn.Check(Cudnn.cudnnGetConvolutionForwardWorkspaceSize(h, xd.Handle, wd.Handle, cd.Handle, yd.Handle, algo, out var b), nameof(Cudnn.cudnnGetConvolutionForwardWorkspaceSize)); return b; },
                        (algo, ws, bytes) => Cudnn.cudnnConvolutionForward(h, sc, xd.Handle, xa, wd.Handle, wa, cd.Handle, algo, ws, bytes, sc + 8, yd.Handle, ya),
                        nameof(Cudnn.cudnnConvolutionForward));
                }
                if (plan.CropsOutput) Copy(Full(y, g.Batch, g.OutChannels, g.OutSizes), Box(ys!, plan, plan.YDims, g.Batch, g.OutChannels, g.OutSizes, dt));
            }
            if (bias is not null)
            {
                using var bd = CudnnDescriptor.Tensor(cdt, ChannelDims(plan, g.OutChannels));
                using var od = CudnnDescriptor.Tensor(cdt, OutDims(plan, g));
                using var lib = cuda.EnterCudnn();
                Cudnn.Check(Cudnn.cudnnAddTensor(lib.Handle, sc, bd.Handle, ba, sc, od.Handle, Addr(y, op)), nameof(Cudnn.cudnnAddTensor), "conv bias");
                CountLibraryCall();
            }
        }
        finally { xs?.Release(); ys?.Release(); }
    }

    /// <inheritdoc/>
    public void ConvBackwardData(ConvGeometry g, in StridedView dx, in StridedView dy, in StridedView w)
    {
        if (CudaRuntimeOrNull is not { } cuda) { Cpu("conv_backward").ConvBackwardData(g, dx, dy, w); return; }
        const string op = "conv_backward";
        var dt = dy.DType;
        int cdt = CudnnDescriptor.DataType(dt, op);
        var plan = CudnnConvPlan.For(g);
        ulong dxa = Addr(dx, op), dya = Addr(dy, op), wa = Addr(w, op);
        if (dx.NumEl == 0) return;
        if (dy.NumEl == 0 || w.NumEl == 0) { Fill(dx, 0); return; }   // cuDNN rejects zero dims; nothing flows back
        GpuStorage? dxs = null, dys = null;
        try
        {
            // Extra trailing outputs (asymmetric padding) get a zero gradient; an extended input gets its gradient cropped.
            if (plan.CropsOutput) { dys = ExtendedOutputGrad(plan, g, dy, dt); dya = dys.Address; }
            if (plan.PadsInput) { dxs = Scratch(Volume(plan.XDims) * dt.ElementSize()); dxa = dxs.Address; }
            using var dxd = CudnnDescriptor.Tensor(cdt, plan.XDims);
            using var wd = CudnnDescriptor.Filter(cdt, plan.WDims);
            using var dyd = CudnnDescriptor.Tensor(cdt, plan.YDims);
            int math = ConvMath(dt);
            using var cd = CudnnDescriptor.Convolution(plan.Pad, plan.Stride, plan.Dilation, cdt, plan.Groups, math);
            byte* sc = stackalloc byte[16];
            Scalars(sc, dt);
            using (var lib = cuda.EnterCudnn())
            {
                nint h = lib.Handle;
                var algos = cuda.ConvAlgorithms(Key("bwd_data", dt, math, plan), () =>
                {
                    var r = stackalloc Cudnn.AlgoPerf[Cudnn.BwdDataAlgoCount];
                    Cudnn.Check(Cudnn.cudnnFindConvolutionBackwardDataAlgorithm(h, wd.Handle, dyd.Handle, cd.Handle, dxd.Handle, Cudnn.BwdDataAlgoCount, out int n, r),
                        nameof(Cudnn.cudnnFindConvolutionBackwardDataAlgorithm), Shapes(plan));
                    return Usable(r, n, op);
                });
                RunConvAlgorithm(op, algos, cd.Handle, math == Cudnn.CUDNN_FMA_MATH,
                    algo => { Cudnn.Check(Cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(h, wd.Handle, dyd.Handle, cd.Handle, dxd.Handle, algo, out var b), nameof(Cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize)); return b; },
                    (algo, ws, bytes) => Cudnn.cudnnConvolutionBackwardData(h, sc, wd.Handle, wa, dyd.Handle, dya, cd.Handle, algo, ws, bytes, sc + 8, dxd.Handle, dxa),
                    nameof(Cudnn.cudnnConvolutionBackwardData));
            }
            if (plan.PadsInput) Copy(Full(dx, g.Batch, g.InChannels, g.In), Box(dxs!, plan, plan.XDims, g.Batch, g.InChannels, g.In, dt));
        }
        finally { dxs?.Release(); dys?.Release(); }
    }

    /// <inheritdoc/>
    public void ConvBackwardWeight(ConvGeometry g, in StridedView dw, StridedView? db, in StridedView dy, in StridedView x)
    {
        if (CudaRuntimeOrNull is not { } cuda) { Cpu("conv_backward").ConvBackwardWeight(g, dw, db, dy, x); return; }
        const string op = "conv_backward";
        var dt = dy.DType;
        int cdt = CudnnDescriptor.DataType(dt, op);
        var plan = CudnnConvPlan.For(g);
        ulong dwa = Addr(dw, op), dya = Addr(dy, op), xa = Addr(x, op), dba = db is { } dbv ? Addr(dbv, op) : 0;
        ulong dyOriginal = dya;
        // cuDNN rejects zero dims: with no output gradient both gradients are 0; with an empty x (or dw) dw is 0 and db is
        // still Σdy.
        if (dy.NumEl == 0 || x.NumEl == 0 || dw.NumEl == 0)
        {
            if (dw.NumEl > 0) Fill(dw, 0);
            if (db is { } dbz && dbz.NumEl > 0)
            {
                if (dy.NumEl == 0) Fill(dbz, 0);
                else ConvBiasGrad(cuda, g, plan, dt, cdt, dyOriginal, dba);
            }
            return;
        }
        GpuStorage? xs = null, dys = null;
        try
        {
            if (plan.PadsInput) { xs = PaddedInput(plan, g, x, dt); xa = xs.Address; }
            if (plan.CropsOutput) { dys = ExtendedOutputGrad(plan, g, dy, dt); dya = dys.Address; }
            using var xd = CudnnDescriptor.Tensor(cdt, plan.XDims);
            using var dwd = CudnnDescriptor.Filter(cdt, plan.WDims);
            using var dyd = CudnnDescriptor.Tensor(cdt, plan.YDims);
            int math = ConvMath(dt);
            using var cd = CudnnDescriptor.Convolution(plan.Pad, plan.Stride, plan.Dilation, cdt, plan.Groups, math);
            byte* sc = stackalloc byte[16];
            Scalars(sc, dt);
            using (var lib = cuda.EnterCudnn())
            {
                nint h = lib.Handle;
                var algos = cuda.ConvAlgorithms(Key("bwd_filter", dt, math, plan), () =>
                {
                    var r = stackalloc Cudnn.AlgoPerf[Cudnn.BwdFilterAlgoCount];
                    Cudnn.Check(Cudnn.cudnnFindConvolutionBackwardFilterAlgorithm(h, xd.Handle, dyd.Handle, cd.Handle, dwd.Handle, Cudnn.BwdFilterAlgoCount, out int n, r),
                        nameof(Cudnn.cudnnFindConvolutionBackwardFilterAlgorithm), Shapes(plan));
                    return Usable(r, n, op);
                });
                RunConvAlgorithm(op, algos, cd.Handle, math == Cudnn.CUDNN_FMA_MATH,
                    algo => { Cudnn.Check(Cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(h, xd.Handle, dyd.Handle, cd.Handle, dwd.Handle, algo, out var b), nameof(Cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize)); return b; },
                    (algo, ws, bytes) => Cudnn.cudnnConvolutionBackwardFilter(h, sc, xd.Handle, xa, dyd.Handle, dya, cd.Handle, algo, ws, bytes, sc + 8, dwd.Handle, dwa),
                    nameof(Cudnn.cudnnConvolutionBackwardFilter));
            }
            if (db is not null) ConvBiasGrad(cuda, g, plan, dt, cdt, dyOriginal, dba);
        }
        finally { xs?.Release(); dys?.Release(); }
    }

    // x in a zeroed temporary of the plan's input dims: asymmetric padding made symmetric by the extra zero rows.
    private GpuStorage PaddedInput(CudnnConvPlan plan, ConvGeometry g, in StridedView x, DType dt)
    {
        var xs = ZeroScratch(Volume(plan.XDims), dt);
        Copy(Box(xs, plan, plan.XDims, g.Batch, g.InChannels, g.In, dt), Full(x, g.Batch, g.InChannels, g.In));
        return xs;
    }

    // dy in a zeroed temporary of the plan's output dims: the extra trailing outputs of an extended input get no gradient.
    private GpuStorage ExtendedOutputGrad(CudnnConvPlan plan, ConvGeometry g, in StridedView dy, DType dt)
    {
        var dys = ZeroScratch(Volume(plan.YDims), dt);
        Copy(Box(dys, plan, plan.YDims, g.Batch, g.OutChannels, g.OutSizes, dt), Full(dy, g.Batch, g.OutChannels, g.OutSizes));
        return dys;
    }

    // db = Σ dy over batch and space (cudnnConvolutionBackwardBias over the geometry's output dims, which are not empty).
    private void ConvBiasGrad(CudaRuntime cuda, ConvGeometry g, CudnnConvPlan plan, DType dt, int cdt, ulong dy, ulong db)
    {
        byte* sc = stackalloc byte[16];
        Scalars(sc, dt);
        using var od = CudnnDescriptor.Tensor(cdt, OutDims(plan, g));
        using var bd = CudnnDescriptor.Tensor(cdt, ChannelDims(plan, g.OutChannels));
        using var lib = cuda.EnterCudnn();
        Cudnn.Check(Cudnn.cudnnConvolutionBackwardBias(lib.Handle, sc, od.Handle, dy, sc + 8, bd.Handle, db), nameof(Cudnn.cudnnConvolutionBackwardBias));
        CountLibraryCall();
    }

    // cuDNN's own output size must be the plan's (a mismatch would mean a wrong descriptor, not bad input).
    private static void CheckOutputDims(nint conv, nint x, nint w, int[] expected, string op)
    {
        int* dims = stackalloc int[expected.Length];
        Cudnn.Check(Cudnn.cudnnGetConvolutionNdForwardOutputDim(conv, x, w, expected.Length, dims), nameof(Cudnn.cudnnGetConvolutionNdForwardOutputDim));
        for (int i = 0; i < expected.Length; i++)
            if (dims[i] != expected[i])
                throw new DeviceException(op, $"cuDNN computes output dims [{string.Join(", ", new Span<int>(dims, expected.Length).ToArray())}], expected [{string.Join(", ", expected)}]");
    }

    private static string Key(string direction, DType dt, int math, CudnnConvPlan p) =>
        $"{direction}|{dt}|{math}|{string.Join(",", p.XDims)}|{string.Join(",", p.WDims)}|{string.Join(",", p.Pad)}|{string.Join(",", p.Stride)}|{string.Join(",", p.Dilation)}|{p.Groups}";

    private static string Shapes(CudnnConvPlan p) =>
        $"x [{string.Join(", ", p.XDims)}], w [{string.Join(", ", p.WDims)}], y [{string.Join(", ", p.YDims)}], pad [{string.Join(", ", p.Pad)}], stride [{string.Join(", ", p.Stride)}], dilation [{string.Join(", ", p.Dilation)}], groups {p.Groups}";

    private static long Volume(int[] dims)
    {
        long v = 1;
        foreach (var d in dims) v *= d;
        return v;
    }

    // [1, C, 1, 1(, 1)]: a per-channel tensor (bias, batch-norm parameters) in the plan's rank.
    private static int[] ChannelDims(CudnnConvPlan p, int c)
    {
        var d = Enumerable.Repeat(1, p.Spatial + 2).ToArray();
        d[1] = c;
        return d;
    }

    // [N, O, out...] of the geometry (not the plan's possibly larger output) in the plan's rank.
    private static int[] OutDims(CudnnConvPlan p, ConvGeometry g)
    {
        var d = new int[p.Spatial + 2];
        d[0] = g.Batch; d[1] = g.OutChannels;
        for (int i = 0; i < p.Spatial; i++) d[2 + i] = g.Out(p.FirstDim + i);
        return d;
    }

    // A contiguous [N, C, D, H, W] tensor seen as 5-D (conv2d tensors are 4-D: depth 1 is inserted).
    private static StridedView Full(in StridedView v, int n, int c, int[] sizes3)
    {
        long[] shape = [n, c, sizes3[0], sizes3[1], sizes3[2]];
        return v.With(shape, ShapeUtil.ContiguousStrides(shape));
    }

    // The leading [N, C, sizes3] box of a temporary laid out contiguously as the plan's dims (extended spatial sizes).
    private static StridedView Box(GpuStorage s, CudnnConvPlan p, int[] planDims, int n, int c, int[] sizes3, DType dt)
    {
        long[] full = new long[5];
        full[0] = n; full[1] = c;
        for (int d = 0; d < 3; d++) full[2 + d] = d < p.FirstDim ? 1 : planDims[2 + d - p.FirstDim];
        return new StridedView(s, 0, [n, c, sizes3[0], sizes3[1], sizes3[2]], ShapeUtil.ContiguousStrides(full), dt);
    }
}
