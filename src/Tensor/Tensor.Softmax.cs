namespace Engine;

public sealed partial class Tensor
{
    /// <summary>softmax along <paramref name="dim"/>: e^(x−max) / Σ e^(x−max).</summary>
    public Tensor Softmax(int dim) => SoftmaxAlong("softmax", dim, log: false);

    /// <summary>log-softmax along <paramref name="dim"/>: x − max − log Σ e^(x−max).</summary>
    public Tensor LogSoftmax(int dim) => SoftmaxAlong("log_softmax", dim, log: true);

    private Tensor SoftmaxAlong(string op, int dim, bool log)
    {
        StorageOf(op);
        Checks.Float(op, this);
        if (Rank == 0) return Unsqueeze(0).SoftmaxAlong(op, 0, log).Squeeze(0);
        int d = NormDim(op, dim, Rank);
        if (d == Rank - 1) return SoftmaxLast(op, log);
        return Transpose(d, -1).SoftmaxLast(op, log).Transpose(d, -1);
    }

    private Tensor SoftmaxLast(string op, bool log)
    {
        using var x = ContiguousNoGrad();
        var r = Empty(_shape, DType, Device, op: op);
        Backend.Softmax(r.View(op), x.View(op), log);
        return Autograd.Record(r, op, [this], (g, _) =>
        {
            using var gc = g.ContiguousNoGrad();
            var dx = Empty(r._shape, r.DType, r.Device, op: op + "_backward");
            r.Backend.SoftmaxBackward(dx.View(op), gc.View(op), r.View(op), log);
            return [dx];
        });
    }
}
