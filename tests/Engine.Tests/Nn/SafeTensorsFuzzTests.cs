using System.Text;
using Engine.Nn;

namespace Engine.Tests.Nn;

/// <summary>
/// Random corruptions of valid files: every mutated file must either load with shapes, dtypes and bytes that match
/// its header, or raise <see cref="CheckpointException"/> (StateDictException for a model that no longer fits) —
/// never another exception type — and a model must be left untouched whenever loading fails.
/// </summary>
public class SafeTensorsFuzzTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = SerializationTestUtil.NewTempDir();

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    private static int HeaderEnd(byte[] b) => b.Length < 8 ? 0 : (int)Math.Min(b.Length, 8 + (long)Math.Min(BitConverter.ToUInt64(b, 0), int.MaxValue));

    /// <summary>One random corruption: bit flips, truncation, insertion, deletion, or an edit of the header's text.</summary>
    private static (byte[] Bytes, string What) Mutate(byte[] src, Random r)
    {
        var b = src.ToList();
        int headerEnd = HeaderEnd(src);
        int Pos(bool inHeader) => inHeader && headerEnd > 8 ? r.Next(8, headerEnd) : r.Next(0, Math.Max(1, b.Count));
        int kind = r.Next(10);
        if (headerEnd - 8 < 8 && kind is >= 4 and <= 8) kind = 9; // header edits need a header
        switch (kind)
        {
            case 0:
            {
                int p = Pos(r.Next(3) > 0);
                if (b.Count == 0) return ([.. b], "flip in empty");
                b[p] ^= (byte)(1 << r.Next(8));
                return ([.. b], $"bit flip at {p}");
            }
            case 1:
            {
                int len = r.Next(0, b.Count);
                return ([.. b.Take(len)], $"truncate to {len}");
            }
            case 2:
            {
                int p = Pos(r.Next(2) > 0), n = r.Next(1, 9);
                var ins = new byte[n];
                r.NextBytes(ins);
                if (r.Next(2) == 0) for (int i = 0; i < n; i++) ins[i] = (byte)" {}[],:\"0123456789-.e"[r.Next(21)];
                b.InsertRange(Math.Min(p, b.Count), ins);
                return ([.. b], $"insert {n} bytes at {p}");
            }
            case 3:
            {
                int p = Pos(r.Next(2) > 0), n = Math.Min(r.Next(1, 9), b.Count - p);
                if (n <= 0) return ([.. b], "no-op delete");
                b.RemoveRange(p, n);
                return ([.. b], $"delete {n} bytes at {p}");
            }
            case 4:
            case 5:
            {
                // Change one number in the header text (a dimension, an offset).
                var text = Encoding.UTF8.GetString(src, 8, headerEnd - 8);
                var numbers = System.Text.RegularExpressions.Regex.Matches(text, "[0-9]+");
                if (numbers.Count == 0) return ([.. b], "no number");
                var m = numbers[r.Next(numbers.Count)];
                _ = long.TryParse(m.Value, System.Globalization.CultureInfo.InvariantCulture, out long v); // 0 when it overflows
                string repl = r.Next(8) switch
                {
                    0 => "0",
                    1 => (v + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    2 => (v - 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    3 => "-" + m.Value,
                    4 => "99999999999999999999",
                    5 => (v * 2).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    6 => m.Value + ".5",
                    _ => r.NextInt64(0, 1L << 40).ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
                var edited = text[..m.Index] + repl + text[(m.Index + m.Length)..];
                return (Rebuild(src, headerEnd, edited, r), $"number {m.Value} -> {repl} at {m.Index}");
            }
            case 6:
            {
                // Replace a dtype or a structural token.
                var text = Encoding.UTF8.GetString(src, 8, headerEnd - 8);
                string[] from = ["\"F32\"", "\"I64\"", "\"U8\"", "\"shape\"", "\"data_offsets\"", "\"dtype\"", "[", "]", "{", "}", ",", ":"];
                string[] to = ["\"F16\"", "\"F64\"", "\"BOOL\"", "\"I32\"", "\"U8\"", "\"BF16\"", "\"X\"", "\"shape\"", "\"data_offsets\"", "null", "[]", "{}", "\"__metadata__\"", "\"a\"", ""];
                var f = from[r.Next(from.Length)];
                int at = text.IndexOf(f, StringComparison.Ordinal);
                if (at < 0) return ([.. b], "token missing");
                var occurrences = new List<int>();
                for (int i = at; i >= 0; i = text.IndexOf(f, i + 1, StringComparison.Ordinal)) occurrences.Add(i);
                at = occurrences[r.Next(occurrences.Count)];
                var t = to[r.Next(to.Length)];
                return (Rebuild(src, headerEnd, text[..at] + t + text[(at + f.Length)..], r), $"token {f} -> {t} at {at}");
            }
            case 7:
            {
                // Corrupt the length prefix.
                ulong n = BitConverter.ToUInt64(src, 0);
                ulong[] choices = [n + 1, n - 1, n + 8, n - 8, 0, (ulong)src.Length, (ulong)src.Length - 8, 1UL << r.Next(64), ulong.MaxValue];
                var c = choices[r.Next(choices.Length)];
                var copy = src.ToArray();
                BitConverter.GetBytes(c).CopyTo(copy, 0);
                return (copy, $"header length {n} -> {c}");
            }
            case 8:
            {
                // Duplicate a slice of the header text inside it.
                var text = Encoding.UTF8.GetString(src, 8, headerEnd - 8).TrimEnd();
                if (text.Length < 2) return ([.. b], "header too short to duplicate");
                int a = r.Next(1, Math.Max(2, text.Length - 1)), len = r.Next(1, Math.Min(80, text.Length - a + 1));
                int at = r.Next(1, text.Length);
                return (Rebuild(src, headerEnd, text[..at] + text.Substring(a, Math.Min(len, text.Length - a)) + text[at..], r), $"duplicate header slice {a}+{len} at {at}");
            }
            default:
            {
                // Several bit flips anywhere.
                int k = r.Next(2, 20);
                for (int i = 0; i < k && b.Count > 0; i++) b[r.Next(b.Count)] ^= (byte)(1 << r.Next(8));
                return ([.. b], $"{k} bit flips");
            }
        }
    }

    // The file with a new header text, its length prefix fixed up (usually) and padding redone (usually).
    private static byte[] Rebuild(byte[] src, int headerEnd, string header, Random r)
    {
        var h = Encoding.UTF8.GetBytes(header).ToList();
        if (r.Next(4) > 0) while (h.Count % 8 != 0) h.Add((byte)' ');
        var result = new List<byte>(BitConverter.GetBytes(r.Next(8) > 0 ? (ulong)h.Count : BitConverter.ToUInt64(src, 0)));
        result.AddRange(h);
        result.AddRange(src.Skip(headerEnd));
        return [.. result];
    }

    [Test]
    public void ThousandsOfRandomMutationsLoadCorrectlyOrRaiseCheckpointException()
    {
        int seed = TestContext.CurrentContext.Random.Next();
        var r = new Random(seed);
        var g = new Generator((ulong)seed);
        var original = Path.Combine(_dir, "model.safetensors");
        var path = Path.Combine(_dir, "mutated.safetensors");
        using var source = SerializationTestUtil.SmallModel(g);
        using (var scope = Tensor.NewDisposeScope())
        {
            var sd = new StateDict();
            foreach (var (k, t) in source.StateDict()) sd.Add(k, t);
            sd.Add("mask", Tensor.FromArray(new[] { true, false, true }));
            sd.Add("empty", Tensor.Zeros([0, 4], DType.Float64));
            SafeTensors.Save(original, sd, new Dictionary<string, string> { ["format"] = "pt", ["n"] = "12" });
        }
        var valid = File.ReadAllBytes(original);
        using var model = SerializationTestUtil.SmallModel(new Generator((ulong)seed + 1));

        int loaded = 0, rejected = 0, modelLoaded = 0;
        for (int iter = 0; iter < 3000; iter++)
        {
            var (bytes, what) = Mutate(valid, r);
            if (r.Next(4) == 0)
            {
                var (more, what2) = Mutate(bytes, r);
                (bytes, what) = (more, what + "; " + what2);
            }
            string context = $"seed {seed}, iteration {iter}: {what}";
            // Most iterations read from memory (disk writes are slow on some machines); every 10th goes through a file.
            bool viaFile = iter % 10 == 0;
            if (viaFile) File.WriteAllBytes(path, bytes);
            try
            {
                using var scope = Tensor.NewDisposeScope();
                SafeTensorsHeader header;
                StateDict sd;
                if (viaFile)
                {
                    header = SafeTensors.ReadHeader(path);
                    sd = SafeTensors.Load(path);
                }
                else
                {
                    using (var ms = new MemoryStream(bytes, writable: false)) header = SafeTensors.ReadHeader(ms, path);
                    using (var ms = new MemoryStream(bytes, writable: false)) sd = SafeTensors.Load(ms, path, out _);
                }
                Assert.That(sd.Keys, Is.EqualTo(header.Entries.Select(e => e.Name)), context);
                foreach (var e in header.Entries)
                {
                    var t = sd[e.Name];
                    Assert.That(t.DType, Is.EqualTo(e.DType), context);
                    Assert.That(t.Shape, Is.EqualTo(e.Shape), context);
                    var expected = bytes.AsSpan((int)(header.DataStart + e.Begin), (int)(e.End - e.Begin)).ToArray();
                    if (e.DType == DType.Bool) for (int i = 0; i < expected.Length; i++) expected[i] = expected[i] != 0 ? (byte)1 : (byte)0;
                    if (!SerializationTestUtil.Bytes(t).AsSpan().SequenceEqual(expected)) Assert.Fail($"{context}: the data of '{e.Name}' differs from the file");
                }
                loaded++;
            }
            catch (CheckpointException ex)
            {
                Assert.That(ex.Message, Does.Contain(path), context);
                rejected++;
            }
            catch (Exception ex) when (ex is not AssertionException)
            {
                Assert.Fail($"{context}: {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }

            // Into a model: loads, or fails and leaves the model untouched.
            if (!viaFile) continue;
            var before = SerializationTestUtil.Snapshot(model);
            try
            {
                model.Load(path, strict: r.Next(2) == 0);
                modelLoaded++;
            }
            catch (Exception ex) when (ex is CheckpointException or StateDictException)
            {
                SerializationTestUtil.AssertSameState(model, before, context);
            }
            catch (Exception ex) when (ex is not AssertionException)
            {
                Assert.Fail($"{context}: model.Load raised {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }
        }
        TestContext.Out.WriteLine($"seed {seed}: {loaded} mutated files loaded, {rejected} rejected; model loads {modelLoaded}");
        Assert.That(rejected, Is.GreaterThan(1000), "most mutations break the file");
        Assert.That(loaded, Is.GreaterThan(50), "some mutations (in the data region) keep it valid");
    }

    [Test]
    public void RandomMutationsOfACheckpointLoadOrRaiseAndNeverChangeStateOnFailure()
    {
        int seed = TestContext.CurrentContext.Random.Next();
        var r = new Random(seed);
        var g = new Generator((ulong)seed);
        var original = Path.Combine(_dir, "ckpt.safetensors");
        var path = Path.Combine(_dir, "mutated.safetensors");
        using var source = SerializationTestUtil.SmallModel(g);
        Checkpoint.Save(original, source, epoch: 12, rng: new Generator(99) { Offset = 5 }, extra: new Dictionary<string, string> { ["a"] = "b" });
        var valid = File.ReadAllBytes(original);
        using var model = SerializationTestUtil.SmallModel(new Generator((ulong)seed + 1));
        var rng = new Generator(1);
        for (int iter = 0; iter < 300; iter++)
        {
            var (bytes, what) = Mutate(valid, r);
            File.WriteAllBytes(path, bytes);
            var before = SerializationTestUtil.Snapshot(model);
            var rngBefore = (rng.Seed, rng.Offset);
            try
            {
                Checkpoint.Load(path, model, rng: rng);
            }
            catch (Exception ex) when (ex is CheckpointException or StateDictException)
            {
                SerializationTestUtil.AssertSameState(model, before, $"seed {seed}, iteration {iter}: {what}");
                Assert.That((rng.Seed, rng.Offset), Is.EqualTo(rngBefore), what);
            }
            catch (Exception ex) when (ex is not AssertionException)
            {
                Assert.Fail($"seed {seed}, iteration {iter}: {what}: {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }
        }
    }
}
