using System.Diagnostics;
using System.Numerics;

namespace Engine.Tests.Core;

/// <summary>
/// Seeded fuzzing of the shape-taking API with boundary values (0, ±1, 2^31 ± 1, 2^32, 2^61 + 1, 2^62, long.MaxValue,
/// long.MinValue, ...). Every call must either succeed with the size an independent BigInteger oracle computes, or
/// raise an <see cref="EngineException"/> naming the op: never an OverflowException, OutOfMemoryException,
/// IndexOutOfRangeException, NullReferenceException, nor a wrong size. Shapes live on the meta device (no memory),
/// except arange, linspace and one-hot, which run on the CPU with counts that are either small or beyond any memory.
/// </summary>
public class ShapeFuzzTests
{
    private static readonly long[] Boundary =
    [
        0, 1, 2, 3, 5, -1, -2, -3, int.MaxValue, (long)int.MaxValue + 1, int.MinValue, 1L << 32, (1L << 32) + 1, 1L << 40,
        (1L << 61) + 1, 1L << 62, long.MaxValue, long.MinValue, long.MaxValue / 2, 3_000_000_000L,
    ];

    private static readonly BigInteger MaxLong = long.MaxValue;

    private sealed class Fuzzer(int seed)
    {
        public readonly Random Rng = new(seed);

        public long Size(bool allowNegative = true)
        {
            int r = Rng.Next(10);
            if (r < 5) return Rng.Next(0, 6);
            var v = Boundary[Rng.Next(Boundary.Length)];
            if (allowNegative || v >= 0) return v;
            return v == long.MinValue ? long.MaxValue : -v;
        }

        public long[] Shape(int maxRank = 4, bool allowNegative = true)
        {
            var s = new long[Rng.Next(0, maxRank + 1)];
            for (int i = 0; i < s.Length; i++) s[i] = Size(allowNegative);
            return s;
        }

        public int Int()
        {
            int r = Rng.Next(8);
            if (r < 5) return Rng.Next(-1, 5);
            return r switch { 5 => int.MaxValue, 6 => int.MinValue, _ => int.MaxValue / 2 };
        }
    }

    // The oracle for a tensor's shape: valid iff every size is non-negative and the product of max(size, 1) fits.
    private static bool Representable(long[] shape, int elementSize)
    {
        BigInteger span = 1, n = 1;
        foreach (var d in shape)
        {
            if (d < 0) return false;
            span *= Math.Max(d, 1); n *= d;
        }
        return span <= MaxLong && n * elementSize <= MaxLong;
    }

    private static long Count(long[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    private static Tensor Meta(Fuzzer f, int maxRank = 4)
    {
        while (true)
        {
            var s = f.Shape(maxRank, allowNegative: false);
            if (Representable(s, 4)) return Tensor.Zeros(s, DType.Float32, Device.Meta);
        }
    }

    /// <summary>Runs one call: an engine error naming one of <paramref name="ops"/> passes; any other exception fails with the case.</summary>
    private static bool Run(string what, string[] ops, Action call, List<string> failures, bool mustThrow = false, bool mustSucceed = false)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            call();
            if (clock.Elapsed.TotalSeconds > 1) failures.Add($"{what}: took {clock.Elapsed.TotalSeconds:F1} s (shape arithmetic should be instant)");
            if (mustThrow) failures.Add($"{what}: succeeded, expected an engine error");
            return true;
        }
        catch (EngineException e)
        {
            if (clock.Elapsed.TotalSeconds > 1) failures.Add($"{what}: took {clock.Elapsed.TotalSeconds:F1} s to fail");
            if (!ops.Contains(e.Op) || !e.Message.StartsWith(e.Op + ": ", StringComparison.Ordinal))
                failures.Add($"{what}: {e.GetType().Name} names op '{e.Op}', expected one of {string.Join("/", ops)}: {e.Message}");
            else if (mustSucceed) failures.Add($"{what}: expected success, got {e.Message}");
            return false;
        }
        catch (Exception e) when (e is not AssertionException)
        {
            failures.Add($"{what}: {e.GetType().Name}: {e.Message}");
            return false;
        }
    }

    private static void Check(bool ok, string what, List<string> failures)
    {
        if (!ok) failures.Add(what);
    }

    [Test]
    public void ShapeTakingOpsSucceedConsistentlyOrRaiseTypedErrors()
    {
        // A fixed seed for CI; ENGINE_FUZZ_SEED explores others (a failure names each case, so it replays).
        int seed = int.TryParse(Environment.GetEnvironmentVariable("ENGINE_FUZZ_SEED"), out var envSeed) ? envSeed : 20261203;
        var f = new Fuzzer(seed);
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        int cases = 0;
        for (; cases < 20000 && clock.Elapsed.TotalSeconds < 4 && failures.Count < 20; cases++)
        {
            using var scope = Tensor.NewDisposeScope();
            int kind = f.Rng.Next(14);
            switch (kind)
            {
                case 0: // creation
                {
                    var s = f.Shape();
                    var dtype = f.Rng.Next(2) == 0 ? DType.Float64 : DType.UInt8;
                    bool valid = Representable(s, dtype.ElementSize());
                    Tensor? t = null;
                    Run($"zeros({string.Join(",", s)}, {dtype})", ["zeros"], () => t = Tensor.Zeros(s, dtype, Device.Meta), failures, mustThrow: !valid, mustSucceed: valid);
                    if (t is not null) Check(t.Shape.SequenceEqual(s) && t.NumEl == Count(s), $"zeros({string.Join(",", s)}): shape {ShapeString(t)}", failures);
                    break;
                }
                case 1: // view / reshape
                {
                    var x = Meta(f);
                    var s = f.Shape();
                    if (f.Rng.Next(3) == 0 && s.Length > 0) s[f.Rng.Next(s.Length)] = -1;
                    Tensor? r = null;
                    bool view = f.Rng.Next(2) == 0;
                    Run($"{(view ? "view" : "reshape")}({ShapeString(x)} -> {string.Join(",", s)})", ["view", "reshape"],
                        () => r = view ? x.View(s) : x.Reshape(s), failures);
                    if (r is not null)
                    {
                        Check(r.NumEl == x.NumEl && Representable(r.Shape, 4), $"reshape {ShapeString(x)} -> {ShapeString(r)}", failures);
                        for (int i = 0; i < s.Length; i++) Check(s[i] == -1 || r.Shape[i] == s[i], $"reshape kept size {s[i]}", failures);
                    }
                    break;
                }
                case 2: // expand
                {
                    var x = Meta(f, 3);
                    var s = f.Shape(5);
                    Tensor? r = null;
                    bool negative = s.Any(v => v < -1);
                    Run($"expand({ShapeString(x)} -> {string.Join(",", s)})", ["expand"], () => r = x.Expand(s), failures, mustThrow: negative);
                    if (r is not null)
                    {
                        int off = s.Length - x.Rank;
                        for (int i = 0; i < s.Length; i++)
                        {
                            long want = s[i] == -1 ? x.Shape[i - off] : s[i];
                            Check(r.Shape[i] == want && (i < off || x.Shape[i - off] == 1 || x.Shape[i - off] == want), $"expand {ShapeString(x)} -> {ShapeString(r)}", failures);
                        }
                        Check(Representable(r.Shape, 1), $"expand made an unrepresentable shape {ShapeString(r)}", failures);
                    }
                    break;
                }
                case 3: // narrow
                {
                    var x = Meta(f, 3);
                    if (x.Rank == 0) break;
                    int dim = f.Rng.Next(x.Rank);
                    long start = f.Size(), length = f.Size(), size = x.Shape[dim];
                    BigInteger st = start < 0 ? (BigInteger)start + size : start;
                    bool valid = st >= 0 && length >= 0 && st + length <= size;
                    Tensor? r = null;
                    Run($"narrow({ShapeString(x)}, {dim}, {start}, {length})", ["narrow"], () => r = x.Narrow(dim, start, length), failures, mustThrow: !valid, mustSucceed: valid);
                    if (r is not null) Check(r.Shape[dim] == length, $"narrow length {r.Shape[dim]} != {length}", failures);
                    break;
                }
                case 4: // slice
                {
                    var x = Meta(f, 3);
                    if (x.Rank == 0) break;
                    int dim = f.Rng.Next(x.Rank);
                    long start = f.Size(), end = f.Size(), step = f.Size(), size = x.Shape[dim];
                    Tensor? r = null;
                    Run($"slice({ShapeString(x)}, {dim}, {start}, {end}, {step})", ["slice"], () => r = x.Slice(dim, start, end, step), failures,
                        mustThrow: step <= 0, mustSucceed: step > 0);
                    if (r is not null)
                    {
                        BigInteger s0 = start < 0 ? (BigInteger)start + size : start, e0 = end < 0 ? (BigInteger)end + size : end;
                        s0 = BigInteger.Min(BigInteger.Max(s0, 0), size); e0 = BigInteger.Min(BigInteger.Max(e0, s0), size);
                        var len = (e0 - s0 + step - 1) / step;
                        Check(r.Shape[dim] == len, $"slice({ShapeString(x)}, {dim}, {start}, {end}, {step}): length {r.Shape[dim]}, expected {len}", failures);
                    }
                    break;
                }
                case 5: // cat
                {
                    var a = Meta(f, 3);
                    var s = a.Shape;
                    if (s.Length == 0) break;
                    int dim = f.Rng.Next(s.Length);
                    s[dim] = f.Size(allowNegative: false);
                    if (!Representable(s, 4)) break;
                    using var b = Tensor.Zeros(s, DType.Float32, Device.Meta);
                    Tensor? r = null;
                    Run($"cat({ShapeString(a)}, {ShapeString(b)}, {dim})", ["cat"], () => r = Tensor.Cat([a, b, a], dim), failures);
                    BigInteger total = 2 * (BigInteger)a.Shape[dim] + s[dim];
                    if (r is not null) Check(r.Shape[dim] == total, $"cat size {r.Shape[dim]} != {total}", failures);
                    else
                    {
                        var want = a.Shape; want[dim] = total > MaxLong ? -1 : (long)total;
                        Check(total > MaxLong || !Representable(want, 4), $"cat({ShapeString(a)}, {ShapeString(b)}) refused a representable result", failures);
                    }
                    break;
                }
                case 6: // broadcasting binary op
                {
                    var a = Meta(f, 3);
                    var b = Meta(f, 3);
                    Tensor? r = null;
                    Run($"add({ShapeString(a)}, {ShapeString(b)})", ["add"], () => r = a.Add(b), failures);
                    if (r is not null) Check(Representable(r.Shape, 4) && r.Rank == Math.Max(a.Rank, b.Rank), $"add gave {ShapeString(r)}", failures);
                    break;
                }
                case 7: // matmul
                {
                    var a = Meta(f, 3);
                    var b = Meta(f, 3);
                    Tensor? r = null;
                    Run($"matmul({ShapeString(a)}, {ShapeString(b)})", ["matmul"], () => r = a.MatMul(b), failures);
                    if (r is not null) Check(Representable(r.Shape, 4), $"matmul gave {ShapeString(r)}", failures);
                    break;
                }
                case 8: // conv2d
                {
                    long[] xs = [f.Size(false), f.Size(false), f.Size(false), f.Size(false)];
                    long[] ws = [f.Size(false), xs[1], f.Rng.Next(1, 4), f.Rng.Next(1, 4)];
                    if (f.Rng.Next(4) == 0) { ws[2] = f.Size(false); ws[3] = f.Size(false); }
                    if (!Representable(xs, 4) || !Representable(ws, 4)) break;
                    using var x = Tensor.Zeros(xs, DType.Float32, Device.Meta);
                    using var w = Tensor.Zeros(ws, DType.Float32, Device.Meta);
                    int[] stride = [f.Int(), f.Int()], pad = [f.Int(), f.Int()], dil = [f.Int(), f.Int()];
                    Tensor? r = null;
                    Run($"conv2d({ShapeString(x)}, {ShapeString(w)}, s{string.Join(",", stride)} p{string.Join(",", pad)} d{string.Join(",", dil)})", ["conv2d"],
                        () => r = Functional.Conv2d(x, w, null, stride, pad, dil), failures);
                    if (r is not null)
                        for (int d = 0; d < 2; d++)
                        {
                            BigInteger o = ((BigInteger)xs[2 + d] + 2 * (BigInteger)pad[d] - (BigInteger)dil[d] * (ws[2 + d] - 1) - 1) / stride[d] + 1;
                            Check(r.Shape[2 + d] == o, $"conv2d output size {r.Shape[2 + d]}, expected {o}", failures);
                        }
                    break;
                }
                case 9: // pooling
                {
                    long[] xs = [f.Size(false), f.Size(false), f.Size(false), f.Size(false)];
                    if (!Representable(xs, 4)) break;
                    using var x = Tensor.Zeros(xs, DType.Float32, Device.Meta);
                    int k = f.Int(), s = f.Int(), p = f.Int(), dl = f.Int();
                    bool ceil = f.Rng.Next(2) == 0;
                    switch (f.Rng.Next(3))
                    {
                        case 0:
                            Run($"max_pool2d({ShapeString(x)}, k{k} s{s} p{p} d{dl})", ["max_pool2d"], () => Functional.MaxPool2d(x, k, s, p, dl, ceil), failures);
                            break;
                        case 1:
                            Run($"avg_pool2d({ShapeString(x)}, k{k} s{s} p{p})", ["avg_pool2d"], () => Functional.AvgPool2d(x, k, s, p, ceil), failures);
                            break;
                        default:
                            Tensor? r = null;
                            Run($"adaptive_avg_pool2d({ShapeString(x)}, {k}, {s})", ["adaptive_avg_pool2d"], () => r = Functional.AdaptiveAvgPool2d(x, k, s), failures);
                            if (r is not null) Check(r.Shape[2] == k && r.Shape[3] == s, $"adaptive pool gave {ShapeString(r)}", failures);
                            break;
                    }
                    break;
                }
                case 10: // arange on the CPU: small counts or counts no memory holds
                {
                    double[] ends = [0, 1, 7, -5, 1e20, -1e20, 1e300, double.PositiveInfinity, double.NaN, 3e9, 1e10];
                    double start = ends[f.Rng.Next(4)], end = ends[f.Rng.Next(ends.Length)], step = ends[f.Rng.Next(ends.Length)];
                    double count = Math.Ceiling((end - start) / step);
                    if (count is > 64 and <= 1e11) break; // representable but large: not what this fuzz is about
                    Tensor? r = null;
                    Run($"arange({start}, {end}, {step})", ["arange"], () => r = Tensor.Arange(start, end, step, DType.Float64), failures);
                    if (r is not null) Check(r.NumEl == (long)count, $"arange({start}, {end}, {step}) has {r.NumEl} elements, expected {count}", failures);
                    break;
                }
                case 11: // linspace and one-hot on the CPU
                {
                    long n = f.Size();
                    if (n is > 64 and <= 1L << 36) break;
                    if (f.Rng.Next(2) == 0)
                    {
                        Tensor? r = null;
                        Run($"linspace(0, 1, {n})", ["linspace"], () => r = Tensor.Linspace(0, 1, n), failures, mustThrow: n < 0);
                        if (r is not null) Check(r.NumEl == n, $"linspace({n}) has {r.NumEl} elements", failures);
                    }
                    else
                    {
                        using var labels = Tensor.FromArray(new long[] { 0, 1, 1 });
                        Tensor? r = null;
                        Run($"one_hot({n})", ["one_hot"], () => r = labels.OneHot(n), failures, mustThrow: n is >= 0 and < 2);
                        if (r is not null) Check(r.Shape.SequenceEqual(new[] { 3L, n < 0 ? 2 : n }), $"one_hot({n}) gave {ShapeString(r)}", failures);
                    }
                    break;
                }
                case 12: // dimension-taking views
                {
                    var x = Meta(f);
                    int d0 = f.Int(), d1 = f.Int();
                    long index = f.Size();
                    switch (f.Rng.Next(5))
                    {
                        case 0: Run($"select({ShapeString(x)}, {d0}, {index})", ["select"], () => x.Select(d0, index), failures); break;
                        case 1: Run($"unsqueeze({ShapeString(x)}, {d0})", ["unsqueeze"], () => x.Unsqueeze(d0), failures); break;
                        case 2: Run($"transpose({ShapeString(x)}, {d0}, {d1})", ["transpose", "permute"], () => x.Transpose(d0, d1), failures); break;
                        case 3: Run($"flatten({ShapeString(x)}, {d0}, {d1})", ["flatten", "reshape", "view"], () => x.Flatten(d0, d1), failures); break;
                        default: Run($"squeeze({ShapeString(x)}, {d0})", ["squeeze"], () => x.Squeeze(d0), failures); break;
                    }
                    break;
                }
                default: // random creation with shapes near the limits
                {
                    var s = f.Shape(3);
                    bool valid = Representable(s, 4);
                    Run($"randn({string.Join(",", s)})", ["randn"], () => Tensor.Randn(s, DType.Float32, new Generator(1), Device.Meta), failures,
                        mustThrow: !valid, mustSucceed: valid);
                    break;
                }
            }
        }
        TestContext.Out.WriteLine($"seed {seed}: {cases} cases in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        Assert.That(cases, Is.GreaterThan(1000), "the time bound cut the fuzzing too short to mean much");
    }

    private static string ShapeString(Tensor t) => "[" + string.Join(", ", t.Shape) + "]";
}
