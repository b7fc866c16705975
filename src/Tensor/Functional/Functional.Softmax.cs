namespace Engine;

public static partial class Functional
{
    private static void CheckTemperature(string op, double t)
    {
        if (!(t > 0) || double.IsInfinity(t)) throw new ArgumentValueException(op, $"temperature must be positive and finite, got {t}");
        if (double.IsInfinity(1 / t)) throw new ArgumentValueException(op, $"temperature {t} is too small: 1/T overflows");
    }

    /// <summary>softmax(x / T) along <paramref name="dim"/>, as knowledge distillation uses it; one fused kernel (no x / T tensor).</summary>
    /// <exception cref="ArgumentValueException">T is not positive and finite.</exception>
    public static Tensor Softmax(Tensor x, double temperature, int dim = -1)
    {
        CheckTemperature("softmax", temperature);
        return x.Softmax("softmax", dim, log: false, 1 / temperature);
    }

    /// <summary>log_softmax(x / T) along <paramref name="dim"/>; one fused kernel (no x / T tensor).</summary>
    /// <exception cref="ArgumentValueException">T is not positive and finite.</exception>
    public static Tensor LogSoftmax(Tensor x, double temperature, int dim = -1)
    {
        CheckTemperature("log_softmax", temperature);
        return x.Softmax("log_softmax", dim, log: true, 1 / temperature);
    }
}
