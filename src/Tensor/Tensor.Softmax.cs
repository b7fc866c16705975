using Engine.Kernels;

namespace Engine;

public sealed partial class Tensor
{
    /// <summary>softmax along <paramref name="dim"/>: e^(x−max) / Σ e^(x−max).</summary>
    public Tensor Softmax(int dim) => SoftmaxAlong("softmax", dim, log: false, 1);

    /// <summary>log-softmax along <paramref name="dim"/>: x − max − log Σ e^(x−max).</summary>
    public Tensor LogSoftmax(int dim) => SoftmaxAlong("log_softmax", dim, log: true, 1);

    /// <summary>
    /// softmax (or log-softmax) of <paramref name="scale"/>·x along <paramref name="dim"/> as one fused kernel (scale = 1/T for a
    /// temperature T); the caller checks that scale is positive and finite.
    /// </summary>
    internal Tensor Softmax(string op, int dim, bool log, double scale) => SoftmaxAlong(op, dim, log, scale);

    private Tensor SoftmaxAlong(string op, int dim, bool log, double scale)
    {
        StorageOf(op);
        Checks.Float(op, this);
        if (Rank > 0) ShapeUtil.ToInt(op, _shape[NormDim(op, dim, Rank)], "the softmax dimension's size"); // the kernels loop over it in ints
        if (Rank == 0) return Unsqueeze(0).SoftmaxAlong(op, 0, log, scale).Squeeze(0);
        int d = NormDim(op, dim, Rank);
        if (d == Rank - 1) return SoftmaxLast(op, log, scale);
        return Transpose(d, -1).SoftmaxLast(op, log, scale).Transpose(d, -1);
    }

    private Tensor SoftmaxLast(string op, bool log, double scale)
    {
        using var x = ContiguousNoGrad();
        var r = Empty(_shape, DType, Device, op: op);
        Backend.Softmax(r.View(op), x.View(op), log, scale);
        var soft = Autograd.Record(r, op, [this], (g, _) =>
        {
            using var gc = g.ContiguousNoGrad();
            var dx = Empty(r._shape, r.DType, r.Device, op: op + "_backward");
            r.Backend.SoftmaxBackward(dx.View(op), gc.View(op), r.View(op), log, scale);
            return [dx];
        }, saved: [r]);
        if (OpTrace.IsActive) OpTrace.Annotate(soft, ("scale", scale));
        return soft;
    }
}
