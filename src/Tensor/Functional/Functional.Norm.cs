using Engine.Kernels;

namespace Engine;

public static partial class Functional
{
    /// <summary>
    /// Batch normalisation over the channel dim 1 of x [N, C] or [N, C, ...]. Training: batch statistics
    /// (biased variance) normalise, and the running stats, when given, are updated in place with
    /// <paramref name="momentum"/> using the unbiased variance, as PyTorch. Eval: the running stats normalise.
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        const string op = "batch_norm";
        CheckFloatOperands(op, x, runningMean, runningVar, weight, bias);
        if (x.Rank < 2) throw new ShapeException(op, $"expected an input of at least 2 dims (N, C, ...), got shape {ShapeUtil.Format(x.ShapeSpan)}");
        var (n, c, s) = NormDims(op, x);
        foreach (var (t, name) in new[] { (runningMean, "running_mean"), (runningVar, "running_var"), (weight, "weight"), (bias, "bias") })
            if (t is not null && (t.Rank != 1 || t.Size(0) != c))
                throw new ShapeException(op, $"{name} must have shape [{c}] for input {ShapeUtil.Format(x.ShapeSpan)}, got {ShapeUtil.Format(t.ShapeSpan)}");
        if ((runningMean is null) != (runningVar is null)) throw new ArgumentValueException(op, "running_mean and running_var must be given together");
        if (!training && runningMean is null) throw new ArgumentValueException(op, "eval mode needs running_mean and running_var");
        if (training && (long)n * s <= 1)
            throw new ShapeException(op, $"expected more than 1 value per channel when training, got input of shape {ShapeUtil.Format(x.ShapeSpan)}");
        if (!(eps >= 0)) throw new ArgumentValueException(op, $"eps must be non-negative, got {eps}");
        foreach (var t in new[] { runningMean, runningVar })
            if (t is not null && !t.IsContiguous) throw new ArgumentValueException(op, "running statistics must be contiguous (they are updated in place)");

        using var xc = x.ContiguousNoGrad();
        using var wc = weight?.ContiguousNoGrad();
        using var bc = bias?.ContiguousNoGrad();
        var y = Tensor.Empty(x.ShapeSpan, x.DType, x.Device, op: op);
        var mean = Tensor.Empty([c], x.DType, x.Device, op: op);
        var invStd = Tensor.Empty([c], x.DType, x.Device, op: op);
        var p = new BatchNormParams(n, c, s, training, momentum, eps);
        x.Backend.BatchNormForward(p, y.View(op), xc.View(op), new(wc?.View(op), bc?.View(op), 
            training ? runningMean?.WriteView(op) : runningMean?.View(op), training ? runningVar?.WriteView(op) : runningVar?.View(op)),
            new(mean.View(op), invStd.View(op)));
        var result = Autograd.Record(y, op, [x, weight, bias], (gy, need) =>
        {
            using var gyc = gy.ContiguousNoGrad();
            using var xb = x.ContiguousNoGrad();
            using var wb = weight?.ContiguousNoGrad();
            var dx = need[0] ? Tensor.Empty(x.ShapeSpan, x.DType, x.Device, op: op) : null;
            var dw = need[1] ? Tensor.Empty([c], x.DType, x.Device, op: op) : null;
            var db = need[2] ? Tensor.Empty([c], x.DType, x.Device, op: op) : null;
            x.Backend.BatchNormBackward(p, new(dx?.View(op), dw?.View(op), db?.View(op)), gyc.View(op), xb.View(op), wb?.View(op),
                new(mean.View(op), invStd.View(op)));
            return [dx, dw, db];
        }, saved: [x, weight]);
        if (OpTrace.IsActive)
        {
            OpTrace.Annotate(result, ("training", training), ("eps", eps), ("momentum", momentum));
            if (runningMean is not null) OpTrace.Annotate(result, ("running_mean", runningMean), ("running_var", runningVar!));
        }
        return result;
    }

    // Batch, channels and the elements per (sample, channel), as the 32-bit ints the kernels loop with.
    private static (int N, int C, int S) NormDims(string op, Tensor x) =>
        (ShapeUtil.ToInt(op, x.Size(0), "the batch size"), ShapeUtil.ToInt(op, x.Size(1), "the channel count"),
         ShapeUtil.ToInt(op, x.NumEl / Math.Max(1L, x.Size(0) * x.Size(1)), "the elements per sample and channel"));

    /// <summary>
    /// Local response normalisation across channels (AlexNet): y = x / (k + α/n · Σ x²)^β, the sum over the
    /// <paramref name="size"/> neighbouring channels [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋], zero-padded at the edges (PyTorch's conventions).
    /// </summary>
    public static Tensor LocalResponseNorm(Tensor x, int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0)
    {
        const string op = "local_response_norm";
        CheckFloatOperands(op, x);
        if (x.Rank < 3) throw new ShapeException(op, $"expected an input of at least 3 dims (N, C, ...), got shape {ShapeUtil.Format(x.ShapeSpan)}");
        if (size < 1) throw new ArgumentValueException(op, $"size must be at least 1, got {size}");
        var (n, c, s) = NormDims(op, x);
        using var xc = x.ContiguousNoGrad();
        var y = Tensor.Empty(x.ShapeSpan, x.DType, x.Device, op: op);
        var p = new LrnParams(n, c, s, size, alpha, beta, k);
        x.Backend.LrnForward(p, y.View(op), xc.View(op));
        var result = Autograd.Record(y, op, [x], (gy, _) =>
        {
            using var gyc = gy.ContiguousNoGrad();
            using var xb = x.ContiguousNoGrad();
            var dx = Tensor.Empty(x.ShapeSpan, x.DType, x.Device, op: op);
            x.Backend.LrnBackward(p, dx.View(op), gyc.View(op), xb.View(op), y.View(op));
            return [dx];
        }, saved: [x, y]);
        if (OpTrace.IsActive) OpTrace.Annotate(result, ("size", size), ("alpha", alpha), ("beta", beta), ("k", k));
        return result;
    }
}
