using Engine.Kernels;

namespace Engine;

/// <summary>The outcome of a gradient check: the worst disagreement found, and where.</summary>
public sealed record GradCheckResult(bool Passed, double MaxAbsError, string Detail);

/// <summary>Raised when analytic and numerical gradients disagree.</summary>
public sealed class GradCheckException(string message) : EngineException("gradcheck", message);

/// <summary>
/// Compares autograd's gradients against central finite differences in float64, as PyTorch's gradcheck
/// does (its fast mode): the function's output is projected onto a fixed random direction r, so one backward
/// pass gives Jᵀr, and each input element is perturbed by ±eps to estimate the same vector numerically.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// Checks <paramref name="f"/> at <paramref name="inputs"/> (float64; those with RequiresGrad are checked).
    /// Passes when |analytic − numeric| ≤ atol + rtol·|numeric| for every element. Throws
    /// <see cref="GradCheckException"/> on failure unless <paramref name="raiseOnFailure"/> is false.
    /// </summary>
    public static GradCheckResult Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3,
        bool raiseOnFailure = true, ulong seed = 1234)
    {
        foreach (var t in inputs)
        {
            if (t.DType != DType.Float64)
                throw new DTypeException("gradcheck", $"inputs must be float64 for a meaningful check, got {t.DType.Name()}");
            for (int i = 0; i < t.Rank; i++)
                if (t.StrideSpan[i] == 0 && t.ShapeSpan[i] > 1)
                    throw new ShapeException("gradcheck", $"input of shape {ShapeUtil.Format(t.ShapeSpan)} has overlapping memory (stride 0); pass a tensor whose elements are distinct");
        }
        using var scope = new DisposeScope();
        Tensor r;
        Tensor[] analytic = new Tensor[inputs.Length];
        {
            foreach (var t in inputs) t.Grad = null;
            var y = f(inputs);
            Checks.Float("gradcheck", y);
            r = Tensor.Randn(y.Shape, DType.Float64, new Generator(seed), y.Device);
            if (!y.RequiresGrad) throw new AutogradException("gradcheck", "the function's output does not require grad: no input reaches it through differentiable ops");
            y.Mul(r).Sum().Backward();
            for (int i = 0; i < inputs.Length; i++)
                if (inputs[i].RequiresGrad) analytic[i] = inputs[i].Grad?.Clone() ?? Tensor.ZerosLike(inputs[i]);
        }

        double worst = 0;
        string detail = "ok";
        bool passed = true;
        using var noGrad = GradMode.Disable();
        for (int i = 0; i < inputs.Length; i++)
        {
            var x = inputs[i];
            if (!x.RequiresGrad) continue;
            var a = analytic[i].ToArray<double>();
            long n = x.NumEl;
            var shape = x.Shape;
            var idx = new long[x.Rank];
            for (long e = 0; e < n; e++)
            {
                long rem = e;
                for (int d = x.Rank - 1; d >= 0; d--) { idx[d] = rem % shape[d]; rem /= shape[d]; }
                long off = x.ElementOffset("gradcheck", idx);
                double orig = x[idx];
                SetElement(x, off, orig + eps);
                double fp = Project(f, inputs, r);
                SetElement(x, off, orig - eps);
                double fm = Project(f, inputs, r);
                SetElement(x, off, orig);
                double numeric = (fp - fm) / (2 * eps);
                double err = Math.Abs(a[e] - numeric);
                if (err > worst) worst = err;
                if (!(err <= atol + rtol * Math.Abs(numeric)))
                {
                    passed = false;
                    detail = $"input {i} element [{string.Join(", ", idx)}]: analytic {a[e]:R} vs numeric {numeric:R} (|diff| {err:G3}, allowed {atol + rtol * Math.Abs(numeric):G3})";
                    break;
                }
            }
            if (!passed) break;
        }
        foreach (var t in inputs) t.Grad = null;
        var result = new GradCheckResult(passed, worst, detail);
        if (!passed && raiseOnFailure) throw new GradCheckException($"gradient mismatch: {detail}");
        return result;
    }

    private static double Project(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor r)
    {
        using var scope = new DisposeScope();
        return f(inputs).Mul(r).Sum().Item();
    }

    private static void SetElement(Tensor x, long offset, double value)
    {
        using var one = Tensor.Scalar(value, x.DType, x.Device);
        var target = x.StorageOf("gradcheck");
        var view = new StridedView(target, offset, [], [], x.DType);
        x.Backend.Copy(view, one.View("gradcheck"));
    }
}
