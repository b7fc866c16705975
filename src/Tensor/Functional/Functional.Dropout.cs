namespace Engine;

public static partial class Functional
{
    private static void CheckP(string op, double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentValueException(op, $"probability must be in [0, 1], got {p}");
    }

    // x · mask / (1 − p), mask ~ Bernoulli(1 − p) of maskShape (broadcast over x).
    private static Tensor DropWithMask(string op, Tensor x, long[] maskShape, double p, Generator? generator)
    {
        Checks.Float(op, x);
        if (p == 1) return x.Mul(0.0);
        using var keep = Tensor.Bernoulli(maskShape, 1 - p, x.DType, generator, x.Device);
        var scaled = keep.Mul(1.0 / (1 - p)); // not disposed here: mul's backward reads it
        return x.Mul(scaled);
    }

    /// <summary>Zeroes each element with probability <paramref name="p"/> and scales the rest by 1/(1−p) when training; identity otherwise.</summary>
    public static Tensor Dropout(Tensor x, double p = 0.5, bool training = true, Generator? generator = null)
    {
        CheckP("dropout", p);
        if (!training || p == 0) return x;
        return DropWithMask("dropout", x, x.Shape, p, generator);
    }

    /// <summary>Zeroes whole channels of x [N, C, ...] with probability <paramref name="p"/> when training.</summary>
    public static Tensor Dropout2d(Tensor x, double p = 0.5, bool training = true, Generator? generator = null)
    {
        CheckP("dropout2d", p);
        if (x.Rank < 3) throw new ShapeException("dropout2d", $"expected an input of at least 3 dims (N, C, ...), got shape {Kernels.ShapeUtil.Format(x.ShapeSpan)}");
        if (!training || p == 0) return x;
        var mask = new long[x.Rank];
        Array.Fill(mask, 1);
        mask[0] = x.Size(0); mask[1] = x.Size(1);
        return DropWithMask("dropout2d", x, mask, p, generator);
    }

    /// <summary>
    /// Stochastic depth (torchvision's stochastic_depth): drops a whole residual branch with probability
    /// <paramref name="p"/>, per sample ("row" mode) or for the whole batch ("batch" mode), scaling survivors by 1/(1−p).
    /// </summary>
    public static Tensor StochasticDepth(Tensor x, double p, bool training = true, bool perSample = true, Generator? generator = null)
    {
        CheckP("stochastic_depth", p);
        if (!training || p == 0) return x;
        var mask = new long[x.Rank];
        Array.Fill(mask, 1);
        if (perSample && x.Rank > 0) mask[0] = x.Size(0);
        return DropWithMask("stochastic_depth", x, mask, p, generator);
    }
}
