namespace Engine.Nn;

/// <summary>Runs its children in order; they are named "0", "1", … (or by the names given).</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    /// <summary>Children named by position.</summary>
    public Sequential(params Module[] layers)
    {
        foreach (var l in layers) Append(l);
    }

    /// <summary>Named children.</summary>
    public Sequential(params (string Name, Module Module)[] layers)
    {
        foreach (var (n, m) in layers) { RegisterModule(n, m); _layers.Add(m); }
    }

    /// <summary>Adds a layer at the end, named by its position.</summary>
    public Sequential Append(Module layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        return this;
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var l in _layers) x = l.Call(x);
        return x;
    }
}

/// <summary>A list of modules registered as children "0", "1", …; it has no Forward of its own.</summary>
public sealed class ModuleList : Module, IReadOnlyList<Module>
{
    private readonly List<Module> _items = [];

    /// <summary>Creates the list.</summary>
    public ModuleList(params Module[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends a module.</summary>
    public void Add(Module m)
    {
        RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m);
        _items.Add(m);
    }

    /// <inheritdoc/>
    public Module this[int index] => _items[index];
    /// <inheritdoc/>
    public int Count => _items.Count;
    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => _items.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
