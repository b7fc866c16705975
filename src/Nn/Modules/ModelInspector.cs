using System.Globalization;
using System.Text;
using Engine.Kernels;

namespace Engine.Nn;

/// <summary>
/// The receptive field of one spatial dim of a feature map, in input pixel indices (Araujo, Norris &amp; Sim,
/// "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019): feature 0 sees input pixels
/// <see cref="First"/> … <see cref="Last"/> (negative or past the edge where it reaches into padding), and
/// feature i sees the same span moved by i·<see cref="Jump"/>.
/// </summary>
/// <param name="First">First input index seen by feature 0 (u in Araujo et al.).</param>
/// <param name="Last">Last input index seen by feature 0 (v).</param>
/// <param name="Jump">Input pixels between neighbouring features (the product of the strides so far).</param>
public readonly record struct ReceptiveField(double First, double Last, double Jump)
{
    /// <summary>The input itself: every pixel sees only itself.</summary>
    public static ReceptiveField Input => new(0, 0, 1);

    /// <summary>Size r = Last − First + 1.</summary>
    public double Size => Last - First + 1;

    /// <summary>Centre of feature 0's field (start): start_0 = 0, the centre of pixel 0.</summary>
    public double Start => (First + Last) / 2;

    /// <summary>
    /// After a window of kernel k, stride s, padding p, dilation d: r_out = r_in + (k−1)·d·j_in,
    /// j_out = j_in·s, start_out = start_in + ((k−1)/2·d − p)·j_in.
    /// </summary>
    public ReceptiveField Through(int kernel, double stride, int padding, int dilation) =>
        new(First - padding * Jump, Last + ((kernel - 1) * dilation - padding) * Jump, Jump * stride);

    /// <summary>The union of two fields of the same grid (what a sum or concatenation of two paths sees).</summary>
    public ReceptiveField Union(ReceptiveField o) => new(Math.Min(First, o.First), Math.Max(Last, o.Last), Math.Max(Jump, o.Jump));
}

/// <summary>One row of a <see cref="ModelSummary"/>: one call of a leaf layer.</summary>
/// <param name="Name">Dotted module name ("features.0").</param>
/// <param name="Type">Layer type ("Conv2d").</param>
/// <param name="OutputShape">Shape of the layer's output.</param>
/// <param name="Parameters">Parameter elements of the layer.</param>
/// <param name="Macs">Multiply-accumulates of this call (0 for layers other than convolutions and linear layers); a 3-D convolution counts its whole t×h×w kernel.</param>
/// <param name="FieldH">Receptive field along H of the output, or null where the output has no spatial grid or it is unknown.</param>
/// <param name="FieldW">Receptive field along W, as <paramref name="FieldH"/>.</param>
public sealed record LayerSummary(string Name, string Type, long[] OutputShape, long Parameters, long Macs, ReceptiveField? FieldH, ReceptiveField? FieldW);

/// <summary>What <see cref="ModelInspector.Inspect"/> found: one row per leaf-layer call, and the totals.</summary>
/// <param name="InputShape">The input shape inspected (batch included).</param>
/// <param name="Layers">Leaf-layer calls in execution order.</param>
/// <param name="Parameters">Parameter elements of the whole model (each counted once).</param>
/// <param name="TrainableParameters">Of those, the ones that require grad.</param>
/// <param name="Macs">Total multiply-accumulates of the layers.</param>
public sealed record ModelSummary(long[] InputShape, IReadOnlyList<LayerSummary> Layers, long Parameters, long TrainableParameters, long Macs)
{
    /// <summary>The table torchinfo-style: layer, output shape, parameters, MACs and receptive field, then the totals.</summary>
    public string Format()
    {
        var inv = CultureInfo.InvariantCulture;
        string[] head = ["Layer", "Output shape", "Params", "MACs", "RF", "Jump", "Start"];
        var rows = Layers.Select(l => new[]
        {
            $"{l.Name} ({l.Type})", ShapeUtil.Format(l.OutputShape), l.Parameters.ToString("N0", inv), l.Macs.ToString("N0", inv),
            Field(l, f => f.Size), Field(l, f => f.Jump), Field(l, f => f.Start),
        }).ToList();
        var widths = head.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(string[] cells)
        {
            for (int i = 0; i < cells.Length; i++)
                sb.Append(i == 0 ? "" : "  ").Append(i <= 1 ? cells[i].PadRight(widths[i]) : cells[i].PadLeft(widths[i]));
            sb.Append('\n');
        }
        int total = widths.Sum() + 2 * (widths.Length - 1);
        Line(head);
        sb.Append(new string('-', total)).Append('\n');
        foreach (var r in rows) Line(r);
        sb.Append(new string('-', total)).Append('\n');
        sb.Append(inv, $"Input shape: {ShapeUtil.Format(InputShape)}\n");
        sb.Append(inv, $"Total parameters: {Parameters:N0} (trainable {TrainableParameters:N0})\n");
        sb.Append(inv, $"Total MACs: {Macs:N0} ({Abbreviate(Macs)}); convolutions and linear layers only, as torchinfo's Mult-Adds\n");
        sb.Append("RF: receptive field size in input pixels (H×W when they differ); Jump: input pixels between neighbouring outputs; Start: centre of output 0's field (pixel 0's centre is 0)");
        return sb.ToString();
    }

    /// <summary>A count with an SI suffix and three significant digits: 416K, 1.82G.</summary>
    public static string Abbreviate(long n)
    {
        var (v, unit) = n >= 1e9 ? (n / 1e9, "G") : n >= 1e6 ? (n / 1e6, "M") : n >= 1e3 ? (n / 1e3, "K") : (n, "");
        return (v >= 100 ? v.ToString("F0", CultureInfo.InvariantCulture) : v >= 10 ? v.ToString("F1", CultureInfo.InvariantCulture) : v.ToString("F2", CultureInfo.InvariantCulture)) + unit;
    }

    private static string Field(LayerSummary l, Func<ReceptiveField, double> part)
    {
        if (l.FieldH is not { } h || l.FieldW is not { } w) return l.OutputShape.Length is 4 or 5 ? "?" : "-";
        string a = Num(part(h)), b = Num(part(w));
        return a == b ? a : $"{a}×{b}";
    }

    private static string Num(double v) => Math.Abs(v - Math.Round(v)) < 1e-9 ? Math.Round(v).ToString(CultureInfo.InvariantCulture) : v.ToString("0.##", CultureInfo.InvariantCulture);
}

/// <summary>
/// Inspects a network with one forward pass (evaluation mode, modes restored afterwards): per leaf-layer call (and per
/// <see cref="DeformConv2d"/> call, after its offset predictor's row) the
/// output shape, parameters, multiply-accumulates and receptive field.
/// <para>
/// MACs: a convolution (deformable ones included) costs output elements × in/groups × kernel volume, a linear layer output elements × in
/// features; every other layer (batch norm, pooling, activations) counts 0, as torchinfo's "Mult-Adds".
/// </para>
/// <para>
/// Receptive fields follow the autograd graph of the pass (the input is made to require grad), so branches are
/// handled soundly: convolutions and poolings (modules or <see cref="Functional"/> calls) record their window on
/// their graph node (<see cref="GradNode.Window"/>) and move the field by the window rule of
/// <see cref="ReceptiveField.Through"/>; every other op (residual add, concatenation, multiplication by an SE
/// scale, reshapes) gives the union of its inputs' fields: feature 0 sees what any input's feature 0 sees, so the
/// size is at least the maximum over the paths, and larger when the paths' fields are not centred alike (Araujo et
/// al.'s rule for multi-path networks). A field stays defined while the last two dims of a tensor are the grid it
/// was computed for (or broadcast from a 1×1 grid); an op without a window that changes that grid (flatten,
/// interpolation, cropping, padding by a tensor op) makes it unknown ("?"), and rows whose output is not 4-D show "-".
/// For a video model's 5-D maps [N, C, T, H, W] the fields are those along H and W (the last two dims of 3-D windows).
/// Adaptive pooling counts as its largest window with stride input/output. Layers that the pass does not reach (the
/// auxiliary heads of GoogLeNet / Inception v3 in evaluation mode) have no row; their parameters are in the totals.
/// </para>
/// </summary>
public static class ModelInspector
{
    /// <summary>
    /// Runs <paramref name="model"/> once on random data of <paramref name="inputShape"/> (batch included) on the
    /// device of its parameters (or <paramref name="device"/>) and returns the per-layer table.
    /// </summary>
    public static ModelSummary Inspect(Module model, long[] inputShape, DType dtype = DType.Float32, Device? device = null)
    {
        var calls = new List<(string Name, Module Module, Tensor Output)>();
        var hooks = new List<IDisposable>();
        var modes = model.NamedModules().Select(m => (m.Module, m.Module.Training)).ToList();
        foreach (var (name, m) in model.NamedModules())
        {
            if (m.Children().Any() && m is not DeformConv2d) continue;   // a deformable conv is a layer though it owns its offset predictor
            hooks.Add(m.RegisterForwardHook((mod, _, y) => calls.Add((name, mod, y))));
        }
        try
        {
            model.Eval();
            using var scope = Tensor.NewDisposeScope();
            using var grad = GradMode.Enable();
            var dev = device ?? model.Parameters().FirstOrDefault()?.Device ?? Device.Cpu;
            var x = Tensor.Randn(inputShape, dtype, new Generator(0), dev).RequiresGrad_();
            model.Call(x);
            var fields = new FieldTracker(x);
            var layers = calls.Select(c =>
            {
                var f = c.Output.Rank is 4 or 5 ? fields.Of(c.Output) : null;
                return new LayerSummary(c.Name, c.Module.GetType().Name, c.Output.Shape.ToArray(), c.Module.ParameterCount(), Macs(c.Module, c.Output), f?.H, f?.W);
            }).ToList();
            return new ModelSummary([.. inputShape], layers, model.ParameterCount(), model.ParameterCount(onlyTrainable: true), layers.Sum(l => l.Macs));
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            // Train(bool) recurses; in pre-order every module's own call comes after its parent's, so each ends as it was.
            foreach (var (m, training) in modes) m.Train(training);
        }
    }

    /// <summary>Multiply-accumulates of one call of a convolution or linear layer producing <paramref name="y"/>; 0 for others.</summary>
    public static long Macs(Module layer, Tensor y) => layer switch
    {
        Conv2d c => y.NumEl * c.Weight.NumEl / c.Weight.Size(0),
        Conv3d c => y.NumEl * c.Weight.NumEl / c.Weight.Size(0),
        DeformConv2d c => y.NumEl * c.Weight.NumEl / c.Weight.Size(0),   // its GEMM; the bilinear sampling is not a MAC
        Linear l => y.NumEl * l.Weight.Size(1),
        _ => 0,
    };

    // Receptive fields of the tensors of one pass, from the autograd graph (see the class comment).
    private sealed class FieldTracker(Tensor input)
    {
        // Null value: no field (parameters, constants); Unknown: derived from the input but through an op that moved the grid.
        private sealed record Field(long GridH, long GridW, ReceptiveField H, ReceptiveField W);
        private static readonly Field Unknown = new(-1, -1, default, default);
        private readonly Dictionary<Tensor, Field?> _memo = new(ReferenceEqualityComparer.Instance);

        public (ReceptiveField H, ReceptiveField W)? Of(Tensor t)
        {
            var f = Resolve(t);
            return f is null || ReferenceEquals(f, Unknown) ? null : (f.H, f.W);
        }

        private Field? Resolve(Tensor root)
        {
            var stack = new Stack<Tensor>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var t = stack.Peek();
                if (_memo.ContainsKey(t)) { stack.Pop(); continue; }
                if (ReferenceEquals(t, input)) { _memo[t] = Grid(t) is var (h, w) ? new Field(h, w, ReceptiveField.Input, ReceptiveField.Input) : Unknown; stack.Pop(); continue; }
                if (t.GradFn is not { } node) { _memo[t] = null; stack.Pop(); continue; }
                var pending = node.Inputs.Where(i => i is not null && !_memo.ContainsKey(i)).ToList();
                if (pending.Count > 0) { foreach (var i in pending) stack.Push(i!); continue; }
                _memo[t] = Combine(t, node);
                stack.Pop();
            }
            return _memo[root];
        }

        private static (long H, long W)? Grid(Tensor t) => t.Rank >= 2 ? (t.Size(t.Rank - 2), t.Size(t.Rank - 1)) : null;

        private Field? Combine(Tensor output, GradNode node)
        {
            var grid = Grid(output);
            if (node.Window is { } win)
            {
                // The window applies to the first input (the data; the others are weights and bias).
                var f = node.Inputs[0] is { } x ? _memo[x] : null;
                if (f is null || ReferenceEquals(f, Unknown) || grid is null || win.Kernel.Length < 2) return f is null ? null : Unknown;
                int dh = win.Kernel.Length - 2, dw = win.Kernel.Length - 1;
                return new Field(grid.Value.H, grid.Value.W,
                    f.H.Through(win.Kernel[dh], win.Stride[dh], win.Padding[dh], win.Dilation[dh]),
                    f.W.Through(win.Kernel[dw], win.Stride[dw], win.Padding[dw], win.Dilation[dw]));
            }
            var ins = node.Inputs.Where(i => i is not null).Select(i => _memo[i!]).Where(f => f is not null).ToList();
            if (ins.Count == 0) return null;
            if (ins.Any(f => ReferenceEquals(f, Unknown))) return Unknown;
            // Fields computed for a 1×1 grid (after global pooling) hold for every element however it is reshaped.
            if (ins.All(f => f!.GridH == 1 && f.GridW == 1))
                return ins.Aggregate((a, b) => new Field(1, 1, a!.H.Union(b!.H), a.W.Union(b.W)));
            if (grid is null) return Unknown;
            var (gh, gw) = grid.Value;
            if (ins.Any(f => f!.GridH != gh && f.GridH != 1 || f!.GridW != gw && f.GridW != 1)) return Unknown;
            // Jumps come from the inputs on the output's grid; broadcast (1×1) inputs only widen the span.
            var onGrid = ins.Where(f => f!.GridH == gh && f.GridW == gw).ToList();
            if (onGrid.Count == 0) return Unknown;
            var h = onGrid.Select(f => f!.H).Aggregate((a, b) => a.Union(b));
            var w = onGrid.Select(f => f!.W).Aggregate((a, b) => a.Union(b));
            foreach (var f in ins.Except(onGrid))
            {
                h = new ReceptiveField(Math.Min(h.First, f!.H.First), Math.Max(h.Last, f.H.Last), h.Jump);
                w = new ReceptiveField(Math.Min(w.First, f.W.First), Math.Max(w.Last, f.W.Last), w.Jump);
            }
            return new Field(gh, gw, h, w);
        }
    }
}
