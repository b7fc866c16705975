using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// A linear warm-up followed by another schedule (PyTorch's LinearLR chained through SequentialLR with one
/// milestone). For the first <c>warmupSteps</c> steps each group's rate rises linearly from
/// <c>startFactor</c>·base towards base: lr = base·(startFactor + (1 − startFactor)·epoch/warmupSteps). From
/// then on the <c>after</c> schedule takes over, counted from its own step 0 (at epoch warmupSteps + k it is at
/// step k); without one the rate stays at base.
/// </summary>
/// <remarks>
/// The inner schedule must be built on the same optimizer, before this one, and must then only be advanced
/// through this schedule (calling its <see cref="LRScheduler.Step"/> directly would desynchronise the two).
/// The saved state nests the inner schedule's under "after".
/// </remarks>
public sealed class LinearWarmup : LRScheduler
{
    private readonly LRScheduler? _after;
    private int _warmupSteps;
    private double _startFactor;

    /// <summary>A warm-up of <paramref name="warmupSteps"/> steps over <paramref name="optimizer"/>, then <paramref name="after"/>.</summary>
    public LinearWarmup(Optimizer optimizer, int warmupSteps, double startFactor = 1.0 / 3, LRScheduler? after = null) : base(optimizer, "LinearWarmup")
    {
        if (warmupSteps < 1) throw new ArgumentValueException(Name, $"warmup_steps must be >= 1, got {warmupSteps}");
        if (!(startFactor > 0 && startFactor <= 1))
            throw new ArgumentValueException(Name, $"the starting multiplicative factor must be > 0 and <= 1, got {startFactor}");
        if (after is not null && !ReferenceEquals(after.Optimizer, optimizer))
            throw new ArgumentValueException(Name, "the schedule that follows the warm-up must be on the same optimizer");
        _after = after;
        _warmupSteps = warmupSteps; _startFactor = startFactor;
        after?.MoveTo(0);
        Initialize();
    }

    /// <summary>The schedule that runs after the warm-up, if any.</summary>
    public LRScheduler? After => _after;

    /// <inheritdoc/>
    protected override double ComputeLr(int group, int epoch)
    {
        if (epoch < _warmupSteps) return BaseLrs[group] * (_startFactor + (1 - _startFactor) * epoch / _warmupSteps);
        return _after is null ? BaseLrs[group] : _after.LrAt(group, epoch - _warmupSteps);
    }

    /// <inheritdoc/>
    protected override void CheckEpoch(int epoch)
    {
        if (epoch >= _warmupSteps) _after?.Check(epoch - _warmupSteps);
    }

    /// <inheritdoc/>
    protected override void OnApplied(int epoch)
    {
        // The inner schedule sits at its step 0 during the warm-up, then follows (setting the rates this one computed).
        if (epoch >= _warmupSteps) _after?.MoveTo(epoch - _warmupSteps);
    }

    /// <inheritdoc/>
    protected override void SaveSettings(JsonObject values)
    {
        values["warmup_steps"] = _warmupSteps;
        values["start_factor"] = _startFactor;
        if (_after is not null) values["after"] = _after.SaveState().Values;
    }

    /// <inheritdoc/>
    protected override void LoadSettings(JsonObject values)
    {
        _warmupSteps = ReadInt(values, "warmup_steps");
        _startFactor = ReadDouble(values, "start_factor");
        if (_after is null != values["after"] is null)
            throw new ArgumentValueException(Name, _after is null ? "the state has an inner schedule but this warm-up has none" : "the state has no inner schedule ('after')");
        if (_after is not null) _after.LoadState(new StateDict(), StateJson.Object(values, "after", Name));
    }
}
