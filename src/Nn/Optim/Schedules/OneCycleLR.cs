using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// The 1cycle policy (Smith and Topin), exactly as PyTorch's OneCycleLR: the learning rate rises from
/// maxLr/divFactor to maxLr over the first pctStart·totalSteps − 1 steps, then anneals to
/// maxLr/(divFactor·finalDivFactor) at step totalSteps − 1; momentum (or Adam's β1) moves the opposite way
/// between maxMomentum and baseMomentum when <c>cycleMomentum</c> is on. With <c>threePhase</c> the rate comes
/// back down to maxLr/divFactor symmetrically before the final annealing. Meant to be stepped once per batch;
/// stepping past totalSteps raises.
/// </summary>
/// <remarks>The base learning rates (<see cref="LRScheduler.BaseLrs"/>) are maxLr/divFactor, not the groups' own rates.</remarks>
public sealed class OneCycleLR : LRScheduler
{
    private double[] _maxLrs;
    private int _totalSteps;
    private double _pctStart, _divFactor, _finalDivFactor, _baseMomentum, _maxMomentum;
    private AnnealStrategy _anneal;
    private bool _cycleMomentum, _threePhase, _useBeta1;
    private (double End, int From, int To, bool MomentumDown)[] _phases = [];

    /// <summary>A one-cycle schedule with the same peak rate <paramref name="maxLr"/> for every group.</summary>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3,
        AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true, double baseMomentum = 0.85,
        double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : this(optimizer, Enumerable.Repeat(maxLr, optimizer?.ParamGroups.Count ?? 0).ToArray(), totalSteps, pctStart,
               annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase) { }

    /// <summary>A one-cycle schedule with a peak rate per group.</summary>
    public OneCycleLR(Optimizer optimizer, IReadOnlyList<double> maxLrs, int totalSteps, double pctStart = 0.3,
        AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true, double baseMomentum = 0.85,
        double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : base(optimizer!, "OneCycleLR")
    {
        ArgumentNullException.ThrowIfNull(maxLrs);
        if (maxLrs.Count != optimizer.ParamGroups.Count)
            throw new ArgumentValueException(Name, $"expected {optimizer.ParamGroups.Count} values for max_lr, got {maxLrs.Count}");
        foreach (var m in maxLrs) NonNegative("max_lr", m);
        _maxLrs = [.. maxLrs];
        _totalSteps = totalSteps; _pctStart = pctStart; _anneal = annealStrategy; _cycleMomentum = cycleMomentum;
        _baseMomentum = baseMomentum; _maxMomentum = maxMomentum; _divFactor = divFactor; _finalDivFactor = finalDivFactor;
        _threePhase = threePhase;
        Configure();
        if (_cycleMomentum)
        {
            var groups = optimizer.ParamGroups;
            _useBeta1 = groups.All(g => g.Has("betas"));
            if (!_useBeta1 && !groups.All(g => g.Has("momentum")))
                throw new ArgumentValueException(Name, $"optimizer {optimizer.Name} has neither momentum nor betas, required with cycle_momentum");
        }
        Initialize();
    }

    /// <summary>Validates the settings and builds the phases.</summary>
    private void Configure()
    {
        if (_totalSteps < 1) throw new ArgumentValueException(Name, $"expected a positive integer total_steps, got {_totalSteps}");
        if (!(_pctStart >= 0 && _pctStart <= 1)) throw new ArgumentValueException(Name, $"expected pct_start between 0 and 1, got {_pctStart}");
        if (!(_divFactor > 0) || double.IsInfinity(_divFactor)) throw new ArgumentValueException(Name, $"div_factor must be > 0, got {_divFactor}");
        if (!(_finalDivFactor > 0) || double.IsInfinity(_finalDivFactor)) throw new ArgumentValueException(Name, $"final_div_factor must be > 0, got {_finalDivFactor}");
        if (_cycleMomentum) { NonNegative("base_momentum", _baseMomentum); NonNegative("max_momentum", _maxMomentum); }
        const int Initial = 0, Max = 1, Min = 2;
        double up = _pctStart * _totalSteps - 1;
        _phases = _threePhase
            ? [(up, Initial, Max, true), (2 * _pctStart * _totalSteps - 2, Max, Initial, false), (_totalSteps - 1, Initial, Min, false)]
            : [(up, Initial, Max, true), (_totalSteps - 1, Max, Min, false)];
        double start = 0;
        foreach (var p in _phases)
        {
            if (!(p.End > start))
                throw new ArgumentValueException(Name, $"pct_start={_pctStart} with total_steps={_totalSteps} leaves a phase without steps");
            start = p.End;
        }
        BaseLrs = [.. _maxLrs.Select(m => m / _divFactor)];
    }

    private double Anneal(double start, double end, double pct) => _anneal == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;

    // Phase and position within it at `epoch`, as PyTorch's get_lr walks them.
    private (int Phase, double Pct) Locate(int epoch)
    {
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            double end = _phases[i].End;
            if (epoch <= end || i == _phases.Length - 1) return (i, (epoch - start) / (end - start));
            start = end;
        }
        throw new InvalidOperationException("unreachable");
    }

    private double Level(int group, int which) => which switch
    {
        0 => _maxLrs[group] / _divFactor,
        1 => _maxLrs[group],
        _ => _maxLrs[group] / _divFactor / _finalDivFactor,
    };

    /// <inheritdoc/>
    protected override double ComputeLr(int group, int epoch)
    {
        var (i, pct) = Locate(epoch);
        return Anneal(Level(group, _phases[i].From), Level(group, _phases[i].To), pct);
    }

    /// <summary>The momentum (or β1) the schedule sets at <paramref name="epoch"/>.</summary>
    public double MomentumAt(int epoch)
    {
        var (i, pct) = Locate(epoch);
        // Phases alternate: momentum falls while the rate rises, and rises while the rate falls; the last
        // phase of the three-phase form stays at max momentum.
        var p = _phases[i];
        if (_threePhase && i == 2) return Anneal(_maxMomentum, _maxMomentum, pct);
        return p.MomentumDown ? Anneal(_maxMomentum, _baseMomentum, pct) : Anneal(_baseMomentum, _maxMomentum, pct);
    }

    /// <inheritdoc/>
    protected override void CheckEpoch(int epoch)
    {
        if (epoch > _totalSteps)
            throw new ArgumentValueException(Name, $"tried to step {epoch} times; the specified number of total steps is {_totalSteps}");
    }

    /// <inheritdoc/>
    protected override void OnApplied(int epoch)
    {
        if (!_cycleMomentum) return;
        double m = MomentumAt(epoch);
        foreach (var g in Optimizer.ParamGroups)
            if (_useBeta1) g.Betas = (m, g.Betas.Beta2);
            else g.Momentum = m;
    }

    /// <inheritdoc/>
    protected override void SaveSettings(JsonObject values)
    {
        values["max_lrs"] = ToJson(_maxLrs);
        values["total_steps"] = _totalSteps;
        values["pct_start"] = _pctStart;
        values["anneal_strategy"] = _anneal == AnnealStrategy.Cos ? "cos" : "linear";
        values["cycle_momentum"] = _cycleMomentum;
        values["use_beta1"] = _useBeta1;
        values["base_momentum"] = _baseMomentum;
        values["max_momentum"] = _maxMomentum;
        values["div_factor"] = _divFactor;
        values["final_div_factor"] = _finalDivFactor;
        values["three_phase"] = _threePhase;
    }

    /// <inheritdoc/>
    protected override void LoadSettings(JsonObject values)
    {
        var maxLrs = ReadArray(values, "max_lrs");
        if (maxLrs.Length != Optimizer.ParamGroups.Count)
            throw new ArgumentValueException(Name, $"the state has {maxLrs.Length} max_lr values but the optimizer has {Optimizer.ParamGroups.Count} groups");
        _maxLrs = maxLrs;
        _totalSteps = ReadInt(values, "total_steps");
        _pctStart = ReadDouble(values, "pct_start");
        _anneal = (values["anneal_strategy"] is null ? null : StateJson.Value<string>(values, "anneal_strategy", Name, "a string")) == "linear" ? AnnealStrategy.Linear : AnnealStrategy.Cos;
        _cycleMomentum = values["cycle_momentum"]?.GetValue<bool>() ?? _cycleMomentum;
        _useBeta1 = values["use_beta1"]?.GetValue<bool>() ?? _useBeta1;
        _baseMomentum = ReadDouble(values, "base_momentum");
        _maxMomentum = ReadDouble(values, "max_momentum");
        _divFactor = ReadDouble(values, "div_factor");
        _finalDivFactor = ReadDouble(values, "final_div_factor");
        _threePhase = values["three_phase"]?.GetValue<bool>() ?? false;
        Configure();
    }
}
