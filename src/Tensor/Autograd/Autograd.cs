using Engine.Kernels;

namespace Engine;

/// <summary>The backward engine and the helpers ops use to record themselves.</summary>
internal static class Autograd
{
    /// <summary>
    /// Records <paramref name="result"/> as produced by op <paramref name="name"/> from <paramref name="inputs"/>
    /// when grad mode is on and any input requires grad. Returns <paramref name="result"/>. <paramref name="saved"/> lists
    /// every tensor the backward closure reads (inputs or the result, not its own temporaries): their versions are
    /// recorded now and checked before the closure runs, so one changed in place in between raises.
    /// </summary>
    public static Tensor Record(Tensor result, string name, Tensor?[] inputs, BackwardFn backward, Tensor?[]? saved = null)
    {
        if (OpTrace.IsActive) OpTrace.Add(name, inputs, result);
        if (!GradMode.IsEnabled) return result;
        bool any = false;
        var needed = new bool[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is { RequiresGrad: true }) { needed[i] = true; any = true; }
        if (!any) return result;
        var kept = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) if (needed[i]) kept[i] = inputs[i];
        result.GradFn = new GradNode(name, kept, needed, backward, saved);
        result.MarkRequiresGrad();
        return result;
    }

    /// <summary>Runs backward from <paramref name="root"/>.</summary>
    public static void Run(Tensor root, Tensor? gradient, bool retainGraph)
    {
        using var noGrad = GradMode.Disable();
        using var scope = new DisposeScope();
        var rootGrad = gradient ?? Tensor.OnesLike(root);
        if (root.IsLeaf) { Accumulate(root, rootGrad); return; }

        // Reverse post-order of the DAG: every node comes after all nodes that send it a gradient.
        var order = new List<GradNode>();
        var stack = new Stack<(GradNode node, bool expanded)>();
        var seen = new HashSet<GradNode>();
        stack.Push((root.GradFn!, false));
        while (stack.Count > 0)
        {
            var (node, expanded) = stack.Pop();
            if (expanded) { order.Add(node); continue; }
            if (!seen.Add(node)) continue;
            stack.Push((node, true));
            foreach (var input in node.Inputs)
            {
                if (input?.GradFn is { } next && !seen.Contains(next)) stack.Push((next, false));
            }
        }
        order.Reverse();

        // Gradients waiting for their node, and how many of those slots hold each tensor object (one object can
        // flow to several inputs). A gradient is disposed as soon as nothing waits for it, so the pass frees memory
        // as it goes instead of holding every intermediate gradient until the end.
        var grads = new Dictionary<GradNode, Tensor> { [root.GradFn!] = rootGrad };
        var holds = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance) { [rootGrad] = 1 };
        void Hold(Tensor t) => holds[t] = holds.GetValueOrDefault(t) + 1;
        void Release(Tensor t)
        {
            if (holds.TryGetValue(t, out int n) && n > 1) { holds[t] = n - 1; return; }
            holds.Remove(t);
            if (!ReferenceEquals(t, gradient)) t.Dispose();
        }
        foreach (var node in order)
        {
            if (!grads.Remove(node, out var g)) continue; // nothing flowed into this node
            var inputGrads = node.Apply(g);
            if (!retainGraph) node.Release();
            for (int i = 0; i < node.Inputs.Length; i++)
            {
                var input = node.Inputs[i];
                var ig = i < inputGrads.Length ? inputGrads[i] : null;
                if (input is null || ig is null) continue;
                if (!ig.ShapeSpan.SequenceEqual(input.ShapeSpan))
                    throw new ShapeException("backward", $"node '{node.Name}' returned a gradient of shape {ShapeUtil.Format(ig.ShapeSpan)} for an input of shape {ShapeUtil.Format(input.ShapeSpan)}");
                if (input.GradFn is { } next)
                {
                    if (grads.TryGetValue(next, out var acc))
                    {
                        var sum = acc.Add(ig);
                        Release(acc);
                        grads[next] = sum;
                        Hold(sum);
                    }
                    else
                    {
                        grads[next] = ig;
                        Hold(ig);
                    }
                }
                else Accumulate(input, ig);
            }
            Release(g);
            foreach (var ig in inputGrads)
                if (ig is not null && !holds.ContainsKey(ig) && !ReferenceEquals(ig, gradient)) ig.Dispose();
        }
    }

    private static void Accumulate(Tensor leaf, Tensor g)
    {
        if (!leaf.RequiresGrad) return;
        if (leaf.Grad is null || leaf.Grad.IsDisposed) leaf.Grad = g.Clone();
        else leaf.Grad.AddInPlaceUnchecked(g);
    }
}
