using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// Cosine annealing from each group's base learning rate to <c>etaMin</c> over <c>tMax</c> steps (PyTorch's
/// CosineAnnealingLR, closed form): lr = etaMin + (base − etaMin)·(1 + cos(π·epoch/tMax))/2. Past tMax the
/// cosine continues (the rate rises again), as PyTorch's does.
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    private int _tMax;
    private double _etaMin;

    /// <summary>A cosine annealing over <paramref name="optimizer"/>.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer, "CosineAnnealingLR")
    {
        if (tMax < 1) throw new ArgumentValueException(Name, $"T_max must be >= 1, got {tMax}");
        NonNegative("eta_min", etaMin);
        _tMax = tMax; _etaMin = etaMin;
        Initialize();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int group, int epoch) =>
        _etaMin + (BaseLrs[group] - _etaMin) * (1 + Math.Cos(Math.PI * epoch / _tMax)) / 2;

    /// <inheritdoc/>
    protected override void SaveSettings(JsonObject values) { values["T_max"] = _tMax; values["eta_min"] = _etaMin; }

    /// <inheritdoc/>
    protected override void LoadSettings(JsonObject values) { _tMax = ReadInt(values, "T_max"); _etaMin = ReadDouble(values, "eta_min"); }
}
