using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// Decays each group's learning rate by <c>gamma</c> at each milestone: lr = base · gamma^(number of milestones
/// ≤ epoch) (PyTorch's MultiStepLR; a milestone given twice decays twice).
/// </summary>
public sealed class MultiStepLR : LRScheduler
{
    private int[] _milestones;
    private double _gamma;

    /// <summary>A multi-step decay over <paramref name="optimizer"/>.</summary>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer, "MultiStepLR")
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = [.. milestones.Order()];
        if (_milestones.Any(m => m < 0)) throw new ArgumentValueException(Name, "milestones must be >= 0");
        NonNegative("gamma", gamma);
        _gamma = gamma;
        Initialize();
    }

    /// <summary>The milestones, sorted.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <inheritdoc/>
    protected override double ComputeLr(int group, int epoch)
    {
        int passed = 0; // bisect_right
        while (passed < _milestones.Length && _milestones[passed] <= epoch) passed++;
        return BaseLrs[group] * Math.Pow(_gamma, passed);
    }

    /// <inheritdoc/>
    protected override void SaveSettings(JsonObject values)
    {
        values["milestones"] = new JsonArray([.. _milestones.Select(m => (JsonNode)m)]);
        values["gamma"] = _gamma;
    }

    /// <inheritdoc/>
    protected override void LoadSettings(JsonObject values)
    {
        _milestones = [.. ReadArray(values, "milestones").Select(m => (int)m).Order()];
        _gamma = ReadDouble(values, "gamma");
    }
}
