using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>Decays each group's learning rate by <c>gamma</c> every step: lr = base · gamma^epoch (PyTorch's ExponentialLR).</summary>
public sealed class ExponentialLR : LRScheduler
{
    private double _gamma;

    /// <summary>An exponential decay over <paramref name="optimizer"/>.</summary>
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer, "ExponentialLR")
    {
        NonNegative("gamma", gamma);
        _gamma = gamma;
        Initialize();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int group, int epoch) => BaseLrs[group] * Math.Pow(_gamma, epoch);

    /// <inheritdoc/>
    protected override void SaveSettings(JsonObject values) => values["gamma"] = _gamma;

    /// <inheritdoc/>
    protected override void LoadSettings(JsonObject values) => _gamma = ReadDouble(values, "gamma");
}
