using System.Diagnostics;
using System.Text;
using Engine.Kernels.Gpu;
using Engine.Kernels.Ptx;
using static Engine.Tests.Ptx.PtxHarness;

namespace Engine.Tests.Ptx;

/// <summary>
/// Hostile PTX text is rejected with a typed error naming the limit or the size, quickly and without exhausting the
/// stack or memory: deep nesting, overflowing array sizes, absurd register counts, many kernels.
/// </summary>
public class PtxLimitTests
{
    private static PtxLimitException LimitError(string body, string limit, PtxLimits? limits = null)
    {
        var e = Assert.Throws<PtxLimitException>(() => PtxModule.Load(Header + body, limits ?? PtxLimits.Default))!;
        Assert.That(e.Limit, Is.EqualTo(limit), e.Message);
        Assert.That(e.Message, Does.Contain("PtxLimits." + limit));
        return e;
    }

    [Test]
    public void DeeplyNestedInitialisersOperandsAndScopesAreTypedErrors()
    {
        const int deep = 200_000;   // far beyond what recursion on the default stack survives
        string init = new string('{', deep) + "1" + new string('}', deep);
        var e = LimitError($".global .u32 g[1] = {init};\n", nameof(PtxLimits.MaxNestingDepth));
        Assert.That((e.Line, e.Column), Is.EqualTo((5, 21 + PtxLimits.Default.MaxNestingDepth)), "names the brace that is one too deep");

        string vec = new string('{', deep) + "%r1" + new string('}', deep);
        LimitError($".visible .entry k()\n{{\n .reg .b32 %r1;\n mov.b32 {vec}, 0;\n}}\n", nameof(PtxLimits.MaxNestingDepth));
        string call = new string('(', deep) + new string(')', deep);
        LimitError($".visible .entry k()\n{{\n call f, {call};\n}}\n", nameof(PtxLimits.MaxNestingDepth));
        string scopes = new string('{', deep) + new string('}', deep);
        LimitError($".visible .entry k()\n{{\n{scopes}\n ret;\n}}\n", nameof(PtxLimits.MaxNestingDepth));
    }

    [Test]
    public void NestingWithinTheLimitLoads()
    {
        var m = Load(".global .u32 g[4] = {{1, 2}, {{3}, 4}};\n.visible .entry k()\n{\n {\n  {\n   ret;\n  }\n }\n}\n");
        using var dev = new EmulatedDevice();
        Assert.That(dev.Download<uint>(dev.GetGlobal(m, "g")), Is.EqualTo(new uint[] { 1, 2, 3, 4 }));
        var shallow = PtxLimits.Default with { MaxNestingDepth = 2 };
        Assert.DoesNotThrow(() => PtxModule.Load(Header + ".global .u32 g[2] = {{1}, 2};\n", shallow));
        LimitError(".global .u32 g[2] = {{{1}}, 2};\n", nameof(PtxLimits.MaxNestingDepth), shallow);
    }

    [Test]
    public void ArraySizesThatOverflowAreTypedErrors()
    {
        // Sizes whose byte count overflows 64 bits, or wraps to zero or a small number in 32 or 64 bits.
        foreach (var decl in new[]
        {
            ".shared .b64 s[2305843009213693952];",         // 2^61 * 8 = 2^64: wraps to 0
            ".shared .b8 s[4294967296][4294967296];",       // 2^64
            ".global .b32 g[4611686018427387905];",        // (2^62 + 1) * 4 wraps to 4
            ".global .b8 g[18446744073709551615];",        // -1 as a signed size
        })
        {
            var e = Assert.Throws(Is.InstanceOf<PtxException>(), () => PtxModule.Load(Header + decl + "\n"))!;
            Assert.That(e.Message, Does.Contain("too large").Or.Contain("must be positive"), decl);
        }
        var body = ".visible .entry k()\n{\n {0}\n ret;\n}\n";
        LimitError(body.Replace("{0}", ".local .b8 l[2147483648];"), nameof(PtxLimits.MaxLocalBytesPerThread));
        LimitError(body.Replace("{0}", ".local .b64 l[65536]; .local .b64 m[65536];"), nameof(PtxLimits.MaxLocalBytesPerThread));
        LimitError(body.Replace("{0}", ".param .b8 p[4294967296];"), nameof(PtxLimits.MaxLocalBytesPerThread));
        LimitError(body.Replace("{0}", ".shared .b8 s[200000];"), nameof(PtxLimits.MaxStaticSharedBytes));
        LimitError(body.Replace("{0}", ".shared .align 4294967296 .b8 s[4];"), nameof(PtxLimits.MaxAlignment));
        LimitError(".global .b8 g[1073741824];\n", nameof(PtxLimits.MaxGlobalBytes));
        LimitError(".global .b8 g[40000000];\n.const .b8 c[40000000];\n", nameof(PtxLimits.MaxGlobalBytes));
        var param = Assert.Throws<PtxException>(() => Load(".visible .entry k(.param .align 8 .b8 p[4294967297])\n{\n ret;\n}\n"))!;
        Assert.That(param.Message, Does.Contain("the limit is 4096"));
        Assert.That(Assert.Throws<PtxException>(() => Load(body.Replace("{0}", ".shared .align 3 .b8 s[4];")))!.Message, Does.Contain("power of two"));
    }

    [Test]
    public void RegisterCountsAreLimitedBeforeTheyCostTimeOrMemory()
    {
        var sw = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = LimitError(".visible .entry k()\n{\n .reg .b32 %r<100000000>;\n ret;\n}\n", nameof(PtxLimits.MaxRegistersPerKernel));
        Assert.That((e.Line, e.Instruction), Is.EqualTo((7, ".reg")));
        // A 400-byte text of declarations each under the limit, together over it.
        var sb = new StringBuilder(".visible .entry k()\n{\n");
        for (int i = 0; i < 16; i++) sb.Append($" .reg .b32 %r{(char)('a' + i)}<16000>;\n");
        sb.Append(" ret;\n}\n");
        Assert.That(sb.Length, Is.LessThan(450));
        LimitError(sb.ToString(), nameof(PtxLimits.MaxRegistersPerKernel));
        // Many kernels each under the per-kernel limit: the module's total is limited too.
        sb.Clear();
        for (int k = 0; k < 20; k++) sb.Append($".visible .entry k{k}()\n{{\n .reg .b32 %r<16000>;\n ret;\n}}\n");
        LimitError(sb.ToString(), nameof(PtxLimits.MaxRegistersPerModule));
        Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(5), "rejected without building the registers (timing noisy on shared CI cores)");
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(256L << 20));
        // The limit is configurable, for a module and for a runtime's modules.
        var more = PtxLimits.Default with { MaxRegistersPerKernel = 40_000 };
        string twenty = Header + ".visible .entry k()\n{\n .reg .b32 %r<20000>;\n ret;\n}\n";
        Assert.That(PtxModule.Load(twenty, more).GetKernel("k").RegisterCount, Is.EqualTo(20000));
        using var runtime = new EmulatedRuntime(new EmulatedDevice()) { Limits = PtxLimits.Default with { MaxRegistersPerKernel = 100 } };
        Assert.That(Assert.Throws<PtxLimitException>(() => runtime.LoadModule("twenty", twenty))!.LimitValue, Is.EqualTo(100));
    }

    [Test]
    public void InstructionModuleSizeAndStatementLimitsAreTypedErrors()
    {
        var sb = new StringBuilder(".visible .entry k()\n{\n .reg .b32 %r1;\n");
        for (int i = 0; i < 101; i++) sb.Append(" mov.b32 %r1, 1;\n");
        sb.Append(" ret;\n}\n");
        var e = LimitError(sb.ToString(), nameof(PtxLimits.MaxInstructionsPerKernel), PtxLimits.Default with { MaxInstructionsPerKernel = 100 });
        Assert.That(e.Line, Is.EqualTo(8 + 100), "names the first instruction over the limit");
        LimitError(sb.ToString(), nameof(PtxLimits.MaxModuleChars), PtxLimits.Default with { MaxModuleChars = 1000 });
        // One function called by many kernels: each kernel holds a copy, so the module's total is bounded.
        sb.Clear();
        sb.Append(".func f()\n{\n .reg .b32 %r1;\n");
        for (int i = 0; i < 50; i++) sb.Append(" mov.b32 %r1, 1;\n");
        sb.Append(" ret;\n}\n");
        for (int k = 0; k < 40; k++) sb.Append($".visible .entry k{k}()\n{{\n call f;\n ret;\n}}\n");
        Assert.DoesNotThrow(() => PtxModule.Load(Header + sb));
        LimitError(sb.ToString(), nameof(PtxLimits.MaxStatementsPerModule), PtxLimits.Default with { MaxStatementsPerModule = 1000 });
        Assert.Throws<ArgumentValueException>(() => PtxModule.Load(Header, PtxLimits.Default with { MaxNestingDepth = 0 }));
    }

    [Test]
    public void EveryShippedAndGeneratedKernelPassesTheDefaultLimitsTenfold()
    {
        // A tenth of each default: the engine's own kernels stay clear of the limits by an order of magnitude.
        var d = PtxLimits.Default;
        var tenth = d with
        {
            MaxModuleChars = d.MaxModuleChars / 10, MaxRegistersPerKernel = d.MaxRegistersPerKernel / 10,
            MaxInstructionsPerKernel = d.MaxInstructionsPerKernel / 10, MaxStatementsPerModule = d.MaxStatementsPerModule / 10,
            MaxRegistersPerModule = d.MaxRegistersPerModule / 10, MaxStaticSharedBytes = d.MaxStaticSharedBytes / 10,
            MaxLocalBytesPerThread = d.MaxLocalBytesPerThread / 10, MaxGlobalBytes = d.MaxGlobalBytes / 10, MaxNestingDepth = d.MaxNestingDepth / 10,
        };
        var texts = EmbeddedPtx.Names.Select(n => (n, EmbeddedPtx.Text(n))).ToList();
        foreach (var kind in new[] { ReduceKind.Sum, ReduceKind.ArgMax })
            foreach (var mode in new[] { ReduceMode.Thread, ReduceMode.Warp, ReduceMode.Block })
                texts.Add(($"reduce {kind} {mode}", ReduceGen.Kernel(kind, ElemType.F64, ElemType.F64, mode, 1, 1, false)));
        texts.Add(("softmax_f64", SoftmaxGen.Kernel(false, true)));
        texts.Add(("gather", IndexPtxGen.Gather("gather", 4, 8, wide: true)));
        texts.AddRange(EmulatedRuntime.Shared.ModuleTexts.Select(kv => (kv.Key, kv.Value)));   // whatever earlier tests generated
        Assert.That(texts, Has.Count.GreaterThan(15));
        foreach (var (name, text) in texts)
            Assert.DoesNotThrow(() => PtxModule.Load(text, tenth), name);
    }

    private static string ManyKernels(int n)
    {
        // Each kernel calls its own function, so every kernel adds a .func too (the old per-kernel work over all functions).
        var sb = new StringBuilder(Header);
        for (int i = 0; i < n; i++)
            sb.Append($".func f{i}(.param .b32 x)\n{{\n ret;\n}}\n.visible .entry k{i}(.param .u64 p)\n{{\n .reg .b32 %r1;\n mov.b32 %r1, {i};\n call f{i}, (%r1);\n ret;\n}}\n");
        return sb.ToString();
    }

    /// <summary>Fastest of two loads, and the bytes the load allocated (a deterministic measure of its work).</summary>
    private static (double Seconds, long Bytes) MeasureLoad(string text)
    {
        double best = double.MaxValue;
        long bytes = 0;
        for (int r = 0; r < 2; r++)
        {
            GC.Collect();
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            var m = PtxModule.Load(text);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
            bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.That(m.KernelNames, Has.Count.EqualTo(text.Split(".entry").Length - 1));
        }
        return (best, bytes);
    }

    [Test]
    public void LoadingIsLinearInTheNumberOfKernels()
    {
        string small = ManyKernels(1000), large = ManyKernels(2000);
        PtxModule.Load(ManyKernels(100));           // warm up the JIT
        var (t1, b1) = MeasureLoad(small);
        var (t2, b2) = MeasureLoad(large);
        TestContext.Out.WriteLine($"1000 kernels: {t1 * 1e3:F1} ms, {b1 >> 20} MiB; 2000 kernels: {t2 * 1e3:F1} ms, {b2 >> 20} MiB (times noisy on shared cores)");
        Assert.That(t2, Is.LessThan(1.0), "2000 kernels load in well under a second");
        // Allocation is the work measure that timing noise on shared cores cannot blur: quadratic loading (every
        // kernel laying out every function) allocated about four times as much for twice the kernels.
        Assert.That((double)b2 / b1, Is.InRange(1.8, 2.3), "twice the kernels take twice the work");
    }

    [Test]
    public void ALongCallChainAndALongCycleDoNotRecurse()
    {
        const int n = 20_000;
        var sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.Append($".func f{i}()\n{{\n call f{(i + 1) % n};\n ret;\n}}\n");
        var e = Assert.Throws<PtxException>(() => Load(sb.ToString()))!;
        Assert.That(e.Message, Does.Contain("recursive call cycle f0 -> f1").And.Contain("more"));
        Assert.That(e.Message.Length, Is.LessThan(1000));
        // Without the cycle, a kernel calling the head of the chain loads with every function of it.
        sb.Replace($"call f0;", "ret;");
        sb.Append(".visible .entry k()\n{\n call f0;\n ret;\n}\n");
        Assert.That(PtxModule.Load(Header + sb).GetKernel("k").InstructionCount, Is.GreaterThan(2 * n));
    }
}
