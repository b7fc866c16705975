using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>Decays each group's learning rate by <c>gamma</c> every <c>stepSize</c> steps: lr = base · gamma^⌊epoch / stepSize⌋ (PyTorch's StepLR).</summary>
public sealed class StepLR : LRScheduler
{
    private int _stepSize;
    private double _gamma;

    /// <summary>A step decay over <paramref name="optimizer"/>.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer, "StepLR")
    {
        if (stepSize < 1) throw new ArgumentValueException(Name, $"step_size must be >= 1, got {stepSize}");
        NonNegative("gamma", gamma);
        _stepSize = stepSize; _gamma = gamma;
        Initialize();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int group, int epoch) => BaseLrs[group] * Math.Pow(_gamma, epoch / _stepSize);

    /// <inheritdoc/>
    protected override void SaveSettings(JsonObject values) { values["step_size"] = _stepSize; values["gamma"] = _gamma; }

    /// <inheritdoc/>
    protected override void LoadSettings(JsonObject values) { _stepSize = ReadInt(values, "step_size"); _gamma = ReadDouble(values, "gamma"); }
}
