using System.Text;
using Engine.Kernels;

namespace Engine.Nn;

/// <summary>
/// Base of every layer and model, like PyTorch's nn.Module: parameters, buffers and child modules are
/// registered by name in order, and discovered hierarchically with dotted names ("features.0.weight",
/// "layer1.0.bn1.running_mean"). A module owns its parameters and buffers (they live outside every dispose
/// scope) and releases them in <see cref="Dispose()"/>.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<string> _paramNames = [];
    private readonly Dictionary<string, Tensor?> _params = [];
    private readonly List<string> _bufferNames = [];
    private readonly Dictionary<string, Tensor?> _buffers = [];
    private readonly HashSet<string> _nonPersistent = [];
    private readonly List<string> _moduleNames = [];
    private readonly Dictionary<string, Module> _modules = [];
    private readonly List<Action<Module, Tensor, Tensor>> _forwardHooks = [];
    private bool _disposed;

    private bool _keepEval;

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>
    /// When true this module stays in evaluation mode: <see cref="Train"/> leaves it evaluating (a frozen backbone's
    /// BatchNorm keeps using and no longer updates its running statistics while the rest of the model trains).
    /// Setting it puts the module in evaluation mode at once; clearing it leaves the mode to the next Train/Eval.
    /// </summary>
    public bool KeepEval
    {
        get => _keepEval;
        set { _keepEval = value; if (value) Training = false; }
    }

    /// <summary>The computation. Call it through <see cref="Call"/> so forward hooks run (containers do).</summary>
    public virtual Tensor Forward(Tensor input) =>
        throw new NotSupportedException($"{GetType().Name} has no single-input Forward");

    /// <summary>Runs <see cref="Forward"/> and then the forward hooks (PyTorch's <c>module(x)</c>).</summary>
    public Tensor Call(Tensor input)
    {
        var output = Forward(input);
        foreach (var h in _forwardHooks) h(this, input, output);
        return output;
    }

    /// <summary>Adds a hook called with (module, input, output) after each <see cref="Call"/>; dispose the result to remove it.</summary>
    public IDisposable RegisterForwardHook(Action<Module, Tensor, Tensor> hook)
    {
        _forwardHooks.Add(hook);
        return new HookHandle(() => _forwardHooks.Remove(hook));
    }

    private sealed class HookHandle(Action remove) : IDisposable
    {
        private Action? _remove = remove;
        public void Dispose() { _remove?.Invoke(); _remove = null; }
    }

    // ---- registration ------------------------------------------------------------------------------------

    private static void CheckName(string name, string what)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentValueException("module", $"{what} name '{name}' must be non-empty and contain no '.'");
    }

    /// <summary>Registers (or replaces) a parameter; it becomes a leaf that requires grad, owned by this module.</summary>
    protected Tensor? RegisterParameter(string name, Tensor? value)
    {
        CheckName(name, "parameter");
        if (value is not null)
        {
            value.DetachFromDisposeScope();
            if (!value.IsLeaf) throw new AutogradException("module", $"parameter '{name}' must be a leaf tensor; pass a detached tensor");
            value.RequiresGrad = true;
        }
        if (_params.TryGetValue(name, out var old) && old is not null && !ReferenceEquals(old, value)) old.Dispose();
        if (!_params.ContainsKey(name)) _paramNames.Add(name);
        _params[name] = value;
        return value;
    }

    /// <summary>Registers (or replaces) a buffer: state that is saved but not trained (e.g. running statistics).</summary>
    protected Tensor? RegisterBuffer(string name, Tensor? value, bool persistent = true)
    {
        CheckName(name, "buffer");
        value?.DetachFromDisposeScope();
        if (_buffers.TryGetValue(name, out var old) && old is not null && !ReferenceEquals(old, value)) old.Dispose();
        if (!_buffers.ContainsKey(name)) _bufferNames.Add(name);
        _buffers[name] = value;
        if (!persistent) _nonPersistent.Add(name); else _nonPersistent.Remove(name);
        return value;
    }

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name, "module");
        if (_modules.TryGetValue(name, out var old) && !ReferenceEquals(old, module)) old.Dispose();
        if (!_modules.ContainsKey(name)) _moduleNames.Add(name);
        _modules[name] = module;
        return module;
    }

    /// <summary>The parameter registered as <paramref name="name"/> on this module (not children).</summary>
    protected Tensor? Param(string name) => _params.GetValueOrDefault(name);

    /// <summary>The buffer registered as <paramref name="name"/> on this module (not children).</summary>
    protected Tensor? Buffer(string name) => _buffers.GetValueOrDefault(name);

    // ---- discovery ----------------------------------------------------------------------------------------

    /// <summary>Direct children in registration order.</summary>
    public IEnumerable<Module> Children() => _moduleNames.Select(n => _modules[n]);

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _moduleNames.Select(n => (n, _modules[n]));

    /// <summary>This module and every descendant, with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var n in _moduleNames)
            foreach (var x in _modules[n].NamedModules(prefix.Length == 0 ? n : prefix + "." + n))
                yield return x;
    }

    /// <summary>
    /// The descendant at the dotted path <paramref name="name"/> ("" is this module), like PyTorch's get_submodule;
    /// an <see cref="ArgumentValueException"/> names the children available where the path breaks off.
    /// </summary>
    public Module GetSubmodule(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var m = this;
        if (name.Length == 0) return m;
        foreach (var part in name.Split('.'))
        {
            if (!m._modules.TryGetValue(part, out var child))
                throw new ArgumentValueException("get_submodule", $"no module '{name}': '{part}' is not a child of {m.GetType().Name} (children: {(m._moduleNames.Count == 0 ? "none" : string.Join(", ", m._moduleNames))})");
            m = child;
        }
        return m;
    }

    /// <summary>
    /// Replaces (or adds) the parameter at the dotted path <paramref name="name"/> ("classifier.6.weight") with
    /// <paramref name="value"/>, which may have another shape (a new classification head reshapes the weights of the
    /// existing layer, so models that keep typed references to their children stay valid). The old tensor is
    /// released, and the owning module refreshes any cached references (as after <see cref="To(Device)"/>).
    /// </summary>
    public void SetParameter(string name, Tensor? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        int dot = name.LastIndexOf('.');
        var owner = dot < 0 ? this : GetSubmodule(name[..dot]);
        owner.RegisterParameter(dot < 0 ? name : name[(dot + 1)..], value);
        owner.OnMoved();
    }

    /// <summary>Every parameter of this module and its descendants with its dotted name, in registration order.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(bool recurse = true)
    {
        foreach (var (prefix, m) in recurse ? NamedModules() : [("", this)])
            foreach (var n in m._paramNames)
                if (m._params[n] is { } p) yield return (Join(prefix, n), p);
    }

    /// <summary>Every parameter, in registration order.</summary>
    public IEnumerable<Tensor> Parameters(bool recurse = true) => NamedParameters(recurse).Select(p => p.Parameter);

    /// <summary>Every buffer of this module and its descendants with its dotted name.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(bool recurse = true)
    {
        foreach (var (prefix, m) in recurse ? NamedModules() : [("", this)])
            foreach (var n in m._bufferNames)
                if (m._buffers[n] is { } b) yield return (Join(prefix, n), b);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Total number of parameter elements (optionally only trainable ones).</summary>
    public long ParameterCount(bool onlyTrainable = false) => Parameters().Where(p => !onlyTrainable || p.RequiresGrad).Sum(p => p.NumEl);

    // ---- modes, devices, freezing ------------------------------------------------------------------------

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public Module Train(bool on = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = on && !m._keepEval;
        return this;
    }

    /// <summary>Sets evaluation mode (dropout off, batch norm uses running statistics).</summary>
    public Module Eval() => Train(false);

    /// <summary>Turns gradients on or off for every parameter of this subtree (freezing a pretrained backbone).</summary>
    public Module RequiresGrad(bool on = true)
    {
        foreach (var p in Parameters()) p.RequiresGrad = on;
        return this;
    }

    /// <summary>Sets every parameter's gradient to null (releasing it) or to zero.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in Parameters())
        {
            if (p.Grad is null) continue;
            if (setToNone) p.Grad = null;
            else using (Tensor.NoGrad()) p.Grad.ZeroInPlace();
        }
    }

    /// <summary>Moves every parameter and buffer to <paramref name="device"/> (the old tensors are released).</summary>
    public Module To(Device device)
    {
        foreach (var (_, m) in NamedModules())
        {
            foreach (var n in m._paramNames.ToList())
            {
                if (m._params[n] is not { } p || p.Device == device) continue;
                Tensor moved;
                using (Tensor.NoGrad()) moved = p.To(device);
                m._params[n] = moved.DetachFromDisposeScope().RequiresGrad_(p.RequiresGrad);
                p.Dispose();
            }
            foreach (var n in m._bufferNames.ToList())
            {
                if (m._buffers[n] is not { } b || b.Device == device) continue;
                using (Tensor.NoGrad()) m._buffers[n] = b.To(device).DetachFromDisposeScope();
                b.Dispose();
            }
            m.OnMoved();
        }
        return this;
    }

    /// <summary>Called after <see cref="To(Device)"/> replaced tensors; layers that cache parameter references refresh them here.</summary>
    protected virtual void OnMoved() { }

    // ---- state dict ---------------------------------------------------------------------------------------

    /// <summary>
    /// The parameters and persistent buffers by dotted name, in registration order. The tensors are the
    /// module's own (no copies): they stay owned by the module.
    /// </summary>
    public StateDict StateDict()
    {
        var d = new StateDict();
        foreach (var (prefix, m) in NamedModules())
        {
            foreach (var n in m._paramNames) if (m._params[n] is { } p) d.Add(Join(prefix, n), p);
            foreach (var n in m._bufferNames) if (!m._nonPersistent.Contains(n) && m._buffers[n] is { } b) d.Add(Join(prefix, n), b);
        }
        return d;
    }

    /// <summary>
    /// Copies values from <paramref name="source"/> into the matching parameters and buffers (converting dtype
    /// when needed). Everything is checked first: with <paramref name="strict"/>, missing or unexpected keys,
    /// and always shape mismatches, raise a <see cref="StateDictException"/> and nothing is loaded.
    /// </summary>
    public LoadResult LoadStateDict(IEnumerable<KeyValuePair<string, Tensor>> source, bool strict = true)
    {
        var own = StateDict();
        var src = new Dictionary<string, Tensor>();
        foreach (var kv in source) src[kv.Key] = kv.Value;
        var missing = own.Keys.Where(k => !src.ContainsKey(k)).ToList();
        var unexpected = src.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = own.Keys.Where(k => src.TryGetValue(k, out var t) && !t.Shape.SequenceEqual(own[k].Shape))
            .Select(k => $"{k}: expected {ShapeUtil.Format(own[k].Shape)}, got {ShapeUtil.Format(src[k].Shape)}").ToList();
        var result = new LoadResult(missing, unexpected, mismatched);
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictException(result);
        using (Tensor.NoGrad())
            foreach (var (k, dst) in own)
                if (src.TryGetValue(k, out var t))
                {
                    using var converted = t.DType == dst.DType ? null : t.To(dst.DType);
                    using var moved = (converted ?? t).Device == dst.Device ? null : (converted ?? t).To(dst.Device);
                    dst.CopyFromUnchecked(moved ?? converted ?? t);
                }
        return result;
    }

    // ---- printing -----------------------------------------------------------------------------------------

    /// <summary>A one-line description of this layer's settings, e.g. "3, 6, kernel_size=(5, 5)".</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>The module tree, as PyTorch prints it.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(GetType().Name).Append('(').Append(ExtraRepr());
        if (_moduleNames.Count > 0)
        {
            sb.Append('\n');
            foreach (var n in _moduleNames)
                sb.Append("  (").Append(n).Append("): ").Append(_modules[n].ToString().Replace("\n", "\n  ")).Append('\n');
        }
        return sb.Append(')').ToString();
    }

    /// <summary>
    /// A table of every leaf layer's output shape, parameters, multiply-accumulates and receptive field for an input
    /// of <paramref name="inputShape"/> (one pass on random data in evaluation mode; see <see cref="ModelInspector"/>).
    /// </summary>
    public string Summary(long[] inputShape, DType dtype = DType.Float32) => ModelInspector.Inspect(this, inputShape, dtype).Format();

    /// <summary>Releases every parameter and buffer of this module and its descendants.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var p in _params.Values) p?.Dispose();
        foreach (var b in _buffers.Values) b?.Dispose();
        foreach (var m in _modules.Values) m.Dispose();
        GC.SuppressFinalize(this);
    }
}
