namespace Engine;

public static partial class Functional
{
    private static void CheckTemperature(string op, double t)
    {
        if (!(t > 0) || double.IsInfinity(t)) throw new ArgumentValueException(op, $"temperature must be positive and finite, got {t}");
    }

    /// <summary>softmax(x / T) along <paramref name="dim"/>, as knowledge distillation uses it.</summary>
    public static Tensor Softmax(Tensor x, double temperature, int dim = -1)
    {
        CheckTemperature("softmax", temperature);
        return temperature == 1 ? x.Softmax(dim) : x.Div(temperature).Softmax(dim);
    }

    /// <summary>log_softmax(x / T) along <paramref name="dim"/>.</summary>
    public static Tensor LogSoftmax(Tensor x, double temperature, int dim = -1)
    {
        CheckTemperature("log_softmax", temperature);
        return temperature == 1 ? x.LogSoftmax(dim) : x.Div(temperature).LogSoftmax(dim);
    }
}
