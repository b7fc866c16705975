using System.Diagnostics;
using System.Text;
using Engine.Kernels.Gpu;
using Engine.Kernels.Ptx;
using static Engine.Tests.Ptx.PtxHarness;

namespace Engine.Tests.Ptx;

/// <summary>
/// Seeded fuzzing of the emulator's input: mutated versions of the shipped and generated PTX (byte flips,
/// truncations, duplicated and dropped lines, huge numbers, deep nesting) either load or raise
/// <see cref="PtxException"/> (never another exception type, a hang or an emulator-internal failure), and launches
/// with bad configurations or arguments raise typed engine errors.
/// </summary>
public class PtxFuzzTests
{
    private static readonly string[] HugeNumbers =
    [
        "0", "-1", "2147483647", "2147483648", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "99999999999999999999999", "0xFFFFFFFFFFFFFFFF", "0x8000000000000000", "1e400", "0f7FC00000",
        "0d7FF0000000000000", "07777777777777777777777", "0b11111111111111111111111111111111111111111111111111111111111111111",
    ];

    private static readonly string[] Snippets =
    [
        ".reg .b32 %r<100000000>;", ".shared .b8 zz[4294967296];", ".local .b64 zz[1152921504606846976];", ".align 1073741824",
        ".global .u32 zz[2] = {{{{{{{{{{1}}}}}}}}}};", "{", "}", "(", ")", "[", "]", ";", ",", "@%p1", "call f, (", ".func f()",
        ".entry", ".param .b8 zz[99999999999];", "bra $L__BB0_1;", "$L__BB0_1:", "ret;", "exit;", "bar.sync 0;", ".extern .shared .b8 zz[];",
    ];

    private static List<(string Name, string Text)> Seeds()
    {
        // The hand-written modules one function at a time (with the module's header), so each load is small and fast.
        var seeds = new List<(string, string)>();
        foreach (var n in EmbeddedPtx.Names)
            foreach (var (i, chunk) in Functions(EmbeddedPtx.Text(n)).Index())
                seeds.Add(($"{n}#{i}", chunk));
        seeds.Add(("vadd", Header + PtxKernels.VectorAdd));
        seeds.Add(("block_sum", Header + PtxKernels.BlockSum()));
        seeds.Add(("warp_sum", Header + PtxKernels.WarpSum));
        seeds.Add(("histogram", Header + PtxKernels.Histogram));
        seeds.Add(("reduce", ReduceGen.Kernel(ReduceKind.ArgMax, ElemType.F32, ElemType.F32, ReduceMode.Block, 1, 1, false)));
        seeds.Add(("softmax_f64", SoftmaxGen.Kernel(true, false)));
        seeds.Add(("scatter_add", IndexPtxGen.ScatterAdd("scatter_add", 2, ElemType.F64, wide: false)));
        seeds.Add(("calls", Header + ".func (.param .b32 r) f(.param .b32 x)\n{\n .reg .b32 %r<2>;\n ld.param.b32 %r1, [x];\n st.param.b32 [r], %r1;\n ret;\n}\n" +
            ".global .u32 g[3] = {1, 2, 3};\n.visible .entry k(.param .u64 p)\n{\n .reg .b32 %r<3>;\n .reg .b64 %rd<2>;\n ld.param.u64 %rd1, [p];\n" +
            " mov.b32 %r1, 5;\n {\n  .param .b32 a;\n  .param .b32 b;\n  st.param.b32 [a], %r1;\n  call (b), f, (a);\n  ld.param.b32 %r2, [b];\n }\n" +
            " st.global.u32 [%rd1], %r2;\n ret;\n}\n"));
        return seeds;
    }

    /// <summary>The text before the first function, followed by each function (and what follows it up to the next one) in turn.</summary>
    private static IEnumerable<string> Functions(string text)
    {
        var starts = new List<int>();
        int pos = 0;
        foreach (var line in text.Split('\n'))
        {
            var t = line.TrimStart();
            if (t.StartsWith(".visible ", StringComparison.Ordinal) || t.StartsWith(".entry ", StringComparison.Ordinal) || t.StartsWith(".func ", StringComparison.Ordinal))
                starts.Add(pos);
            pos += line.Length + 1;
        }
        if (starts.Count == 0) { yield return text; yield break; }
        string header = text[..starts[0]];
        for (int i = 0; i < starts.Count; i++)
            yield return header + text[starts[i]..(i + 1 < starts.Count ? starts[i + 1] : text.Length)];
    }

    private static string Mutate(string text, Random rng, StringBuilder how)
    {
        int n = rng.Next(1, 4);
        for (int m = 0; m < n; m++)
        {
            int pos = text.Length == 0 ? 0 : rng.Next(text.Length);
            switch (rng.Next(9))
            {
                case 0: // byte flip
                {
                    if (text.Length == 0) break;
                    char c = (char)rng.Next(32, 127);
                    how.Append($"flip@{pos}={c}; ");
                    text = string.Concat(text.AsSpan(0, pos), c.ToString(), text.AsSpan(pos + 1));
                    break;
                }
                case 1: // truncation
                    how.Append($"cut@{pos}; ");
                    text = text[..pos];
                    break;
                case 2: // duplicated line(s)
                case 3: // dropped line
                case 4: // swapped lines
                {
                    var lines = text.Split('\n').ToList();
                    int i = rng.Next(lines.Count), j = rng.Next(lines.Count);
                    int kind = rng.Next(3);
                    if (kind == 0) { int times = rng.Next(1, 50); how.Append($"dup line {i} x{times}; "); lines.InsertRange(i, Enumerable.Repeat(lines[i], times)); }
                    else if (kind == 1) { how.Append($"drop line {i}; "); lines.RemoveAt(i); }
                    else { how.Append($"swap lines {i},{j}; "); (lines[i], lines[j]) = (lines[j], lines[i]); }
                    text = string.Join('\n', lines);
                    break;
                }
                case 5: // a number replaced by a huge or odd one
                {
                    int start = pos;
                    while (start < text.Length && !char.IsAsciiDigit(text[start])) start++;
                    if (start >= text.Length) break;
                    int end = start;
                    while (end < text.Length && char.IsAsciiLetterOrDigit(text[end])) end++;
                    string num = HugeNumbers[rng.Next(HugeNumbers.Length)];
                    how.Append($"number@{start}={num}; ");
                    text = string.Concat(text.AsSpan(0, start), num, text.AsSpan(end));
                    break;
                }
                case 6: // deep nesting
                {
                    int depth = rng.Next(2) == 0 ? rng.Next(1, 100) : rng.Next(1000, 5000);
                    string open = rng.Next(2) == 0 ? "{" : "(", close = open == "{" ? "}" : ")";
                    how.Append($"nest@{pos} {open}x{depth}; ");
                    text = string.Concat(text.AsSpan(0, pos), new StringBuilder().Insert(0, open, depth).Append('1').Insert(depth + 1, close, depth).ToString(), text.AsSpan(pos));
                    break;
                }
                case 7: // a hostile snippet inserted
                {
                    string s = Snippets[rng.Next(Snippets.Length)];
                    how.Append($"insert@{pos} '{s}'; ");
                    text = text.Insert(pos, " " + s + " ");
                    break;
                }
                default: // a token deleted
                {
                    int end = pos;
                    while (end < text.Length && !char.IsWhiteSpace(text[end])) end++;
                    how.Append($"delete@{pos}..{end}; ");
                    text = text.Remove(pos, end - pos);
                    break;
                }
            }
        }
        return text;
    }

    [Test]
    public void MutatedModulesLoadOrRaisePtxException()
    {
        const int cases = 2000;
        var seeds = Seeds();
        var rng = new Random(20261203);
        var failures = new List<string>();
        int loaded = 0, rejected = 0;
        double slowest = 0, loading = 0;
        long mostBytes = 0;
        string current = "";
        var total = Stopwatch.StartNew();
        // The loop runs on its own thread so that a hang fails the test instead of stalling the run.
        var work = Task.Run(() =>
        {
            for (int i = 0; i < cases; i++)
            {
                var (name, seed) = seeds[rng.Next(seeds.Count)];
                var how = new StringBuilder();
                string text = Mutate(seed, rng, how);
                Volatile.Write(ref current, $"case {i} ({name}: {how})");
                long bytes = GC.GetAllocatedBytesForCurrentThread();
                var sw = Stopwatch.StartNew();
                try
                {
                    PtxModule.Load(text);
                    loaded++;
                }
                catch (PtxException e)
                {
                    rejected++;
                    if (e.InternalError != null) failures.Add($"case {i} ({name}: {how}): emulator failure {e.InternalError}");
                }
                catch (Exception e)
                {
                    failures.Add($"case {i} ({name}: {how}): {e.GetType().Name}: {e.Message}");
                }
                slowest = Math.Max(slowest, sw.Elapsed.TotalSeconds);
                loading += sw.Elapsed.TotalSeconds;
                bytes = GC.GetAllocatedBytesForCurrentThread() - bytes;
                mostBytes = Math.Max(mostBytes, bytes);
                if (sw.Elapsed.TotalSeconds > 2) failures.Add($"case {i} ({name}: {how}): took {sw.Elapsed.TotalSeconds:F1} s");
                if (bytes > 256L << 20) failures.Add($"case {i} ({name}: {how}): allocated {bytes >> 20} MiB");
            }
        });
        Assert.That(work.Wait(TimeSpan.FromSeconds(120)), Is.True, $"the fuzz hung at {Volatile.Read(ref current)}");
        TestContext.Out.WriteLine($"{cases} mutants: {loaded} loaded, {rejected} rejected; {total.Elapsed.TotalSeconds:F1} s in total ({loading:F1} s loading), slowest {slowest * 1e3:F0} ms, most allocated {mostBytes >> 20} MiB");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(10)));
        Assert.That(loaded, Is.GreaterThan(50), "some mutants still load (the mutations are not all fatal)");
        Assert.That(rejected, Is.GreaterThan(cases / 2));
    }

    private const string Poke = """
        .visible .entry poke(.param .u64 out, .param .u32 v)
        {
            .reg .b32 %r<8>;
            .reg .b64 %rd<4>;
            ld.param.u64 %rd1, [out];
            ld.param.u32 %r1, [v];
            mov.u32 %r2, %ctaid.x;
            mov.u32 %r3, %ctaid.y;
            add.s32 %r2, %r2, %r3;
            mov.u32 %r3, %ctaid.z;
            add.s32 %r2, %r2, %r3;
            mov.u32 %r3, %tid.x;
            mov.u32 %r4, %tid.y;
            add.s32 %r3, %r3, %r4;
            mov.u32 %r4, %tid.z;
            add.s32 %r3, %r3, %r4;
            mad.lo.s32 %r5, %r2, 1024, %r3;
            mul.wide.u32 %rd2, %r5, 4;
            add.s64 %rd3, %rd1, %rd2;
            st.global.u32 [%rd3], %r1;
            ret;
        }
        """;

    [Test]
    public void LaunchesWithBadConfigurationsOrArgumentsRaiseTypedErrors()
    {
        // Thread (x, y, z) of block (bx, by, bz) writes word (bx + by + bz) * 1024 + x + y + z of a 16-word buffer, so
        // every launch beyond block 0 and small blocks fails fast with an out-of-bounds error instead of running long.
        var module = Load(Poke);
        using var dev = new EmulatedDevice();
        using var other = new EmulatedDevice();
        var buf = dev.Alloc(64);
        var foreign = other.Alloc(64);
        var freed = dev.Alloc(64);
        dev.Free(freed);
        int[] dims = [-1, 0, 1, 2, 3, 17, 64, 65, 1024, 1025, 65535, 65536, int.MaxValue, int.MinValue];
        object?[] values = [buf, foreign, freed, 7, 7u, 7L, (short)7, 1.5f, 2.5, null, "text", new byte[4], ulong.MaxValue, 0UL, true];
        var rng = new Random(7);
        var failures = new List<string>();
        int ok = 0, rejected = 0;
        var total = Stopwatch.StartNew();
        for (int i = 0; i < 600; i++)
        {
            Dim3 grid = (Pick(rng, dims, 1), Pick(rng, dims, 1), Pick(rng, dims, 1));
            Dim3 block = (Pick(rng, dims, 4), Pick(rng, dims, 1), Pick(rng, dims, 1));
            int shared = rng.Next(4) == 0 ? dims[rng.Next(dims.Length)] : 0;
            int nargs = rng.Next(5) == 0 ? rng.Next(4) : 2;
            var args = new object?[nargs];
            for (int a = 0; a < nargs; a++)
                args[a] = rng.Next(3) == 0 ? values[rng.Next(values.Length)] : a == 0 ? buf : 7;
            string what = $"case {i}: grid {grid}, block {block}, shared {shared}, args [{string.Join(", ", args.Select(x => x?.ToString() ?? "null"))}]";
            try
            {
                if (rng.Next(4) == 0)
                {
                    var k = module.GetKernel("poke");
                    var raw = new byte[rng.Next(3) == 0 ? rng.Next(20) : k.ParameterBytes];
                    BitConverter.TryWriteBytes(raw, buf.Address);
                    dev.LaunchPacked(k, grid, block, shared, raw);
                }
                else dev.Launch(module, "poke", grid, block, shared, args!);
                ok++;
            }
            catch (EngineException) { rejected++; }
            catch (Exception e) { failures.Add($"{what}: {e.GetType().Name}: {e.Message}"); }
        }
        TestContext.Out.WriteLine($"600 launches: {ok} ran, {rejected} rejected, {total.Elapsed.TotalSeconds:F1} s");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(10)));
        Assert.That(ok, Is.GreaterThan(10));
        Assert.That(rejected, Is.GreaterThan(100));
        Assert.That(dev.Download<uint>(buf), Has.Some.EqualTo(7u));
        Assert.That(other.Download<uint>(foreign), Is.All.EqualTo(0u), "launches on one device never write another device's memory");

        static int Pick(Random rng, int[] dims, int usual) => rng.Next(3) == 0 ? dims[rng.Next(dims.Length)] : usual;
    }
}
