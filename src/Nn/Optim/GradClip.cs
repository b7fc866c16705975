using System.Globalization;

namespace Engine.Nn;

/// <summary>Gradient clipping, as PyTorch's torch.nn.utils.clip_grad_norm_ and clip_grad_value_. Parameters without a gradient are ignored.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales the gradients of <paramref name="parameters"/> in place so that their total norm (the
    /// <paramref name="normType"/>-norm of all gradients together, as if concatenated into one vector) is at
    /// most <paramref name="maxNorm"/>: every gradient is multiplied by maxNorm / (total + 1e-6) when that is
    /// below 1. <paramref name="normType"/> may be <see cref="double.PositiveInfinity"/> (the largest |g|).
    /// </summary>
    /// <returns>The total norm before clipping (0 when no parameter has a gradient).</returns>
    /// <exception cref="ArgumentValueException">maxNorm is negative or NaN, normType is not positive, or
    /// <paramref name="errorIfNonfinite"/> is set and the total norm is NaN or infinite.</exception>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        const string Op = "clip_grad_norm";
        if (!(maxNorm >= 0)) throw new ArgumentValueException(Op, $"max_norm must be >= 0, got {F(maxNorm)}");
        if (!(normType > 0)) throw new ArgumentValueException(Op, $"norm_type must be positive or infinity, got {F(normType)}");
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        bool inf = double.IsPositiveInfinity(normType);
        double total;
        using (Tensor.NoGrad())
        using (Tensor.NewDisposeScope())
        {
            // One reduction per gradient, combined in float64 on the host with a single transfer per device.
            var parts = new List<Tensor>(grads.Count);
            foreach (var g in grads)
            {
                Tensor r;
                if (g.NumEl == 0) r = Tensor.Zeros([], g.DType, g.Device);
                else if (inf) r = g.Abs().Max();
                else if (normType == 2) r = g.Square().Sum();
                else if (normType == 1) r = g.Abs().Sum();
                else r = g.Abs().Pow(normType).Sum();
                parts.Add(r.To(DType.Float64));
            }
            var values = parts.GroupBy(t => t.Device).SelectMany(d => Tensor.Stack(d.ToList()).ToDoubleArray()).ToArray();
            total = inf ? values.Max() : normType == 2 ? Math.Sqrt(values.Sum()) : normType == 1 ? values.Sum() : Math.Pow(values.Sum(), 1 / normType);
            if (values.Any(double.IsNaN)) total = double.NaN;
        }
        if (errorIfNonfinite && !double.IsFinite(total))
            throw new ArgumentValueException(Op, $"the total norm of order {F(normType)} of the gradients is non-finite ({F(total)}), so it cannot be clipped");
        double coef = maxNorm / (total + 1e-6);
        if (!(coef >= 1)) // as PyTorch: scale by min(coef, 1), NaN included
            using (Tensor.NoGrad())
                foreach (var g in grads) g.MulInPlace(coef);
        return total;
    }

    /// <summary>Clamps every gradient of <paramref name="parameters"/> in place into [−clipValue, clipValue].</summary>
    /// <exception cref="ArgumentValueException">clipValue is negative or NaN.</exception>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0)) throw new ArgumentValueException("clip_grad_value", $"clip_value must be >= 0, got {F(clipValue)}");
        using var _ = Tensor.NoGrad();
        foreach (var p in parameters)
            if (p.Grad is { } g) OptimKernels.Clamp(g, g, -clipValue, clipValue);
    }

    private static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
}
