using System.Globalization;
using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// Base of the optimizers, like PyTorch's torch.optim.Optimizer: parameter groups with their own
/// hyper-parameters, per-parameter state owned by the optimizer, <see cref="Step"/> and
/// <see cref="ZeroGrad"/>, and a state that can be saved and loaded so training resumes exactly.
/// </summary>
/// <remarks>
/// The state tensors (momentum buffers, moment estimates) live outside every dispose scope and are released
/// by <see cref="Dispose"/>; the parameters themselves belong to their module, not to the optimizer. In a saved
/// state, tensors are named "state.{group}.{index}.{name}" (e.g. "state.0.3.exp_avg") and the JSON holds the
/// optimizer's type, every group's hyper-parameters and parameter count, and each parameter's step count.
/// </remarks>
public abstract class Optimizer : IStateful, IDisposable
{
    private readonly List<ParamGroup> _groups = [];
    private readonly Dictionary<Tensor, ParamState> _state = new(ReferenceEqualityComparer.Instance);
    private readonly ParamGroup _defaults;
    private readonly Action<ParamGroup> _validate;
    private Workspace? _workspace;
    private bool _disposed;

    /// <summary>
    /// Creates an optimizer named <paramref name="name"/> over <paramref name="groups"/>; hyper-parameters a
    /// group leaves unset come from <paramref name="defaults"/> (a group without parameters), and every group
    /// is checked by <paramref name="validate"/>.
    /// </summary>
    protected Optimizer(string name, IEnumerable<ParamGroup> groups, ParamGroup defaults, Action<ParamGroup> validate)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Name = name;
        _defaults = defaults;
        _validate = validate;
        validate(defaults);
        var list = groups.ToList();
        if (list.Count == 0) throw new ArgumentValueException(Name, "optimizer got an empty parameter list");
        foreach (var g in list) AddParamGroup(g);
    }

    /// <summary>The optimizer's name ("SGD", "Adam", ...), which prefixes its error messages.</summary>
    public string Name { get; }

    /// <summary>
    /// Whether SGD and Adam/AdamW update each parameter with one fused kernel (<c>FusedOps.Sgd</c>/<c>FusedOps.Adam</c>)
    /// when its operands are contiguous (default), or with the chain of elementwise kernels they fall back to otherwise.
    /// Both give the same numbers bit for bit; tests and benchmarks compare them.
    /// </summary>
    internal bool FusedUpdates { get; set; } = true;

    /// <summary>The parameter groups, in order.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The state kept for <paramref name="parameter"/>, or null before its first update.</summary>
    public ParamState? State(Tensor parameter) => _state.GetValueOrDefault(parameter);

    /// <summary>
    /// Adds a group (PyTorch's add_param_group), e.g. layers unfrozen during fine-tuning. Its unset
    /// hyper-parameters take the optimizer's defaults.
    /// </summary>
    public void AddParamGroup(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (group.Params.Count == 0) throw new ArgumentValueException(Name, "optimizer got an empty parameter list");
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var g in _groups) foreach (var p in g.Params) seen.Add(p);
        foreach (var p in group.Params)
        {
            if (p is null) throw new ArgumentValueException(Name, "a parameter is null");
            if (p.IsDisposed) throw new ArgumentValueException(Name, $"parameter {p.Describe()} was already disposed");
            if (!p.IsLeaf) throw new ArgumentValueException(Name, $"can't optimize a non-leaf tensor ({p.Describe()})");
            if (!p.DType.IsFloatingPoint()) throw new ArgumentValueException(Name, $"can only optimize floating-point tensors, got {p.DType.Name()}");
            if (!seen.Add(p)) throw new ArgumentValueException(Name, "some parameters appear in more than one parameter group (or twice in one)");
        }
        group.FillFrom(_defaults);
        _validate(group);
        _groups.Add(group);
    }

    /// <summary>
    /// Performs one update of every parameter that has a gradient (parameters whose <see cref="Tensor.Grad"/>
    /// is null are skipped, and their state is left as it is). Runs without recording a graph, in place; the
    /// only memory it allocates is a scratch workspace released before it returns.
    /// </summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = Tensor.NoGrad();
        using var scope = Tensor.NewDisposeScope(); // catches anything an update forgets to release
        using var ws = _workspace = new Workspace(_groups.SelectMany(g => g.Params).Where(p => p.Grad is not null));
        try
        {
            StepAll();
        }
        finally { _workspace = null; }
    }

    private void StepAll()
    {
        for (int gi = 0; gi < _groups.Count; gi++)
        {
            var group = _groups[gi];
            foreach (var p in group.Params)
            {
                if (p.Grad is not { } grad) continue;
                if (p.IsDisposed) throw new ArgumentValueException(Name, $"parameter {p.Describe()} was disposed");
                if (grad.DType != p.DType || grad.Device != p.Device || !grad.Shape.AsSpan().SequenceEqual(p.Shape))
                    throw new ArgumentValueException(Name, $"gradient {grad.Describe()} does not match its parameter {p.Describe()}");
                if (!_state.TryGetValue(p, out var st)) _state[p] = st = new ParamState();
                st.Step++;
                Update(group, p, grad, st);
            }
        }
    }

    /// <summary>
    /// Updates one parameter in place from its gradient (same shape, dtype and device); <paramref name="state"/>'s
    /// step count already counts this step. Called by <see cref="Step"/> with gradient recording off and inside a
    /// dispose scope that ends with the step. Take temporaries from <see cref="Scratch"/>.
    /// </summary>
    protected abstract void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state);

    /// <summary>
    /// A contiguous scratch tensor shaped like <paramref name="like"/>, valid until the current
    /// <see cref="Step"/> returns; different slots never overlap, and one slot's memory is reused for every
    /// parameter of the step (so a step allocates one buffer per slot, as large as the largest parameter).
    /// </summary>
    protected Tensor Scratch(Tensor like, int slot)
    {
        ArgumentNullException.ThrowIfNull(like);
        var ws = _workspace ?? throw new InvalidOperationException($"{Name}: scratch memory exists only during Step()");
        return ws.Like(like, slot);
    }

    /// <summary>Sets every parameter's gradient to null (releasing it, the default) or to zero.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var g in _groups)
            foreach (var p in g.Params)
            {
                if (p.Grad is null) continue;
                if (setToNone) p.Grad = null;
                else using (Tensor.NoGrad()) p.Grad.ZeroInPlace();
            }
    }

    private static string Key(int group, int index) => string.Create(CultureInfo.InvariantCulture, $"{group}.{index}");

    /// <inheritdoc/>
    public (StateDict Tensors, JsonObject Values) SaveState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tensors = new StateDict();
        var groups = new JsonArray();
        var state = new JsonObject();
        for (int gi = 0; gi < _groups.Count; gi++)
        {
            groups.Add(_groups[gi].ToJson());
            var ps = _groups[gi].Params;
            for (int pi = 0; pi < ps.Count; pi++)
            {
                if (!_state.TryGetValue(ps[pi], out var st)) continue;
                var key = Key(gi, pi);
                state[key] = new JsonObject { ["step"] = st.Step, ["tensors"] = new JsonArray([.. st.Names.Select(n => (JsonNode)n)]) };
                foreach (var n in st.Names) tensors.Add($"state.{key}.{n}", st[n]!);
            }
        }
        return (tensors, new JsonObject { ["type"] = Name, ["param_groups"] = groups, ["state"] = state });
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The groups must match this optimizer's (same count, same number of parameters each, same shapes): the
    /// state belongs to the parameters by position. Hyper-parameters (learning rates included) are restored
    /// from the saved groups, and the state tensors are copied into new tensors of each parameter's dtype and
    /// device; everything checks before anything changes.
    /// </remarks>
    public void LoadState(StateDict tensors, JsonObject values)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var type = StateJson.Value<string>(values, "type", Name, "a string");
        if (type != Name) throw new ArgumentValueException(Name, $"the state was saved by {type}, not {Name}");
        var groups = StateJson.Array(values, "param_groups", Name);
        if (groups.Count != _groups.Count)
            throw new ArgumentValueException(Name, $"the state has {groups.Count} parameter groups but the optimizer has {_groups.Count}");
        var groupValues = new JsonObject[groups.Count];
        for (int gi = 0; gi < groups.Count; gi++)
        {
            groupValues[gi] = groups[gi] as JsonObject ?? throw new ArgumentValueException(Name, $"parameter group {gi} of the state is not an object");
            int n = StateJson.Int(groupValues[gi], "params", Name);
            if (n != _groups[gi].Params.Count)
                throw new ArgumentValueException(Name, $"group {gi} of the state has {n} parameters but the optimizer's has {_groups[gi].Params.Count}");
        }
        var state = values["state"] is null ? [] : StateJson.Object(values, "state", Name);
        var loaded = new List<(Tensor Param, long Step, List<(string Name, Tensor Src)> Tensors)>();
        foreach (var (key, node) in state)
        {
            var parts = key.Split('.');
            if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out int gi) || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out int pi)
                || gi < 0 || gi >= _groups.Count || pi < 0 || pi >= _groups[gi].Params.Count || node is not JsonObject o)
                throw new ArgumentValueException(Name, $"the state has an entry '{key}' that names no parameter");
            var p = _groups[gi].Params[pi];
            var list = new List<(string, Tensor)>();
            var names = o["tensors"] is null ? [] : StateJson.Array(o, "tensors", Name);
            for (int i = 0; i < names.Count; i++)
            {
                var name = StateJson.Value<string>(names[i], $"state.{key}.tensors[{i}]", Name, "a string");
                var tkey = $"state.{key}.{name}";
                if (!tensors.ContainsKey(tkey)) throw new ArgumentValueException(Name, $"the state has no tensor '{tkey}'");
                if (list.Exists(e => e.Item1 == name)) throw new ArgumentValueException(Name, $"the state names tensor '{tkey}' twice");
                var t = tensors[tkey];
                if (!t.Shape.AsSpan().SequenceEqual(p.Shape))
                    throw new ArgumentValueException(Name, $"'{tkey}' has shape {Engine.Kernels.ShapeUtil.Format(t.Shape)} but its parameter has {Engine.Kernels.ShapeUtil.Format(p.Shape)}");
                if (!t.DType.IsFloatingPoint())
                    throw new ArgumentValueException(Name, $"'{tkey}' has dtype {t.DType}, not a floating-point type like its parameter's {p.DType}");
                list.Add((name, t));
            }
            long step = o["step"] is null ? 0 : StateJson.Value<long>(o, "step", Name, "an integer");
            if (step < 0) throw new ArgumentValueException(Name, $"the state's step count for '{key}' is {step}");
            loaded.Add((p, step, list));
        }
        // Hyper-parameters of every group, read and checked before any group changes.
        for (int gi = 0; gi < groups.Count; gi++) _groups[gi].LoadJson(groupValues[gi], Name, apply: false);

        // New state tensors, converted to each parameter's dtype and device, before anything is replaced.
        var staged = new List<(Tensor Param, ParamState State)>();
        try
        {
            using var noGrad = Tensor.NoGrad();
            foreach (var (p, step, list) in loaded)
            {
                var st = new ParamState { Step = step };
                staged.Add((p, st));
                foreach (var (name, src) in list) st.Set(name, CopyFor(p, src));
            }
        }
        catch
        {
            foreach (var (_, st) in staged) st.Clear();
            throw;
        }
        // Everything checked and built: replace.
        for (int gi = 0; gi < groups.Count; gi++) _groups[gi].LoadJson(groupValues[gi], Name);
        foreach (var st in _state.Values) st.Clear();
        _state.Clear();
        foreach (var (p, st) in staged) _state[p] = st;
    }

    // A new tensor of the parameter's dtype and device holding src's values (half types convert on the host, as the CPU backend cannot).
    private static Tensor CopyFor(Tensor p, Tensor src)
    {
        using var half = src.DType != p.DType && src.Device == Device.Cpu && (TensorBytes.IsHalf(src.DType) || TensorBytes.IsHalf(p.DType))
            ? TensorBytes.ConvertOnHost(src, p.DType, "load_state") : null;
        var from = half ?? src;
        var dst = Tensor.Empty(p.Shape, p.DType, p.Device, op: "load_state");
        using var converted = from.DType == p.DType ? null : from.To(p.DType);
        using var moved = (converted ?? from).Device == p.Device ? null : (converted ?? from).To(p.Device);
        dst.CopyFromUnchecked(moved ?? converted ?? from);
        return dst;
    }

    /// <summary>Releases the state tensors (not the parameters).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var st in _state.Values) st.Clear();
        _state.Clear();
        GC.SuppressFinalize(this);
    }

    // ---- validation helpers for the optimizers -----------------------------------------------------------

    /// <summary>Raises unless <paramref name="value"/> is finite and ≥ 0 (the message names the optimizer and the hyper-parameter).</summary>
    protected static void NonNegative(string optimizer, string name, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentValueException(optimizer, $"invalid {name} value: {value.ToString(CultureInfo.InvariantCulture)} (expected a finite value >= 0)");
    }
}
