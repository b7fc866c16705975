using Engine.Kernels;
using Engine.Kernels.Fused;

namespace Engine;

public static partial class Functional
{
    /// <summary>
    /// Deformable 2-D convolution (torchvision.ops.deform_conv2d; DCNv1, Dai et al. 2017, and with <paramref name="mask"/>
    /// the modulated DCNv2, Zhu et al. 2019) of input [N, C, H, W] with weight [O, C/groups, kH, kW], bias [O] or null,
    /// offset [N, 2·offsetGroups·kH·kW, Ho, Wo] of (dy, dx) pairs and mask [N, offsetGroups·kH·kW, Ho, Wo] or null.
    /// The weight groups are C / weight.Size(1), the offset groups offset.Size(1) / (2·kH·kW); every kernel tap samples the
    /// input bilinearly at its displaced position, reading zeros outside the image. Scalar stride, padding and dilation
    /// apply to both spatial dims. Differentiable in input, offset, mask, weight and bias.
    /// </summary>
    public static Tensor DeformConv2d(Tensor input, Tensor offset, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0,
        int dilation = 1, Tensor? mask = null) =>
        DeformConv2d(input, offset, weight, bias, [stride, stride], [padding, padding], [dilation, dilation], mask);

    /// <summary>Deformable 2-D convolution with stride, padding and dilation given as (h, w) (see the scalar overload).</summary>
    public static Tensor DeformConv2d(Tensor input, Tensor offset, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation,
        Tensor? mask = null)
    {
        const string op = "deform_conv2d";
        CheckFloatOperands(op, input, offset, weight, bias, mask);
        if (weight.Rank != 4)
            throw new ShapeException(op, $"expected a 4-D weight (O, C/groups, kH, kW), got shape {ShapeUtil.Format(weight.ShapeSpan)}");
        long c = input.Rank == 4 ? input.Size(1) : 0, o = weight.Size(0), cg = weight.Size(1);
        if (input.Rank == 4 && (cg < 1 || c % cg != 0))
            throw new ShapeException(op, $"input of shape {ShapeUtil.Format(input.ShapeSpan)} has {c} channels, not a multiple of the weight's {cg} input channels per group (weight {ShapeUtil.Format(weight.ShapeSpan)})");
        long groups = cg < 1 ? 1 : c / cg;
        if (input.Rank == 4 && o % groups != 0)
            throw new ShapeException(op, $"the weight {ShapeUtil.Format(weight.ShapeSpan)} has {o} output channels, not a multiple of the {groups} weight groups (input {ShapeUtil.Format(input.ShapeSpan)})");
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != o))
            throw new ShapeException(op, $"bias must have shape [{o}], got {ShapeUtil.Format(bias.ShapeSpan)}");
        var g = DeformGeometryOf(op, input, offset, mask, (int)weight.Size(2), (int)weight.Size(3), stride, padding, dilation);

        // columns [C·kH·kW, N·Ho·Wo] → per weight group a GEMM [O/G, C/G·kH·kW] × [C/G·kH·kW, N·Ho·Wo] → [N, O, Ho, Wo]
        long kk = (long)g.KH * g.KW, cols = (long)g.N * g.OutH * g.OutW;
        var columns = DeformIm2Col(input, offset, mask, g);
        var y = weight.Reshape(groups, o / groups, cg * kk).MatMul(columns.View(groups, cg * kk, cols))
            .View(o, g.N, g.OutH, g.OutW).Permute(1, 0, 2, 3);
        return bias is null ? y.Contiguous() : y.Add(bias.View(1, o, 1, 1));
    }

    /// <summary>
    /// Deformable im2col (the first half of <see cref="DeformConv2d(Tensor, Tensor, Tensor, Tensor?, int[], int[], int[], Tensor?)"/>):
    /// columns [C·kH·kW, N·Ho·Wo], row (c·kH + i)·kW + j and column (n·Ho + y)·Wo + x holding mask · the input of image n,
    /// channel c sampled bilinearly at (y·strideH − padH + i·dilationH + dy, x·strideW − padW + j·dilationW + dx), zero
    /// outside the image. Differentiable in input, offset and mask.
    /// </summary>
    public static Tensor DeformIm2Col(Tensor input, Tensor offset, Tensor? mask, int kernelH, int kernelW, int[] stride, int[] padding, int[] dilation)
    {
        const string op = "deform_im2col";
        CheckFloatOperands(op, input, offset, mask);
        return DeformIm2Col(input, offset, mask, DeformGeometryOf(op, input, offset, mask, kernelH, kernelW, stride, padding, dilation));
    }

    private static Tensor DeformIm2Col(Tensor input, Tensor offset, Tensor? mask, DeformGeometry g)
    {
        const string op = "deform_conv2d";
        using var xc = input.ContiguousNoGrad();
        using var oc = offset.ContiguousNoGrad();
        using var mc = mask?.ContiguousNoGrad();
        var columns = Tensor.Empty([(long)g.C * g.KH * g.KW, (long)g.N * g.OutH * g.OutW], input.DType, input.Device, op: op);
        FusedOps.DeformIm2Col.Run(input.Backend, new(columns.View(op), xc.View(op), oc.View(op), mc?.View(op), g));
        return Autograd.Record(columns, op, [input, offset, mask], (gc, need) =>
        {
            using var gcc = gc.ContiguousNoGrad();
            using var xb = input.ContiguousNoGrad();
            using var ob = offset.ContiguousNoGrad();
            using var mb = mask?.ContiguousNoGrad();
            Tensor? dx = null, doff = null, dmask = null;
            if (need[0])
            {
                dx = Tensor.Empty(input.ShapeSpan, input.DType, input.Device, zero: true, op: op);
                FusedOps.DeformCol2Im.Run(input.Backend, new(dx.View(op), gcc.View(op), ob.View(op), mb?.View(op), g));
            }
            if (need[1] || need[2])
            {
                // one pass gives both; the offset gradient is computed (and dropped) even when only the mask needs one
                doff = Tensor.Empty(offset.ShapeSpan, offset.DType, offset.Device, op: op);
                if (need[2]) dmask = Tensor.Empty(mask!.ShapeSpan, mask.DType, mask.Device, op: op);
                FusedOps.DeformCol2ImCoord.Run(input.Backend, new(doff.View(op), dmask?.View(op), gcc.View(op), xb.View(op), ob.View(op), mb?.View(op), g));
                if (!need[1]) { doff.Dispose(); doff = null; }
            }
            return [dx, doff, dmask];
        });
    }

    // Validates input [N, C, H, W], offset [N, 2·OG·kH·kW, Ho, Wo] and mask [N, OG·kH·kW, Ho, Wo] and the options (all
    // before any kernel runs) and returns the geometry.
    private static DeformGeometry DeformGeometryOf(string op, Tensor input, Tensor offset, Tensor? mask, int kh, int kw, int[] stride, int[] padding,
        int[] dilation)
    {
        if (input.Rank != 4)
            throw new ShapeException(op, $"expected a 4-D input (N, C, H, W), got shape {ShapeUtil.Format(input.ShapeSpan)}");
        if (offset.Rank != 4)
            throw new ShapeException(op, $"expected a 4-D offset (N, 2·offset_groups·kH·kW, Ho, Wo), got shape {ShapeUtil.Format(offset.ShapeSpan)}");
        if (mask is not null && mask.Rank != 4)
            throw new ShapeException(op, $"expected a 4-D mask (N, offset_groups·kH·kW, Ho, Wo), got shape {ShapeUtil.Format(mask.ShapeSpan)}");
        if (kh < 1 || kw < 1) throw new ShapeException(op, $"kernel size must be positive, got ({kh}, {kw})");
        stride = Per(op, "stride", stride, 2, 1);
        padding = Per(op, "padding", padding, 2, 0);
        dilation = Per(op, "dilation", dilation, 2, 1);
        long n = input.Size(0), c = input.Size(1), h = input.Size(2), w = input.Size(3);
        long oh = (h + 2 * padding[0] - ((long)dilation[0] * (kh - 1) + 1)) / stride[0] + 1;
        long ow = (w + 2 * padding[1] - ((long)dilation[1] * (kw - 1) + 1)) / stride[1] + 1;
        if (h + 2 * padding[0] < (long)dilation[0] * (kh - 1) + 1 || w + 2 * padding[1] < (long)dilation[1] * (kw - 1) + 1)
            throw new ShapeException(op, $"kernel ({kh}, {kw}) with dilation ({dilation[0]}, {dilation[1]}) is larger than the padded input (input {ShapeUtil.Format(input.ShapeSpan)}, padding ({padding[0]}, {padding[1]}))");
        long kk = (long)kh * kw;
        string expected = $"[{n}, 2·offset_groups·{kh}·{kw}, {oh}, {ow}]";
        if (offset.Size(0) != n || offset.Size(2) != oh || offset.Size(3) != ow || offset.Size(1) == 0 || offset.Size(1) % (2 * kk) != 0)
            throw new ShapeException(op, $"offset must have shape {expected} for input {ShapeUtil.Format(input.ShapeSpan)} and a ({kh}, {kw}) kernel, got {ShapeUtil.Format(offset.ShapeSpan)}");
        long og = offset.Size(1) / (2 * kk);
        if (c % og != 0)
            throw new ShapeException(op, $"the input's {c} channels (input {ShapeUtil.Format(input.ShapeSpan)}) are not divisible by the {og} offset groups of offset {ShapeUtil.Format(offset.ShapeSpan)}");
        if (mask is not null && (mask.Size(0) != n || mask.Size(1) != og * kk || mask.Size(2) != oh || mask.Size(3) != ow))
            throw new ShapeException(op, $"mask must have shape [{n}, {og * kk}, {oh}, {ow}] (offset groups {og} of offset {ShapeUtil.Format(offset.ShapeSpan)} times {kh}·{kw} taps), got {ShapeUtil.Format(mask.ShapeSpan)}");
        if (c * kk * n * oh * ow > int.MaxValue)
            throw new ShapeException(op, $"the column buffer [{c * kk}, {n * oh * ow}] of input {ShapeUtil.Format(input.ShapeSpan)} exceeds 2³¹ elements; use a smaller batch");
        return new DeformGeometry((int)n, (int)c, (int)h, (int)w, kh, kw, (int)oh, (int)ow, stride[0], stride[1], padding[0], padding[1],
            dilation[0], dilation[1], (int)og, mask is not null);
    }
}
