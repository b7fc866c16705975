using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// A layer of an <see cref="InceptionNet"/>, in registration order: a body layer, or (with <paramref name="AuxTap"/>) an
/// auxiliary head fed by the output of the body layer named <paramref name="AuxTap"/>, whose loss counts
/// <paramref name="AuxWeight"/> times.
/// </summary>
public sealed record InceptionLayer(string Name, Module Module, string? AuxTap = null, double AuxWeight = 0);

/// <summary>
/// GoogLeNet (Szegedy et al. 2014) and Inception v3 (Szegedy et al. 2015) in torchvision's layout: a body of
/// stem convolutions, pools and <see cref="InceptionBlock"/>s, global average pooling, <c>dropout</c> and <c>fc</c>, plus
/// auxiliary classifiers tapping intermediate features (GoogLeNet's <c>aux1</c> after inception4a and <c>aux2</c> after
/// inception4d, weight 0.3 each; Inception v3's <c>AuxLogits</c> after Mixed_6e, weight 0.4). The heads run only in
/// training mode through <see cref="ForwardWithAuxiliary"/>; <see cref="Forward"/> always returns the main logits.
/// The architectures themselves are the tables in <see cref="InceptionTables"/>.
/// </summary>
public sealed class InceptionNet : Module, IAuxiliaryLogits
{
    private readonly List<(string Name, Module Layer)> _body = [];
    private readonly List<(string Name, Module Head, int Tap, double Weight)> _aux = [];
    private readonly AdaptiveAvgPool2d _avgpool;
    private readonly Dropout _dropout;
    private readonly Linear _fc;

    /// <summary>Builds the network from its layers, then the classifier (<c>avgpool</c>, <c>dropout</c>, <c>fc</c> from <paramref name="features"/> channels).</summary>
    public InceptionNet(IEnumerable<InceptionLayer> layers, long features, int numClasses, double dropout, Generator? generator = null)
    {
        foreach (var l in layers)
        {
            RegisterModule(l.Name, l.Module);
            if (l.AuxTap is null) { _body.Add((l.Name, l.Module)); continue; }
            int tap = _body.FindIndex(b => b.Name == l.AuxTap);
            if (tap < 0) throw new ArgumentValueException("inception", $"auxiliary head {l.Name} taps unknown layer {l.AuxTap}");
            _aux.Add((l.Name, l.Module, tap, l.AuxWeight));
        }
        _aux.Sort((a, b) => a.Tap.CompareTo(b.Tap)); // nearest the input first
        _avgpool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        _dropout = RegisterModule("dropout", new Dropout(dropout, generator));
        _fc = RegisterModule("fc", new Linear(features, numClasses, generator: generator));
    }

    /// <summary>The auxiliary heads' names, nearest the input first (empty when built without them).</summary>
    public IReadOnlyList<string> AuxiliaryHeads => [.. _aux.Select(a => a.Name)];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Run(input, null);

    /// <inheritdoc/>
    public (Tensor Logits, IReadOnlyList<AuxiliaryLogits> Auxiliary) ForwardWithAuxiliary(Tensor input)
    {
        if (!Training || _aux.Count == 0) return (Run(input, null), []);
        var aux = new List<AuxiliaryLogits>();
        return (Run(input, aux), aux);
    }

    private Tensor Run(Tensor x, List<AuxiliaryLogits>? aux)
    {
        for (int i = 0; i < _body.Count; i++)
        {
            x = _body[i].Layer.Call(x);
            if (aux is null) continue;
            foreach (var (name, head, tap, weight) in _aux)
                if (tap == i) aux.Add(new AuxiliaryLogits(name, head.Call(x), weight));
        }
        x = _avgpool.Call(x).Flatten(1);
        return _fc.Call(_dropout.Call(x));
    }

    /// <summary>The registered variants.</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
    [
        new("googlenet", ModelFamily.Inception, 224, 15,
            "Szegedy et al. 2014, Going deeper with convolutions (GoogLeNet, torchvision layout: BatchNorm, 3x3 in branch3)",
            InceptionTables.GoogLeNet),
        new("inception_v3", ModelFamily.Inception, 299, 75,
            "Szegedy et al. 2015, Rethinking the Inception architecture for computer vision (Inception v3)",
            InceptionTables.InceptionV3) { AuxMinSize = 299 },
    ];
}
