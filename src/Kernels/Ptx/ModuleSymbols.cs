namespace Engine.Kernels.Ptx;

/// <summary>
/// What every kernel of a module shares, worked out once per module rather than once per kernel (which made loading
/// quadratic in the number of kernels): the module's variables by name, its functions, the call graph with its
/// recursion check, and which function bodies some kernel reaches.
/// </summary>
internal sealed class ModuleSymbols
{
    public ModuleSyntax Syntax { get; }
    public IReadOnlyList<VarDecl> Globals { get; }
    public PtxLimits Limits { get; }
    public Dictionary<string, int> GlobalIndex { get; } = [];
    public Dictionary<string, VarDecl> Shared { get; } = [];

    /// <summary>Each .func by name: its definition, or its declaration while it has no body.</summary>
    public Dictionary<string, FunctionSyntax> Funcs { get; } = [];

    private readonly Dictionary<string, int> _order = [];               // declaration order of Funcs
    private readonly Dictionary<string, List<string>> _callees = [];    // defined functions each body calls
    private readonly HashSet<string> _reached = [];

    public ModuleSymbols(ModuleSyntax m, IReadOnlyList<VarDecl> globals, PtxLimits limits)
    {
        Syntax = m;
        Globals = globals;
        Limits = limits;
        for (int i = 0; i < globals.Count; i++) GlobalIndex[globals[i].Name] = i;
        foreach (var v in m.Variables)
            if (v.Space == StateSpace.Shared && (!Shared.TryAdd(v.Name, v) || GlobalIndex.ContainsKey(v.Name)))
                throw new PtxException(v.Line, v.Col, ".shared", $"'{v.Name}' is declared twice");
        foreach (var f in m.Functions)
        {
            if (f.IsEntry) continue;
            if (Funcs.TryGetValue(f.Name, out var prev))
            {
                if (prev.HasBody && f.HasBody) throw new PtxException(f.Line, f.Col, ".func", $"function '{f.Name}' is defined twice");
                if (!f.HasBody) continue;
            }
            Funcs[f.Name] = f;
            _order.TryAdd(f.Name, _order.Count);
        }
        foreach (var f in Funcs.Values)
            if (f.HasBody) _callees[f.Name] = CalleesOf(f);
        CheckNoRecursion();
    }

    /// <summary>The defined functions <paramref name="f"/> calls directly (each once).</summary>
    public List<string> CalleesOf(FunctionSyntax f)
    {
        var seen = new HashSet<string>();
        var list = new List<string>();
        foreach (var st in f.Body)
            if (st is InstructionSyntax { Mnemonic: "call" } ins)
                foreach (var o in ins.Operands)
                    if (o.Kind == OperandKind.Name && Funcs.TryGetValue(o.Name, out var g) && g.HasBody && seen.Add(o.Name)) list.Add(o.Name);
        return list;
    }

    /// <summary>Every defined function reachable from <paramref name="roots"/> (roots included), in declaration order; marks them reached.</summary>
    public List<FunctionSyntax> Closure(IEnumerable<string> roots)
    {
        var seen = new HashSet<string>();
        var work = new Stack<string>();
        foreach (var r in roots)
            if (seen.Add(r)) work.Push(r);
        while (work.Count > 0)
            foreach (var c in _callees[work.Pop()])
                if (seen.Add(c)) work.Push(c);
        var list = new List<FunctionSyntax>(seen.Count);
        foreach (var n in seen) list.Add(Funcs[n]);
        list.Sort((a, b) => _order[a.Name].CompareTo(_order[b.Name]));
        _reached.UnionWith(seen);
        return list;
    }

    /// <summary>Defined functions no kernel compiled so far calls (their bodies still have to be checked once).</summary>
    public List<string> Unreached()
    {
        var list = new List<string>();
        foreach (var f in Funcs.Values)
            if (f.HasBody && !_reached.Contains(f.Name)) list.Add(f.Name);
        return list;
    }

    /// <summary>Rejects call cycles. Iterative depth-first search, so a long call chain cannot overflow the stack.</summary>
    private void CheckNoRecursion()
    {
        var state = new Dictionary<string, byte>();     // 1: on the current path, 2: done
        var path = new List<(string Name, int Next)>();
        foreach (var start in _callees.Keys)
        {
            if (state.ContainsKey(start)) continue;
            state[start] = 1;
            path.Add((start, 0));
            while (path.Count > 0)
            {
                var (name, next) = path[^1];
                var callees = _callees[name];
                if (next == callees.Count)
                {
                    state[name] = 2;
                    path.RemoveAt(path.Count - 1);
                    continue;
                }
                path[^1] = (name, next + 1);
                string c = callees[next];
                if (!state.TryGetValue(c, out byte s))
                {
                    state[c] = 1;
                    path.Add((c, 0));
                }
                else if (s == 1)
                {
                    var fs = Funcs[c];
                    var cycle = path.Select(p => p.Name).SkipWhile(p => p != c).ToList();
                    // A long cycle is named by its ends, so the message stays short.
                    string shown = cycle.Count <= 8 ? string.Join(" -> ", cycle)
                        : $"{string.Join(" -> ", cycle.Take(4))} -> ({cycle.Count - 8} more) -> {string.Join(" -> ", cycle.Skip(cycle.Count - 4))}";
                    throw new PtxException(fs.Line, fs.Col, ".func", $"recursive call cycle {shown} -> {c} is not supported");
                }
            }
        }
    }
}
