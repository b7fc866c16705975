using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// Base of the learning-rate schedules, like PyTorch's torch.optim.lr_scheduler.LRScheduler. A schedule sets
/// every group's <see cref="ParamGroup.Lr"/> from a closed form of its base learning rate
/// (<see cref="ParamGroup.InitialLr"/>) and the step count <see cref="Epoch"/>, so values are exact and a loaded
/// state continues exactly. Constructing a schedule applies the value for <see cref="Epoch"/> 0; each
/// <see cref="Step"/> advances by one. Whether a step is an epoch or an iteration is the caller's choice:
/// call <see cref="Step"/> after <see cref="Optimizer.Step"/>, once per epoch or once per batch.
/// </summary>
public abstract class LRScheduler : IStateful
{
    private double[] _lastLr = [];

    /// <summary>A schedule named <paramref name="name"/> over <paramref name="optimizer"/>'s groups; subclasses call <see cref="Initialize"/> at the end of their constructor.</summary>
    protected LRScheduler(Optimizer optimizer, string name)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        Name = name;
        BaseLrs = [.. optimizer.ParamGroups.Select(g => g.InitialLr)];
        Epoch = -1;
    }

    /// <summary>The optimizer whose learning rates this schedule sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The schedule's name ("StepLR", ...), which prefixes its error messages.</summary>
    public string Name { get; }

    /// <summary>Steps taken since construction (PyTorch's last_epoch): 0 after construction.</summary>
    public int Epoch { get; private set; }

    /// <summary>Base learning rate of each group (its <see cref="ParamGroup.InitialLr"/> when the schedule was made).</summary>
    public double[] BaseLrs { get; protected set; }

    /// <summary>The learning rate this schedule last set on each group (PyTorch's get_last_lr()).</summary>
    public IReadOnlyList<double> LastLr => _lastLr;

    /// <summary>The closed-form learning rate of group <paramref name="group"/> at step <paramref name="epoch"/>.</summary>
    public double LrAt(int group, int epoch)
    {
        if (group < 0 || group >= BaseLrs.Length) throw new IndexException(Name, $"group {group} is out of range for {BaseLrs.Length} groups");
        if (epoch < 0) throw new ArgumentValueException(Name, $"epoch must be >= 0, got {epoch}");
        return ComputeLr(group, epoch);
    }

    /// <summary>The learning rate of group <paramref name="group"/> at step <paramref name="epoch"/> (≥ 0), from <see cref="BaseLrs"/>.</summary>
    protected abstract double ComputeLr(int group, int epoch);

    /// <summary>Called after the learning rates for <paramref name="epoch"/> were set (e.g. to set momentum too).</summary>
    protected virtual void OnApplied(int epoch) { }

    /// <summary>Applies step 0; call it last in a subclass constructor.</summary>
    protected void Initialize()
    {
        if (BaseLrs.Length != Optimizer.ParamGroups.Count)
            throw new ArgumentValueException(Name, $"the schedule has {BaseLrs.Length} base learning rates but the optimizer has {Optimizer.ParamGroups.Count} groups");
        MoveTo(0);
    }

    /// <summary>Advances one step and sets each group's learning rate.</summary>
    public void Step()
    {
        if (Epoch < 0) throw new InvalidOperationException($"{Name}: the schedule was not initialized");
        MoveTo(Epoch + 1);
    }

    /// <summary>Sets <see cref="Epoch"/> and applies its learning rates.</summary>
    internal void MoveTo(int epoch)
    {
        CheckEpoch(epoch);
        var groups = Optimizer.ParamGroups;
        var lrs = new double[BaseLrs.Length];
        for (int i = 0; i < lrs.Length; i++) lrs[i] = ComputeLr(i, epoch);
        for (int i = 0; i < lrs.Length && i < groups.Count; i++) groups[i].Lr = lrs[i];
        Epoch = epoch;
        _lastLr = lrs;
        OnApplied(epoch);
    }

    /// <summary>Raises when the schedule is not defined at <paramref name="epoch"/> (e.g. past a one-cycle's end).</summary>
    protected virtual void CheckEpoch(int epoch) { }

    internal void Check(int epoch) => CheckEpoch(epoch);

    /// <summary>Writes the schedule's own settings into <paramref name="values"/>.</summary>
    protected virtual void SaveSettings(JsonObject values) { }

    /// <summary>Restores the settings written by <see cref="SaveSettings"/>.</summary>
    protected virtual void LoadSettings(JsonObject values) { }

    /// <inheritdoc/>
    /// <remarks>A schedule has no tensors; the JSON holds its type, step count, base and last learning rates and settings.</remarks>
    public (StateDict Tensors, JsonObject Values) SaveState()
    {
        var v = new JsonObject
        {
            ["type"] = Name,
            ["last_epoch"] = Epoch,
            ["base_lrs"] = new JsonArray([.. BaseLrs.Select(x => (JsonNode)x)]),
            ["last_lr"] = new JsonArray([.. _lastLr.Select(x => (JsonNode)x)]),
        };
        SaveSettings(v);
        return (new StateDict(), v);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Restores the step count, base learning rates and settings; the optimizer's learning rates are not touched
    /// (they come back with the optimizer's own state), so the next <see cref="Step"/> continues where the saved
    /// run stopped.
    /// </remarks>
    public void LoadState(StateDict tensors, JsonObject values)
    {
        ArgumentNullException.ThrowIfNull(values);
        // Subclasses restore their settings field by field (LoadSettings), so a state that fails half-way is undone by
        // loading back the state saved here; any error reading the JSON becomes an ArgumentValueException naming the key.
        var backup = SaveState().Values;
        try
        {
            LoadCore(values);
        }
        catch (Exception e) when (e is ArgumentValueException or InvalidOperationException or FormatException or InvalidCastException
            or NullReferenceException or IndexOutOfRangeException or OverflowException or KeyNotFoundException or DivideByZeroException)
        {
            LoadCore(backup);
            if (e is ArgumentValueException) throw;
            throw new ArgumentValueException(Name, $"the state is malformed: {e.Message}");
        }
    }

    private void LoadCore(JsonObject values)
    {
        var type = StateJson.Value<string>(values, "type", Name, "a string");
        if (type != Name) throw new ArgumentValueException(Name, $"the state was saved by {type}, not {Name}");
        var baseLrs = ReadArray(values, "base_lrs");
        if (baseLrs.Length != Optimizer.ParamGroups.Count)
            throw new ArgumentValueException(Name, $"the state has {baseLrs.Length} base learning rates but the optimizer has {Optimizer.ParamGroups.Count} groups");
        var epoch = ReadInt(values, "last_epoch");
        if (epoch < 0) throw new ArgumentValueException(Name, $"the state's 'last_epoch' is {epoch}, not a step count >= 0");
        var lastLr = values["last_lr"] is null ? null : ReadArray(values, "last_lr");
        if (lastLr is not null && lastLr.Length != baseLrs.Length)
            throw new ArgumentValueException(Name, $"the state has {lastLr.Length} last learning rates but {baseLrs.Length} base learning rates");
        LoadSettings(values);
        BaseLrs = baseLrs;
        CheckEpoch(epoch);
        var computed = new double[baseLrs.Length];
        for (int i = 0; i < computed.Length; i++)
        {
            computed[i] = ComputeLr(i, epoch);
            if (!double.IsFinite(computed[i]))
                throw new ArgumentValueException(Name, $"the state's settings give the learning rate {computed[i]} for group {i} at step {epoch}");
        }
        _lastLr = lastLr ?? computed;
        Epoch = epoch;
    }

    /// <summary>Reads a JSON array of finite numbers.</summary>
    protected double[] ReadArray(JsonObject values, string key)
    {
        ArgumentNullException.ThrowIfNull(values);
        return StateJson.Doubles(values, key, Name);
    }

    /// <summary>Reads a finite JSON number.</summary>
    protected double ReadDouble(JsonObject values, string key)
    {
        ArgumentNullException.ThrowIfNull(values);
        return StateJson.Double(values, key, Name);
    }

    /// <summary>Reads a JSON 32-bit integer.</summary>
    protected int ReadInt(JsonObject values, string key)
    {
        ArgumentNullException.ThrowIfNull(values);
        return StateJson.Int(values, key, Name);
    }

    /// <summary>JSON array of numbers.</summary>
    protected static JsonArray ToJson(IEnumerable<double> xs) => new([.. xs.Select(x => (JsonNode)x)]);

    /// <summary>Raises unless <paramref name="v"/> is finite and ≥ 0.</summary>
    protected void NonNegative(string what, double v)
    {
        if (!(v >= 0) || double.IsInfinity(v)) throw new ArgumentValueException(Name, $"{what} must be a finite value >= 0, got {v}");
    }
}
