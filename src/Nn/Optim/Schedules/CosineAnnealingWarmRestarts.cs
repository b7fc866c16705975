using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// SGDR: cosine annealing from each group's base learning rate to <c>etaMin</c> that restarts after
/// <c>t0</c> steps, each cycle <c>tMult</c> times longer than the last (PyTorch's CosineAnnealingWarmRestarts):
/// lr = etaMin + (base − etaMin)·(1 + cos(π·T_cur/T_i))/2, where T_cur counts steps since the last restart
/// and T_i is the current cycle's length.
/// </summary>
public sealed class CosineAnnealingWarmRestarts : LRScheduler
{
    private int _t0, _tMult;
    private double _etaMin;

    /// <summary>A cosine schedule with warm restarts over <paramref name="optimizer"/>.</summary>
    public CosineAnnealingWarmRestarts(Optimizer optimizer, int t0, int tMult = 1, double etaMin = 0) : base(optimizer, "CosineAnnealingWarmRestarts")
    {
        if (t0 < 1) throw new ArgumentValueException(Name, $"expected a positive integer T_0, got {t0}");
        if (tMult < 1) throw new ArgumentValueException(Name, $"expected an integer T_mult >= 1, got {tMult}");
        NonNegative("eta_min", etaMin);
        _t0 = t0; _tMult = tMult; _etaMin = etaMin;
        Initialize();
    }

    /// <summary>Steps since the last restart (T_cur) and the current cycle's length (T_i) at <paramref name="epoch"/>.</summary>
    public (long TCur, long TI) Cycle(int epoch)
    {
        if (epoch < 0) throw new ArgumentValueException(Name, $"epoch must be >= 0, got {epoch}");
        if (_tMult == 1) return (epoch % _t0, _t0);
        long tCur = epoch, tI = _t0;
        while (tCur >= tI) { tCur -= tI; tI *= _tMult; }
        return (tCur, tI);
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int group, int epoch)
    {
        var (tCur, tI) = Cycle(epoch);
        return _etaMin + (BaseLrs[group] - _etaMin) * (1 + Math.Cos(Math.PI * tCur / tI)) / 2;
    }

    /// <inheritdoc/>
    protected override void SaveSettings(JsonObject values) { values["T_0"] = _t0; values["T_mult"] = _tMult; values["eta_min"] = _etaMin; }

    /// <inheritdoc/>
    protected override void LoadSettings(JsonObject values)
    {
        _t0 = ReadInt(values, "T_0"); _tMult = ReadInt(values, "T_mult"); _etaMin = ReadDouble(values, "eta_min");
    }
}
