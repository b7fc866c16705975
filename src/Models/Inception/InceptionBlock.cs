using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// An Inception module (Szegedy et al. 2014): parallel branches over the same input whose outputs are concatenated
/// along channels. Built from a table of <see cref="InceptionBranch"/> rows, so GoogLeNet's and Inception v3's block
/// kinds (A–E) are data; children are registered in table order, which is torchvision's order.
/// </summary>
public sealed class InceptionBlock : Module
{
    private readonly Module[][][] _branches; // branch → stage → layers applied side by side (one unless forked)

    /// <summary>Channels of the concatenated output.</summary>
    public long OutChannels { get; }

    /// <summary>Creates the block for <paramref name="inChannels"/> input channels.</summary>
    public InceptionBlock(long inChannels, IReadOnlyList<InceptionBranch> branches, Generator? generator = null)
    {
        _branches = new Module[branches.Count][][];
        for (int b = 0; b < branches.Count; b++)
        {
            var (name, steps) = (branches[b].Name, branches[b].Steps);
            long c = inChannels;
            var stages = new List<(Module[] Layers, string?[] Names)>();
            foreach (var step in steps)
            {
                switch (step)
                {
                    case ConvStep conv:
                        stages.Add(([new BasicConv2d(c, conv.Out, conv.Kernel, conv.Stride, conv.Padding, generator)], [conv.Name]));
                        c = conv.Out;
                        break;
                    case PoolStep p:
                        Module pool = p.Max ? new MaxPool2d(p.Kernel, p.Stride, p.Padding, ceilMode: p.CeilMode)
                            : new AvgPool2d(p.Kernel, p.Stride, p.Padding, p.CeilMode);
                        stages.Add(([pool], [null]));
                        break;
                    case ForkStep fork:
                        stages.Add(([.. fork.Parts.Select(f => new BasicConv2d(c, f.Out, f.Kernel, f.Stride, f.Padding, generator))],
                            [.. fork.Parts.Select(f => f.Name)]));
                        c = fork.Parts.Sum(f => f.Out);
                        break;
                    default:
                        throw new ArgumentValueException("inception", $"unknown step {step}");
                }
            }
            if (name is not null)
            {
                if (stages.Any(s => s.Layers.Length != 1)) throw new ArgumentValueException("inception", $"branch {name}: a named branch cannot fork");
                var layers = stages.Select(s => s.Layers[0]).ToArray();
                var wrapped = RegisterModule(name, layers.Length == 1 ? layers[0] : new Sequential(layers));
                _branches[b] = [[wrapped]];
            }
            else
            {
                // Pools stay unregistered (torchvision applies them functionally); convolutions are children by their own names.
                foreach (var (layers, names) in stages)
                    for (int i = 0; i < layers.Length; i++)
                        if (layers[i] is BasicConv2d)
                            RegisterModule(names[i] ?? throw new ArgumentValueException("inception", "a convolution of an unnamed branch needs a name"), layers[i]);
                _branches[b] = [.. stages.Select(s => s.Layers)];
            }
            OutChannels += c;
        }
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var outputs = new Tensor[_branches.Length];
        for (int b = 0; b < _branches.Length; b++)
        {
            var t = input;
            foreach (var stage in _branches[b])
                t = stage.Length == 1 ? stage[0].Call(t) : Tensor.Cat([.. stage.Select(m => m.Call(t))], 1);
            outputs[b] = t;
        }
        return Tensor.Cat(outputs, 1);
    }
}
