using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// A list of parameters trained with their own hyper-parameters (PyTorch's param_group), e.g. a pretrained
/// backbone at a low learning rate and a new head at a high one. Hyper-parameters left unset here are filled
/// in from the optimizer's defaults when the group is added to it; afterwards every hyper-parameter the
/// optimizer uses is set, and all of them stay mutable (a schedule changes <see cref="Lr"/> every step).
/// </summary>
public sealed class ParamGroup
{
    private double? _lr, _initialLr, _weightDecay, _momentum, _dampening, _eps, _alpha, _beta1, _beta2;
    private bool? _nesterov, _amsgrad, _centered;

    /// <summary>
    /// A group of <paramref name="parameters"/>; each hyper-parameter given here overrides the optimizer's
    /// default for this group (null: use the default). Optimizers ignore hyper-parameters they do not have.
    /// </summary>
    public ParamGroup(IEnumerable<Tensor> parameters, double? lr = null, double? weightDecay = null,
        double? momentum = null, double? dampening = null, bool? nesterov = null,
        (double Beta1, double Beta2)? betas = null, double? eps = null, bool? amsgrad = null,
        double? alpha = null, bool? centered = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Params = [.. parameters];
        _lr = lr; _weightDecay = weightDecay; _momentum = momentum; _dampening = dampening; _nesterov = nesterov;
        _beta1 = betas?.Beta1; _beta2 = betas?.Beta2; _eps = eps; _amsgrad = amsgrad; _alpha = alpha; _centered = centered;
    }

    /// <summary>The parameters, in order.</summary>
    public IReadOnlyList<Tensor> Params { get; }

    /// <summary>The learning rate now (schedules set it).</summary>
    public double Lr { get => Get(_lr, "lr"); set => _lr = value; }

    /// <summary>
    /// The learning rate the group had when it was added to its optimizer: the base that schedules scale
    /// (PyTorch's initial_lr).
    /// </summary>
    public double InitialLr { get => Get(_initialLr, "initial_lr"); set => _initialLr = value; }

    /// <summary>Weight decay: L2 added to the gradient (SGD, Adam, RMSprop) or decoupled (AdamW).</summary>
    public double WeightDecay { get => Get(_weightDecay, "weight_decay"); set => _weightDecay = value; }

    /// <summary>Momentum factor (SGD, RMSprop).</summary>
    public double Momentum { get => Get(_momentum, "momentum"); set => _momentum = value; }

    /// <summary>Dampening for momentum (SGD).</summary>
    public double Dampening { get => Get(_dampening, "dampening"); set => _dampening = value; }

    /// <summary>Nesterov momentum (SGD).</summary>
    public bool Nesterov { get => Get(_nesterov, "nesterov"); set => _nesterov = value; }

    /// <summary>Decay rates of the first and second moment estimates (Adam, AdamW).</summary>
    public (double Beta1, double Beta2) Betas
    {
        get => (Get(_beta1, "betas"), Get(_beta2, "betas"));
        set { _beta1 = value.Beta1; _beta2 = value.Beta2; }
    }

    /// <summary>Term added to the denominator for numerical stability (Adam, AdamW, RMSprop).</summary>
    public double Eps { get => Get(_eps, "eps"); set => _eps = value; }

    /// <summary>Use the maximum of past second moments (Adam, AdamW).</summary>
    public bool Amsgrad { get => Get(_amsgrad, "amsgrad"); set => _amsgrad = value; }

    /// <summary>Smoothing constant of the squared-gradient average (RMSprop).</summary>
    public double Alpha { get => Get(_alpha, "alpha"); set => _alpha = value; }

    /// <summary>Normalise by the estimated variance of the gradient rather than its second moment (RMSprop).</summary>
    public bool Centered { get => Get(_centered, "centered"); set => _centered = value; }

    /// <summary>
    /// True when the hyper-parameter named <paramref name="name"/> (PyTorch's key: "lr", "initial_lr",
    /// "weight_decay", "momentum", "dampening", "nesterov", "betas", "eps", "amsgrad", "alpha", "centered")
    /// is set.
    /// </summary>
    public bool Has(string name) => name switch
    {
        "lr" => _lr.HasValue,
        "initial_lr" => _initialLr.HasValue,
        "weight_decay" => _weightDecay.HasValue,
        "momentum" => _momentum.HasValue,
        "dampening" => _dampening.HasValue,
        "nesterov" => _nesterov.HasValue,
        "betas" => _beta1.HasValue && _beta2.HasValue,
        "eps" => _eps.HasValue,
        "amsgrad" => _amsgrad.HasValue,
        "alpha" => _alpha.HasValue,
        "centered" => _centered.HasValue,
        _ => false,
    };

    private static T Get<T>(T? v, string name) where T : struct =>
        v ?? throw new InvalidOperationException($"param_group: '{name}' is not set (a group gets its optimizer's defaults when it is added to the optimizer)");

    /// <summary>Sets every hyper-parameter that is unset here but set in <paramref name="defaults"/>.</summary>
    internal void FillFrom(ParamGroup defaults)
    {
        _lr ??= defaults._lr; _weightDecay ??= defaults._weightDecay; _momentum ??= defaults._momentum;
        _dampening ??= defaults._dampening; _nesterov ??= defaults._nesterov; _eps ??= defaults._eps;
        _amsgrad ??= defaults._amsgrad; _alpha ??= defaults._alpha; _centered ??= defaults._centered;
        if (!Has("betas")) { _beta1 = defaults._beta1; _beta2 = defaults._beta2; }
        _initialLr ??= _lr;
    }

    /// <summary>The hyper-parameters that are set, by PyTorch's names, plus the parameter count.</summary>
    internal JsonObject ToJson()
    {
        var o = new JsonObject();
        void Put(string k, double? v) { if (v.HasValue) o[k] = v.Value; }
        void PutB(string k, bool? v) { if (v.HasValue) o[k] = v.Value; }
        Put("lr", _lr); Put("initial_lr", _initialLr); Put("weight_decay", _weightDecay); Put("momentum", _momentum);
        Put("dampening", _dampening); PutB("nesterov", _nesterov);
        if (Has("betas")) o["betas"] = new JsonArray(_beta1!.Value, _beta2!.Value);
        Put("eps", _eps); PutB("amsgrad", _amsgrad); Put("alpha", _alpha); PutB("centered", _centered);
        o["params"] = Params.Count;
        return o;
    }

    /// <summary>
    /// Sets every hyper-parameter present in <paramref name="o"/> (written by <see cref="ToJson"/>). Every value is
    /// read and checked (kind, finiteness) before any is set, so a malformed object raises
    /// <see cref="ArgumentValueException"/> naming <paramref name="owner"/> and leaves the group unchanged. With
    /// <paramref name="apply"/> false it only checks.
    /// </summary>
    internal void LoadJson(JsonObject o, string owner, bool apply = true)
    {
        double? D(string k, double? old) => o[k] is null ? old : StateJson.Double(o, k, owner);
        bool? B(string k, bool? old) => o[k] is null ? old : StateJson.Value<bool>(o, k, owner, "true or false");
        var lr = D("lr", _lr); var initialLr = D("initial_lr", _initialLr); var weightDecay = D("weight_decay", _weightDecay);
        var momentum = D("momentum", _momentum); var dampening = D("dampening", _dampening); var nesterov = B("nesterov", _nesterov);
        var (beta1, beta2) = (_beta1, _beta2);
        if (o["betas"] is not null)
        {
            var b = StateJson.Doubles(o, "betas", owner);
            if (b.Length != 2) throw new ArgumentValueException(owner, $"the state's 'betas' has {b.Length} values, not 2");
            (beta1, beta2) = (b[0], b[1]);
        }
        var eps = D("eps", _eps); var amsgrad = B("amsgrad", _amsgrad); var alpha = D("alpha", _alpha); var centered = B("centered", _centered);
        if (!apply) return;
        // Everything read: assign.
        (_lr, _initialLr, _weightDecay, _momentum, _dampening, _nesterov) = (lr, initialLr, weightDecay, momentum, dampening, nesterov);
        (_beta1, _beta2, _eps, _amsgrad, _alpha, _centered) = (beta1, beta2, eps, amsgrad, alpha, centered);
    }
}
