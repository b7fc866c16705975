using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Engine.Kernels.Cpu;
using Engine.Nn;

namespace Engine.Tests.Nn;

/// <summary>Helpers shared by the serialization tests.</summary>
internal static class SerializationTestUtil
{
    public static readonly DType[] AllDTypes =
        [DType.Float32, DType.Float64, DType.Float16, DType.BFloat16, DType.Int64, DType.Int32, DType.UInt8, DType.Bool];

    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "engine-serialization-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A contiguous CPU tensor holding <paramref name="bytes"/> (works for every dtype, float16 included).</summary>
    public static Tensor FromBytes(byte[] bytes, long[] shape, DType dtype)
    {
        var t = Tensor.Empty(shape, dtype, Device.Cpu);
        if (bytes.Length > 0) t.Backend.CopyFromHost(t.View("test"), bytes);
        return t;
    }

    /// <summary>The row-major bytes of a tensor (float16/bfloat16 ones must be contiguous).</summary>
    public static byte[] Bytes(Tensor t)
    {
        var result = new byte[t.NumEl * t.DType.ElementSize()];
        if (result.Length == 0) return result;
        using var c = t.IsContiguous ? null : t.ContiguousNoGrad();
        var src = c ?? t;
        src.Backend.CopyToHost(src.View("test"), result);
        return result;
    }

    /// <summary>Random element bytes of <paramref name="dtype"/> (bools 0 or 1).</summary>
    public static byte[] RandomBytes(Random r, DType dtype, long numel)
    {
        var b = new byte[numel * dtype.ElementSize()];
        r.NextBytes(b);
        if (dtype == DType.Bool) for (int i = 0; i < b.Length; i++) b[i] &= 1;
        return b;
    }

    /// <summary>The model of the brief: conv, batch norm (buffers incl. int64 num_batches_tracked), linear.</summary>
    public static Sequential SmallModel(Generator g)
    {
        var m = new Sequential(new Conv2d(1, 4, 3, generator: g), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 6 * 6, 10, generator: g));
        Randomize(m, g);
        return m;
    }

    /// <summary>Fills every floating state tensor with random numbers and integer ones with a random count.</summary>
    public static void Randomize(Module m, Generator g)
    {
        using var scope = Tensor.NewDisposeScope();
        using var _ = Tensor.NoGrad();
        foreach (var (_, t) in m.StateDict())
        {
            if (t.DType.IsFloatingPoint()) t.CopyFrom(Tensor.Randn(t.Shape, t.DType, g));
            else t.FillInPlace(g.NextLong(1000));
        }
    }

    public static Dictionary<string, byte[]> Snapshot(Module m) => m.StateDict().ToDictionary(kv => kv.Key, kv => Bytes(kv.Value));

    public static void AssertSameState(Module actual, Dictionary<string, byte[]> expected, string because)
    {
        var now = Snapshot(actual);
        Assert.That(now.Keys, Is.EquivalentTo(expected.Keys), because);
        foreach (var (k, v) in expected)
            if (!now[k].AsSpan().SequenceEqual(v)) Assert.Fail($"{because}: {k} differs");
    }

    /// <summary>
    /// An independent safetensors writer following the spec (BinaryWriter, JSON built by hand), as
    /// safetensors.torch.save_file does: metadata first, then the tensors in data order, header padded with spaces.
    /// </summary>
    public static void WriteIndependently(string path, IEnumerable<(string Name, string DType, long[] Shape, byte[] Data)> tensors, IDictionary<string, string>? metadata = null)
    {
        var json = new StringBuilder("{");
        if (metadata is not null)
            json.Append("\"__metadata__\":{").Append(string.Join(",", metadata.Select(kv => $"\"{kv.Key}\":\"{kv.Value}\""))).Append("},");
        long offset = 0;
        var list = tensors.ToList();
        foreach (var (name, dtype, shape, data) in list)
        {
            json.Append(CultureInfo.InvariantCulture, $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + data.Length}]}},");
            offset += data.Length;
        }
        if (json[^1] == ',') json.Length--;
        json.Append('}');
        var header = Encoding.UTF8.GetBytes(json.ToString()).ToList();
        while (header.Count % 8 != 0) header.Add((byte)' ');
        using var w = new BinaryWriter(File.Create(path));
        w.Write((ulong)header.Count); // BinaryWriter writes little-endian
        w.Write(header.ToArray());
        foreach (var t in list) w.Write(t.Data);
    }

    public static byte[] F32(params float[] v)
    {
        var b = new byte[v.Length * 4];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), v[i]);
        return b;
    }

    public static byte[] I64(params long[] v)
    {
        var b = new byte[v.Length * 8];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(i * 8), v[i]);
        return b;
    }
}

public class SafeTensorsTests
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

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static IEnumerable<DType> DTypes() => SerializationTestUtil.AllDTypes;

    // ---- round trips -----------------------------------------------------------------------------------------

    [TestCaseSource(nameof(DTypes))]
    public void EveryDTypeRoundTripsIncludingScalarsAndEmptyTensors(DType dtype)
    {
        using var scope = Tensor.NewDisposeScope();
        var r = new Random(1234 + (int)dtype);
        long[][] shapes = [[], [0], [7], [2, 3, 4], [3, 0, 2], [1, 1, 1, 5]];
        var sd = new StateDict();
        var expected = new Dictionary<string, byte[]>();
        for (int i = 0; i < shapes.Length; i++)
        {
            var bytes = SerializationTestUtil.RandomBytes(r, dtype, shapes[i].Aggregate(1L, (a, b) => a * b));
            sd.Add($"t{i}.weight", SerializationTestUtil.FromBytes(bytes, shapes[i], dtype));
            expected[$"t{i}.weight"] = bytes;
        }
        var path = PathOf("all.safetensors");
        SafeTensors.Save(path, sd);

        var header = SafeTensors.ReadHeader(path);
        Assert.That(header.Entries.Select(e => e.Name), Is.EqualTo(sd.Keys));
        Assert.That(header.HeaderLength % 8, Is.EqualTo(0), "header padded to a multiple of 8");
        var loaded = SafeTensors.Load(path);
        Assert.That(loaded.Keys, Is.EqualTo(sd.Keys), "names in order");
        for (int i = 0; i < shapes.Length; i++)
        {
            var t = loaded[$"t{i}.weight"];
            Assert.That(t.DType, Is.EqualTo(dtype));
            Assert.That(t.Shape, Is.EqualTo(shapes[i]));
            Assert.That(t.Device, Is.EqualTo(Device.Cpu));
            Assert.That(SerializationTestUtil.Bytes(t), Is.EqualTo(expected[$"t{i}.weight"]), $"t{i}");
        }
    }

    [Test]
    public void NonContiguousTensorsAreWrittenContiguousRowMajor()
    {
        using var scope = Tensor.NewDisposeScope();
        var g = TestUtil.Gen();
        var m = Tensor.Randn([3, 4], DType.Float32, g);
        var big = Tensor.Arange(0, 24, 1, DType.Int64).Reshape(2, 3, 4);
        var row = Tensor.FromArray([1.5, -2.5]);
        // float16 [2, 3] with elements 0..5, transposed: the host-gather path.
        var halfBits = new ushort[6];
        for (int i = 0; i < 6; i++) halfBits[i] = BitConverter.HalfToUInt16Bits((Half)i);
        var half = SerializationTestUtil.FromBytes(halfBits.SelectMany(BitConverter.GetBytes).ToArray(), [2, 3], DType.Float16);
        var bfBits = new ushort[] { 0x3F80, 0x4000 }; // 1, 2
        var bf = SerializationTestUtil.FromBytes(bfBits.SelectMany(BitConverter.GetBytes).ToArray(), [2, 1], DType.BFloat16);
        var sd = new StateDict();
        sd.Add("transposed", m.T);
        sd.Add("narrowed", m.Narrow(1, 1, 2));
        sd.Add("permuted", big.Permute(2, 0, 1));
        sd.Add("expanded", row.Unsqueeze(0).Expand(3, 2));
        sd.Add("half_t", half.T);
        sd.Add("bf_expanded", bf.Expand(2, 3));
        foreach (var (k, t) in sd) Assert.That(t.IsContiguous, Is.False, k);

        var path = PathOf("strided.safetensors");
        SafeTensors.Save(path, sd);
        var loaded = SafeTensors.Load(path);
        foreach (var k in new[] { "transposed", "narrowed", "expanded" })
        {
            Assert.That(loaded[k].Shape, Is.EqualTo(sd[k].Shape), k);
            Assert.That(loaded[k].ToDoubleArray(), Is.EqualTo(sd[k].ToDoubleArray()), k);
        }
        Assert.That(loaded["permuted"].Shape, Is.EqualTo(new long[] { 4, 2, 3 }));
        Assert.That(loaded["permuted"].ToArray<long>(), Is.EqualTo(sd["permuted"].ToArray<long>()));
        Assert.That(loaded["half_t"].Shape, Is.EqualTo(new long[] { 3, 2 }));
        var gotHalf = SerializationTestUtil.Bytes(loaded["half_t"]);
        var halves = Enumerable.Range(0, 6).Select(i => (double)BitConverter.ToHalf(gotHalf, 2 * i)).ToArray();
        Assert.That(halves, Is.EqualTo(new double[] { 0, 3, 1, 4, 2, 5 }));
        Assert.That(SerializationTestUtil.Bytes(loaded["bf_expanded"]),
            Is.EqualTo(new byte[] { 0x80, 0x3F, 0x80, 0x3F, 0x80, 0x3F, 0x00, 0x40, 0x00, 0x40, 0x00, 0x40 }));
    }

    [Test]
    public void HeaderAndDataBytesOfATinyFileAreExactlyTheSpec()
    {
        using var scope = Tensor.NewDisposeScope();
        var path = PathOf("tiny.safetensors");
        var sd = new StateDict();
        sd.Add("a", Tensor.FromArray([1f, 2f]));
        sd.Add("b", Tensor.FromArray(new byte[] { 1, 2, 3 }));
        SafeTensors.Save(path, sd, new Dictionary<string, string> { ["k"] = "v" });

        const string json = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}";
        var expected = new List<byte> { 136, 0, 0, 0, 0, 0, 0, 0 }; // N = 132 bytes of JSON + 4 spaces, u64 little-endian
        expected.AddRange(Encoding.ASCII.GetBytes(json));
        expected.AddRange("    "u8.ToArray());
        expected.AddRange(new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40 }); // 1f, 2f little-endian
        expected.AddRange(new byte[] { 1, 2, 3 });
        var actual = File.ReadAllBytes(path);
        Assert.That(actual, Has.Length.EqualTo(expected.Count));
        for (int i = 0; i < actual.Length; i++) Assert.That(actual[i], Is.EqualTo(expected[i]), $"byte {i}");

        var header = SafeTensors.ReadHeader(path);
        Assert.That(header.HeaderLength, Is.EqualTo(136));
        Assert.That(header.DataStart, Is.EqualTo(144));
        Assert.That(header.DataLength, Is.EqualTo(11));
        Assert.That(header.Metadata, Is.EqualTo(new Dictionary<string, string> { ["k"] = "v" }));
        Assert.That(header.Entries[1].ToString(), Is.EqualTo("b: U8 [3] [8, 11)"));
    }

    [Test]
    public void HeaderKeepsTheGivenOrderWhileTheDataIsAlignedWidestFirst()
    {
        using var scope = Tensor.NewDisposeScope();
        var path = PathOf("aligned.safetensors");
        var sd = new StateDict();
        sd.Add("bn.weight", Tensor.FromArray([1f, 2f, 3f]));      // 12 bytes: would misalign what follows
        sd.Add("bn.num_batches_tracked", Tensor.Scalar(7, DType.Int64));
        sd.Add("mask", Tensor.FromArray(new[] { true, false, true }));
        sd.Add("x", Tensor.FromArray([1.0, 2.0]));
        SafeTensors.Save(path, sd);
        var header = SafeTensors.ReadHeader(path);
        Assert.That(header.Entries.Select(e => e.Name), Is.EqualTo(sd.Keys));
        foreach (var e in header.Entries)
            Assert.That((header.DataStart + e.Begin) % e.DType.ElementSize(), Is.EqualTo(0), $"{e.Name} aligned");
        var offsets = header.Entries.ToDictionary(e => e.Name, e => e.Begin);
        Assert.That(offsets["bn.num_batches_tracked"], Is.EqualTo(0));
        Assert.That(offsets["x"], Is.EqualTo(8));
        Assert.That(offsets["bn.weight"], Is.EqualTo(24));
        Assert.That(offsets["mask"], Is.EqualTo(36));
        var loaded = SafeTensors.Load(path);
        Assert.That(loaded.Keys, Is.EqualTo(sd.Keys));
        Assert.That(loaded["bn.num_batches_tracked"].Item(), Is.EqualTo(7));
        Assert.That(loaded["mask"].ToArray<bool>(), Is.EqualTo(new[] { true, false, true }));
    }

    [Test]
    public void SavingAgainOverwritesAndLeavesNoTemporaryFile()
    {
        using var scope = Tensor.NewDisposeScope();
        var path = PathOf("w.safetensors");
        SafeTensors.Save(path, new StateDict { { "a", Tensor.FromArray([1f]) } });
        SafeTensors.Save(path, new StateDict { { "b", Tensor.FromArray([2.0, 3.0]) } }, new Dictionary<string, string>());
        var loaded = SafeTensors.Load(path, out var meta);
        Assert.That(loaded.Keys, Is.EqualTo(new[] { "b" }));
        Assert.That(loaded["b"].ToArray<double>(), Is.EqualTo(new[] { 2.0, 3.0 }));
        Assert.That(meta, Is.Empty);
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void EmptyStateDictRoundTrips()
    {
        var path = PathOf("empty.safetensors");
        SafeTensors.Save(path, new StateDict());
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32 }));
        Assert.That(SafeTensors.Load(path).Count, Is.EqualTo(0));
    }

    [Test]
    public void UnicodeNamesAndMetadataRoundTrip()
    {
        using var scope = Tensor.NewDisposeScope();
        var path = PathOf("unicode.safetensors");
        var meta = new Dictionary<string, string> { ["note"] = "température \"quoted\" \\ \n ✓", ["emoji"] = "🙂" };
        SafeTensors.Save(path, new StateDict { { "poids.é.weight", Tensor.FromArray([1f]) } }, meta);
        var loaded = SafeTensors.Load(path, out var m);
        Assert.That(loaded.Keys, Is.EqualTo(new[] { "poids.é.weight" }));
        Assert.That(m, Is.EqualTo(meta));
    }

    // ---- ownership -------------------------------------------------------------------------------------------

    [Test]
    public void LoadedTensorsJoinTheCurrentDisposeScope()
    {
        var path = PathOf("own.safetensors");
        using (Tensor.NewDisposeScope()) SafeTensors.Save(path, new StateDict { { "a", Tensor.Ones(3) }, { "b", Tensor.Zeros(2) } });
        StateDict loaded;
        using (var scope = Tensor.NewDisposeScope())
        {
            loaded = SafeTensors.Load(path);
            Assert.That(scope.Count, Is.EqualTo(2));
        }
        Assert.That(loaded["a"].IsDisposed && loaded["b"].IsDisposed, "disposed with the scope");

        var owned = SafeTensors.Load(path); // no scope: the caller owns them
        Assert.That(owned["a"].IsDisposed, Is.False);
        foreach (var (_, t) in owned) t.Dispose();
    }

    [Test]
    [NonParallelizable]
    public void AFailureWhileReadingDataReleasesEveryTensorAlreadyCreated()
    {
        var path = PathOf("big.safetensors");
        using (Tensor.NewDisposeScope())
            SafeTensors.Save(path, new StateDict { { "a", Tensor.Ones(1000) }, { "b", Tensor.Ones(1000) }, { "c", Tensor.Ones(1000) } });
        var bytes = File.ReadAllBytes(path);
        GC.Collect(); GC.WaitForPendingFinalizers();
        long liveBefore = CpuStorage.LiveCount;
        using (var scope = Tensor.NewDisposeScope())
        {
            using var stream = new FailingStream(bytes, failAfter: bytes.Length - 500);
            var ex = Assert.Throws<IOException>(() => SafeTensors.Load(stream, "failing", out _));
            Assert.That(ex!.Message, Does.Contain("simulated"));
            Assert.That(scope.Count, Is.EqualTo(0), "no tensor escaped into the caller's scope");
        }
        Assert.That(CpuStorage.LiveCount, Is.EqualTo(liveBefore), "every tensor created was released");

        // A stream that ends early (a file truncated while being read) is a CheckpointException.
        using var shortStream = new FailingStream(bytes, failAfter: bytes.Length - 500, endInstead: true);
        var ce = Assert.Throws<CheckpointException>(() => SafeTensors.Load(shortStream, "shrinking", out _));
        Assert.That(ce!.Message, Does.Contain("'shrinking'").And.Contain("ended early"));
        Assert.That(CpuStorage.LiveCount, Is.EqualTo(liveBefore));
    }

    /// <summary>A seekable stream over bytes that fails (or pretends the data ends) once a read crosses a position.</summary>
    private sealed class FailingStream(byte[] data, long failAfter, bool endInstead = false) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (Position + count > failAfter)
            {
                if (!endInstead) throw new IOException("simulated read failure");
                count = (int)Math.Max(0, failAfter - Position);
            }
            return base.Read(buffer, offset, count);
        }

        public override int Read(Span<byte> buffer)
        {
            var tmp = new byte[buffer.Length];
            int n = Read(tmp, 0, tmp.Length);
            tmp.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
    }

    // ---- atomic writes and save-time validation ----------------------------------------------------------------

    [Test]
    public void AFailureDuringSaveLeavesThePreviousFileIntactAndNoTemporaryFile()
    {
        using var scope = Tensor.NewDisposeScope();
        var path = PathOf("model.safetensors");
        SafeTensors.Save(path, new StateDict { { "w", Tensor.FromArray([1f, 2f, 3f]) } });
        var before = File.ReadAllBytes(path);

        IEnumerable<KeyValuePair<string, Tensor>> Throwing()
        {
            yield return new("w", Tensor.FromArray([9f, 9f, 9f]));
            yield return new("v", Tensor.FromArray([8f]));
            throw new InvalidOperationException("simulated crash while enumerating tensors");
        }
        var ex = Assert.Throws<InvalidOperationException>(() => SafeTensors.Save(path, Throwing()));
        Assert.That(ex!.Message, Does.Contain("simulated"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before), "previous file intact");
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }), "no temporary file left");
    }

    [Test]
    public void AFailureAfterTheDataIsWrittenDeletesTheTemporaryFile()
    {
        using var scope = Tensor.NewDisposeScope();
        // The target is a directory: the temporary file is written and flushed, then the final move fails.
        var target = PathOf("occupied");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "untouched");
        Assert.That(() => SafeTensors.Save(target, new StateDict { { "w", Tensor.Ones(1000) } }),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains(target));
        Assert.That(Directory.GetFiles(_dir), Is.Empty, "the temporary file was removed");
        Assert.That(File.ReadAllText(Path.Combine(target, "keep.txt")), Is.EqualTo("untouched"));
    }

    [Test]
    public void SaveRejectsBadNamesAndDisposedTensorsBeforeWritingAnything()
    {
        using var scope = Tensor.NewDisposeScope();
        var path = PathOf("bad.safetensors");
        var a = Tensor.Ones(2);
        var disposed = Tensor.Ones(2);
        disposed.Dispose();
        var cases = new (string Why, KeyValuePair<string, Tensor>[] Tensors, string Phrase)[]
        {
            ("duplicate", [new("a", a), new("a", a)], "duplicate tensor name 'a'"),
            ("reserved", [new("__metadata__", a)], "reserved"),
            ("empty", [new("", a)], "non-empty"),
            ("disposed", [new("d", disposed)], "'d' was disposed"),
            ("lone surrogate", [new("x\ud800", a)], "not valid Unicode"),
        };
        foreach (var (why, tensors, phrase) in cases)
        {
            var ex = Assert.Throws<CheckpointException>(() => SafeTensors.Save(path, tensors), why);
            Assert.That(ex!.Message, Does.Contain(path).And.Contain(phrase), why);
            Assert.That(ex.Op, Is.EqualTo("safetensors.save"));
        }
        Assert.That(Directory.GetFiles(_dir), Is.Empty);
    }

    // ---- interop ---------------------------------------------------------------------------------------------

    private static Sequential FeaturesClassifier(Generator g) => new(
        ("features", new Sequential(new Conv2d(1, 2, 3, generator: g), new BatchNorm2d(2))),
        ("classifier", new Linear(8, 3, generator: g)));

    // The state dict PyTorch would give for FeaturesClassifier, with deterministic values.
    private static readonly (string Name, long[] Shape)[] TorchKeys =
    [
        ("features.0.weight", [2, 1, 3, 3]), ("features.0.bias", [2]), ("features.1.weight", [2]), ("features.1.bias", [2]),
        ("features.1.running_mean", [2]), ("features.1.running_var", [2]), ("features.1.num_batches_tracked", []),
        ("classifier.weight", [3, 8]), ("classifier.bias", [3]),
    ];

    private static float ValueOf(int key, int i) => (i % 7) * 0.5f - 1.25f + key;

    [Test]
    public void AFileFromAnIndependentWriterLoadsIntoTheEquivalentModel()
    {
        var path = PathOf("torch.safetensors");
        var tensors = TorchKeys.Select((k, ki) => k.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)
            ? (k.Name, "I64", k.Shape, SerializationTestUtil.I64(123))
            : (k.Name, "F32", k.Shape, SerializationTestUtil.F32([.. Enumerable.Range(0, (int)k.Shape.Aggregate(1L, (a, b) => a * b)).Select(i => ValueOf(ki, i))])));
        // As the reference writer: widest dtype first, then by name.
        var ordered = tensors.OrderBy(t => t.Item2 == "I64" ? 0 : 1).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        SerializationTestUtil.WriteIndependently(path, ordered, new Dictionary<string, string> { ["format"] = "pt" });

        Assert.That(SafeTensors.ReadHeader(path).Metadata["format"], Is.EqualTo("pt"));
        using var model = FeaturesClassifier(TestUtil.Gen());
        var result = model.Load(path);
        Assert.That(result.IsExact);
        var sd = model.StateDict();
        for (int ki = 0; ki < TorchKeys.Length; ki++)
        {
            var (name, shape) = TorchKeys[ki];
            Assert.That(sd[name].Shape, Is.EqualTo(shape), name);
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            {
                Assert.That(sd[name].DType, Is.EqualTo(DType.Int64));
                Assert.That(sd[name].Item(), Is.EqualTo(123));
            }
            else
                Assert.That(sd[name].ToArray<float>(), Is.EqualTo(Enumerable.Range(0, (int)sd[name].NumEl).Select(i => ValueOf(ki, i)).ToArray()), name);
        }
    }

    [Test]
    public void AnEngineFileReadsWithAnIndependentReader()
    {
        var path = PathOf("engine.safetensors");
        using var model = SerializationTestUtil.SmallModel(TestUtil.Gen());
        model.Save(path);

        // Parse by hand: u64 LE length, JSON, data region covered exactly, contiguous little-endian row-major data.
        var bytes = File.ReadAllBytes(path);
        long n = BitConverter.ToInt64(bytes, 0);
        Assert.That(n % 8, Is.EqualTo(0));
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var dataStart = 8 + n;
        var sd = model.StateDict();
        Assert.That(doc.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(sd.Keys), "PyTorch names, in state-dict order");
        var ranges = new List<(long Begin, long End)>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var t = sd[p.Name];
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var off = p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            Assert.That(shape, Is.EqualTo(t.Shape), p.Name);
            ranges.Add((off[0], off[1]));
            var data = bytes.AsSpan((int)(dataStart + off[0]), (int)(off[1] - off[0]));
            switch (p.Value.GetProperty("dtype").GetString())
            {
                case "F32":
                    var f = new float[data.Length / 4];
                    for (int i = 0; i < f.Length; i++) f[i] = BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..]);
                    Assert.That(f, Is.EqualTo(t.ToArray<float>()), p.Name);
                    break;
                case "I64":
                    Assert.That(BinaryPrimitives.ReadInt64LittleEndian(data), Is.EqualTo((long)t.Item()), p.Name);
                    Assert.That(p.Name, Does.EndWith("num_batches_tracked"));
                    break;
                default: Assert.Fail($"unexpected dtype for {p.Name}"); break;
            }
        }
        ranges.Sort();
        long covered = 0;
        foreach (var (b, e) in ranges) { Assert.That(b, Is.EqualTo(covered)); covered = e; }
        Assert.That(covered, Is.EqualTo(bytes.Length - dataStart), "no holes, no trailing bytes");
    }

    private const string PythonScript = """
import json, struct, sys

def write(path, tensors, metadata):
    header = {"__metadata__": metadata}
    data, off = b"", 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)

def bf16(x):
    return struct.pack("<H", struct.unpack("<I", struct.pack("<f", x))[0] >> 16)

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}
FMT = {"F64": "d", "F32": "f", "F16": "e", "I64": "q", "I32": "i", "U8": "B", "BOOL": "?"}

def read(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    assert n % 8 == 0, "header not padded"
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    data = buf[8 + n:]
    meta = header.pop("__metadata__", {})
    spans = sorted(tuple(v["data_offsets"]) for v in header.values())
    pos = 0
    for b, e in spans:
        assert b == pos, "hole or overlap"
        pos = e
    assert pos == len(data), "data not covered"
    out = {"__metadata__": meta, "__order__": list(header.keys())}
    for name, v in header.items():
        b, e = v["data_offsets"]
        raw = data[b:e]
        count = 1
        for d in v["shape"]:
            count *= d
        assert len(raw) == count * SIZES[v["dtype"]], name
        if v["dtype"] == "BF16":
            vals = [struct.unpack("<f", struct.pack("<I", x << 16))[0] for x in struct.unpack("<%dH" % count, raw)]
        else:
            vals = list(struct.unpack("<%d%s" % (count, FMT[v["dtype"]]), raw))
        out[name] = {"dtype": v["dtype"], "shape": v["shape"], "values": vals}
    print(json.dumps(out))

if sys.argv[1] == "write":
    path = sys.argv[2]
    keys = [("features.0.weight", [2, 1, 3, 3]), ("features.0.bias", [2]), ("features.1.weight", [2]), ("features.1.bias", [2]),
            ("features.1.running_mean", [2]), ("features.1.running_var", [2]), ("features.1.num_batches_tracked", []),
            ("classifier.weight", [3, 8]), ("classifier.bias", [3])]
    tensors = []
    for k, (name, shape) in enumerate(keys):
        count = 1
        for d in shape:
            count *= d
        if name.endswith("num_batches_tracked"):
            tensors.append((name, "I64", shape, struct.pack("<q", 321)))
        else:
            tensors.append((name, "F32", shape, struct.pack("<%df" % count, *[(i % 7) * 0.5 - 1.25 + k for i in range(count)])))
    write(path, tensors, {"format": "pt"})
    write(sys.argv[3], [
        ("f64", "F64", [3], struct.pack("<3d", 1.0 / 3, -2.5, 1e300)),
        ("i32", "I32", [2, 2], struct.pack("<4i", -7, 0, 2147483647, -2147483648)),
        ("i64", "I64", [2], struct.pack("<2q", -(2 ** 62), 2 ** 53 + 1)),
        ("u8", "U8", [4], bytes([0, 1, 128, 255])),
        ("bool", "BOOL", [3], bytes([1, 0, 1])),
        ("f16", "F16", [3], struct.pack("<3e", 0.5, -2.0, 65504.0)),
        ("bf16", "BF16", [2], bf16(1.5) + bf16(-3.0)),
        ("scalar", "F32", [], struct.pack("<f", 4.25)),
        ("empty", "F32", [0, 3], b""),
    ], {"source": "python"})
else:
    read(sys.argv[2])
""";

    private static string? RunPython(string dir, params string[] args)
    {
        var script = Path.Combine(dir, "st.py");
        File.WriteAllText(script, PythonScript);
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process? p;
        try { p = Process.Start(psi); }
        catch (System.ComponentModel.Win32Exception) { return null; }
        if (p is null) return null;
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.That(p.WaitForExit(60_000), "python3 finished");
            Assert.That(p.ExitCode, Is.EqualTo(0), $"python3 failed: {stderr.Result}");
            return stdout.Result;
        }
    }

    [Test]
    public void InteropWithAnIndependentPythonWriterAndReader()
    {
        var modelPath = PathOf("py_model.safetensors");
        var dtypesPath = PathOf("py_dtypes.safetensors");
        if (RunPython(_dir, "write", modelPath, dtypesPath) is null) Assert.Ignore("python3 is not on PATH");

        // Python → engine: a model state dict with PyTorch names.
        using var model = FeaturesClassifier(TestUtil.Gen());
        Assert.That(model.Load(modelPath).IsExact);
        var sd = model.StateDict();
        for (int ki = 0; ki < TorchKeys.Length; ki++)
        {
            var name = TorchKeys[ki].Name;
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) Assert.That(sd[name].Item(), Is.EqualTo(321));
            else Assert.That(sd[name].ToArray<float>(), Is.EqualTo(Enumerable.Range(0, (int)sd[name].NumEl).Select(i => ValueOf(ki, i)).ToArray()), name);
        }

        // Python → engine: every dtype.
        using (Tensor.NewDisposeScope())
        {
            var d = SafeTensors.Load(dtypesPath, out var meta);
            Assert.That(meta["source"], Is.EqualTo("python"));
            Assert.That(d["f64"].ToArray<double>(), Is.EqualTo(new[] { 1.0 / 3, -2.5, 1e300 }));
            Assert.That(d["i32"].ToArray<int>(), Is.EqualTo(new[] { -7, 0, int.MaxValue, int.MinValue }));
            Assert.That(d["i32"].Shape, Is.EqualTo(new long[] { 2, 2 }));
            Assert.That(d["i64"].ToArray<long>(), Is.EqualTo(new[] { -(1L << 62), (1L << 53) + 1 }));
            Assert.That(d["u8"].ToArray<byte>(), Is.EqualTo(new byte[] { 0, 1, 128, 255 }));
            Assert.That(d["bool"].ToArray<bool>(), Is.EqualTo(new[] { true, false, true }));
            var f16 = SerializationTestUtil.Bytes(d["f16"]);
            Assert.That(Enumerable.Range(0, 3).Select(i => (float)BitConverter.ToHalf(f16, 2 * i)), Is.EqualTo(new[] { 0.5f, -2f, 65504f }));
            var bf = SerializationTestUtil.Bytes(d["bf16"]);
            Assert.That(Enumerable.Range(0, 2).Select(i => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(bf, 2 * i) << 16)), Is.EqualTo(new[] { 1.5f, -3f }));
            Assert.That(d["scalar"].Shape, Is.Empty);
            Assert.That(d["scalar"].Item(), Is.EqualTo(4.25));
            Assert.That(d["empty"].Shape, Is.EqualTo(new long[] { 0, 3 }));
        }

        // Engine → python: the model plus every dtype, read back by the independent reader.
        var enginePath = PathOf("engine.safetensors");
        using (Tensor.NewDisposeScope())
        {
            var out1 = new StateDict();
            foreach (var (k, t) in sd) out1.Add(k, t);
            out1.Add("extra.f64", Tensor.FromArray([0.1, -1e-300]));
            out1.Add("extra.i32", Tensor.FromArray([3, -4]).Reshape(2, 1).T);
            out1.Add("extra.u8", Tensor.FromArray(new byte[] { 255, 0 }));
            out1.Add("extra.bool", Tensor.FromArray(new[] { false, true }));
            out1.Add("extra.f16", SerializationTestUtil.FromBytes([.. BitConverter.GetBytes((Half)1.5), .. BitConverter.GetBytes((Half)(-0.25))], [2], DType.Float16));
            out1.Add("extra.bf16", SerializationTestUtil.FromBytes([0xC0, 0x3F], [], DType.BFloat16)); // 1.5
            out1.Add("extra.empty", Tensor.Zeros([2, 0], DType.Int64));
            SafeTensors.Save(enginePath, out1, new Dictionary<string, string> { ["format"] = "pt" });

            var json = RunPython(_dir, "read", enginePath)!;
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            Assert.That(root.GetProperty("__metadata__").GetProperty("format").GetString(), Is.EqualTo("pt"));
            Assert.That(root.GetProperty("__order__").EnumerateArray().Select(x => x.GetString()), Is.EqualTo(out1.Keys));
            foreach (var (k, t) in out1)
            {
                var e = root.GetProperty(k);
                Assert.That(e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), Is.EqualTo(t.Shape), k);
                Assert.That(e.GetProperty("dtype").GetString(), Is.EqualTo(SafeTensors.DTypeCode(t.DType)), k);
                var values = e.GetProperty("values").EnumerateArray().Select(x => x.ValueKind switch
                {
                    JsonValueKind.True => 1.0,
                    JsonValueKind.False => 0.0,
                    _ => x.GetDouble(),
                }).ToArray();
                double[] expected = t.DType switch
                {
                    DType.Float16 => [1.5, -0.25],
                    DType.BFloat16 => [1.5],
                    _ => t.ToDoubleArray(),
                };
                Assert.That(values, Is.EqualTo(expected), k);
            }
        }
    }

    // ---- modules ---------------------------------------------------------------------------------------------

    [Test]
    public void ModuleSaveAndLoadRoundTripExactly()
    {
        var path = PathOf("m.safetensors");
        var g = TestUtil.Gen();
        using var a = SerializationTestUtil.SmallModel(g);
        using var b = SerializationTestUtil.SmallModel(g);
        a.Save(path);
        var result = b.Load(path);
        Assert.That(result.IsExact);
        SerializationTestUtil.AssertSameState(b, SerializationTestUtil.Snapshot(a), "loaded model");
        Assert.That(b.StateDict()["1.num_batches_tracked"].DType, Is.EqualTo(DType.Int64));
        using var scope = Tensor.NewDisposeScope();
        a.Eval(); b.Eval();
        var x = Tensor.Randn([2, 1, 8, 8], DType.Float32, g);
        Assert.That(b.Call(x).ToArray<float>(), Is.EqualTo(a.Call(x).ToArray<float>()));
    }

    [Test]
    public void ModuleLoadChecksNamesAndShapesBeforeCopyingAnything()
    {
        var g = TestUtil.Gen();
        var path = PathOf("m.safetensors");
        using var model = SerializationTestUtil.SmallModel(g);
        var before = SerializationTestUtil.Snapshot(model);
        using (var scope = Tensor.NewDisposeScope())
        {
            // All of the model's names except one, and one extra name.
            var sd = new StateDict();
            foreach (var (k, t) in model.StateDict()) if (k != "4.bias") sd.Add(k, Tensor.ZerosLike(t));
            sd.Add("head.weight", Tensor.Ones(2));
            SafeTensors.Save(path, sd);
        }
        var ex = Assert.Throws<StateDictException>(() => model.Load(path));
        Assert.That(ex!.Result.Missing, Is.EqualTo(new[] { "4.bias" }));
        Assert.That(ex.Result.Unexpected, Is.EqualTo(new[] { "head.weight" }));
        SerializationTestUtil.AssertSameState(model, before, "strict failure loads nothing");

        var result = model.Load(path, strict: false);
        Assert.That(result.Missing, Is.EqualTo(new[] { "4.bias" }));
        Assert.That(model.StateDict()["0.weight"].ToArray<float>(), Is.All.EqualTo(0f));
        Assert.That(SerializationTestUtil.Bytes(model.StateDict()["4.bias"]), Is.EqualTo(before["4.bias"]), "the missing entry keeps its value");

        using (var scope = Tensor.NewDisposeScope())
        {
            var sd = new StateDict();
            foreach (var (k, t) in model.StateDict()) sd.Add(k, k == "0.weight" ? Tensor.Zeros(4, 1, 3, 2) : t);
            SafeTensors.Save(path, sd);
        }
        var before2 = SerializationTestUtil.Snapshot(model);
        var ex2 = Assert.Throws<StateDictException>(() => model.Load(path, strict: false));
        Assert.That(ex2!.Message, Does.Contain("0.weight: expected [4, 1, 3, 3], got [4, 1, 3, 2]"));
        SerializationTestUtil.AssertSameState(model, before2, "shape mismatch loads nothing");
    }

    [Test]
    public void HalfPrecisionFilesLoadIntoFloatModelsAndIntegersConvert()
    {
        var path = PathOf("half.safetensors");
        using var model = new Linear(2, 2);
        using (var scope = Tensor.NewDisposeScope())
        {
            var w = new[] { 0.5, -1.25, 3.0, 1024.0 };
            SafeTensors.Save(path, new StateDict
            {
                { "weight", SerializationTestUtil.FromBytes([.. w.SelectMany(v => BitConverter.GetBytes((Half)v))], [2, 2], DType.Float16) },
                { "bias", SerializationTestUtil.FromBytes([0x80, 0x3F, 0x20, 0xC0], [2], DType.BFloat16) }, // 1, -2.5
            });
        }
        Assert.That(model.Load(path).IsExact);
        Assert.That(model.Weight.ToArray<float>(), Is.EqualTo(new[] { 0.5f, -1.25f, 3f, 1024f }));
        Assert.That(model.Bias!.ToArray<float>(), Is.EqualTo(new[] { 1f, -2.5f }));
        Assert.That(model.Weight.DType, Is.EqualTo(DType.Float32));
        Assert.That(model.Weight.RequiresGrad, "still a trainable parameter");

        using (var scope = Tensor.NewDisposeScope())
            SafeTensors.Save(path, new StateDict { { "weight", Tensor.FromArray([1.0, 2, 3, 4], 2, 2) }, { "bias", Tensor.FromArray([7, 8]) } });
        Assert.That(model.Load(path).IsExact);
        Assert.That(model.Weight.ToArray<float>(), Is.EqualTo(new[] { 1f, 2f, 3f, 4f }));
        Assert.That(model.Bias!.ToArray<float>(), Is.EqualTo(new[] { 7f, 8f }));
    }

    [Test]
    public void BoolBytesOtherThanZeroAndOneReadAsTrue()
    {
        var path = PathOf("bools.safetensors");
        SerializationTestUtil.WriteIndependently(path, [("m", "BOOL", [4], [0, 1, 7, 255])]);
        using var scope = Tensor.NewDisposeScope();
        var t = SafeTensors.Load(path)["m"];
        Assert.That(SerializationTestUtil.Bytes(t), Is.EqualTo(new byte[] { 0, 1, 1, 1 }));
    }

    // ---- bad files -------------------------------------------------------------------------------------------

    private static byte[] FileWith(string json, int dataBytes, bool pad = true, ulong? headerLength = null)
    {
        var h = Encoding.UTF8.GetBytes(json).ToList();
        while (pad && h.Count % 8 != 0) h.Add((byte)' ');
        var b = new List<byte>(BitConverter.GetBytes(headerLength ?? (ulong)h.Count));
        b.AddRange(h);
        b.AddRange(new byte[dataBytes]);
        return [.. b];
    }

    private static string E(string name, string dtype, string shape, string offsets) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}}";

    public static IEnumerable<TestCaseData> BadFiles()
    {
        TestCaseData C(string why, byte[] bytes, string phrase) => new TestCaseData(bytes, phrase).SetArgDisplayNames(why);
        var ok = E("a", "F32", "[1]", "[0,4]");
        yield return C("empty file", [], "fewer than the 8 bytes");
        yield return C("5 bytes", [1, 2, 3, 4, 5], "fewer than the 8 bytes");
        yield return C("absurd header length", FileWith("{}", 0, headerLength: 1UL << 50), "exceeds the limit");
        yield return C("max u64 header length", FileWith("{}", 0, headerLength: ulong.MaxValue), "exceeds the limit");
        yield return C("header beyond the file", FileWith("{}", 0, headerLength: 4096), "goes beyond the end of the file");
        yield return C("header length zero", FileWith("", 0, headerLength: 0), "does not start with '{'");
        yield return C("not starting with brace", FileWith("[1, 2]", 0), "does not start with '{'");
        yield return C("invalid UTF-8", [.. FileWith("{\"a\u00ff\":1}", 0).Select(x => x == 0xC3 ? (byte)0xFF : x)], "not valid UTF-8");
        yield return C("truncated JSON", FileWith("{\"a\":{", 0), "not valid JSON");
        yield return C("trailing garbage", FileWith("{} x", 0), "not valid JSON");
        yield return C("nested too deep", FileWith("{\"a\":{\"x\":" + new string('[', 40) + new string(']', 40) + "}}", 0), "not valid JSON");
        yield return C("entry is a number", FileWith("{\"a\":5}", 0), "entry 'a' is a JSON number, not an object");
        yield return C("entry is an array", FileWith("{\"a\":[1]}", 0), "not an object");
        yield return C("missing dtype", FileWith("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "has no dtype");
        yield return C("dtype not a string", FileWith("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "not a string");
        yield return C("unknown dtype", FileWith("{" + E("a", "Q7", "[1]", "[0,4]") + "}", 4), "dtype 'Q7', which is unknown or unsupported");
        yield return C("unsupported dtype", FileWith("{" + E("a", "I8", "[4]", "[0,4]") + "}", 4), "unknown or unsupported");
        yield return C("lower-case dtype", FileWith("{" + E("a", "f32", "[1]", "[0,4]") + "}", 4), "unknown or unsupported");
        yield return C("missing shape", FileWith("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "has no shape");
        yield return C("shape not an array", FileWith("{" + E("a", "F32", "3", "[0,12]") + "}", 12), "shape of tensor 'a' is a JSON number, not an array");
        yield return C("fractional dimension", FileWith("{" + E("a", "F32", "[1.5]", "[0,4]") + "}", 4), "not an integer");
        yield return C("string dimension", FileWith("{" + E("a", "F32", "[\"1\"]", "[0,4]") + "}", 4), "not an integer");
        yield return C("negative dimension", FileWith("{" + E("a", "F32", "[-1]", "[0,4]") + "}", 4), "negative dimension");
        yield return C("missing data_offsets", FileWith("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "has no data_offsets");
        yield return C("data_offsets not an array", FileWith("{" + E("a", "F32", "[1]", "{}") + "}", 4), "not an array");
        yield return C("three offsets", FileWith("{" + E("a", "F32", "[1]", "[0,4,8]") + "}", 4), "not 2");
        yield return C("one offset", FileWith("{" + E("a", "F32", "[1]", "[4]") + "}", 4), "not 2");
        yield return C("reversed offsets", FileWith("{" + E("a", "F32", "[1]", "[4,0]") + "}", 4), "end before they begin");
        yield return C("negative offset", FileWith("{" + E("a", "F32", "[1]", "[-4,0]") + "}", 4), "negative offset");
        yield return C("offset beyond int64", FileWith("{" + E("a", "F32", "[1]", "[0,99999999999999999999]") + "}", 4), "not an integer");
        yield return C("byte size mismatch", FileWith("{" + E("a", "F32", "[3]", "[0,8]") + "}", 8), "needs 12 bytes, but its data_offsets [0, 8] span 8");
        yield return C("shape overflow", FileWith("{" + E("a", "F32", "[4294967296,4294967296,4]", "[0,4]") + "}", 4), "is too large");
        yield return C("offsets out of range", FileWith("{" + E("a", "F32", "[4]", "[0,16]") + "}", 8), "out of range: the data region has 8 bytes");
        yield return C("empty tensor out of range", FileWith("{" + ok + "," + E("e", "F32", "[0]", "[9,9]") + "}", 4), "out of range");
        yield return C("overlapping offsets", FileWith("{" + E("a", "F32", "[2]", "[0,8]") + "," + E("b", "F32", "[2]", "[4,12]") + "}", 12), "'a' [0, 8) and 'b' [4, 12) overlap");
        yield return C("same offsets twice", FileWith("{" + ok + "," + E("b", "F32", "[1]", "[0,4]") + "}", 4), "overlap");
        yield return C("hole", FileWith("{" + ok + "," + E("b", "F32", "[1]", "[8,12]") + "}", 12), "bytes [4, 8) of the data region belong to no tensor");
        yield return C("hole at the start", FileWith("{" + E("b", "F32", "[1]", "[4,8]") + "}", 8), "bytes [0, 4)");
        yield return C("trailing data", FileWith("{" + ok + "}", 8), "4 trailing bytes belong to no tensor");
        yield return C("data but no tensors", FileWith("{}", 3), "3 trailing bytes");
        yield return C("duplicate names", FileWith("{" + ok + "," + ok + "}", 4), "duplicate tensor name 'a'");
        yield return C("duplicate field", FileWith("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "two 'dtype' fields");
        yield return C("duplicate metadata", FileWith("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "'__metadata__' appears twice");
        yield return C("metadata not an object", FileWith("{\"__metadata__\":[1]}", 0), "not an object of strings");
        yield return C("metadata value not a string", FileWith("{\"__metadata__\":{\"k\":1}}", 0), "metadata 'k' is a JSON number, not a string");
        yield return C("duplicate metadata key", FileWith("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), "metadata key 'k' appears twice");
        yield return C("lone surrogate escape", FileWith("{\"\\ud800\":{}}", 0), "invalid string");
        yield return C("NUL padding", FileWith("{}\0\0\0\0\0\0", 0, pad: false), "not valid JSON");
    }

    [TestCaseSource(nameof(BadFiles))]
    public void BadFilesRaiseCheckpointExceptionNamingTheFileAndTheProblem(byte[] bytes, string phrase)
    {
        var path = PathOf("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<CheckpointException>(() => SafeTensors.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain(phrase));
        Assert.That(ex.FilePath, Is.EqualTo(path));
        Assert.That(ex.Op, Is.EqualTo("safetensors.load"));
        Assert.That(ex, Is.InstanceOf<EngineException>());
        Assert.That(() => SafeTensors.ReadHeader(path), Throws.TypeOf<CheckpointException>().With.Message.Contains(phrase));

        using var model = SerializationTestUtil.SmallModel(new Generator(5));
        var before = SerializationTestUtil.Snapshot(model);
        Assert.That(() => model.Load(path), Throws.TypeOf<CheckpointException>());
        Assert.That(() => Checkpoint.Load(path, model), Throws.TypeOf<CheckpointException>());
        SerializationTestUtil.AssertSameState(model, before, "a bad file changes nothing");
    }

    [Test]
    public void AMissingFileIsAFileNotFoundException()
    {
        Assert.That(() => SafeTensors.Load(PathOf("nope.safetensors")), Throws.InstanceOf<FileNotFoundException>());
    }

    [Test]
    public void UnknownEntryFieldsAreIgnoredAndNullMetadataIsNoMetadata()
    {
        var path = PathOf("lenient.safetensors");
        File.WriteAllBytes(path, FileWith("{\"__metadata__\":null,\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"note\":{\"x\":[1]}}}", 2, pad: false));
        using var scope = Tensor.NewDisposeScope();
        var d = SafeTensors.Load(path, out var meta);
        Assert.That(meta, Is.Empty);
        Assert.That(d["a"].ToArray<byte>(), Is.EqualTo(new byte[] { 0, 0 }));
    }
}
