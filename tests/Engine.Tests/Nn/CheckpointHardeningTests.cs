using System.Diagnostics;
using System.Text.Json.Nodes;
using Engine.Nn;

namespace Engine.Tests.Nn;

/// <summary>
/// Checkpoints with malformed optimizer or scheduler state raise <see cref="CheckpointException"/> naming the file and
/// leave model, optimizer and scheduler as they were; saves use a short temporary name, name the user's path in errors
/// and clean up what killed saves left behind.
/// </summary>
public class CheckpointHardeningTests
{
    private Engine.Tests.Data.TempDir _temp = null!;

    private string Folder => _temp.Path;

    [SetUp]
    public void CreateFolder() => _temp = Engine.Tests.Data.DataTestUtil.TempDir();

    [TearDown]
    public void DeleteFolder() => _temp.Dispose();

    /// <summary>A small model with a real optimizer (state after some steps) and a nested schedule.</summary>
    private sealed class Run : IDisposable
    {
        public Sequential Model { get; }
        public SGD Optimizer { get; }
        public LinearWarmup Scheduler { get; }

        public Run(ulong seed, int steps)
        {
            var g = new Generator(seed);
            Model = new Sequential(new Linear(3, 4, generator: g), new ReLU(), new Linear(4, 2, generator: g));
            Optimizer = new SGD(Model.Parameters(), 0.1, momentum: 0.9, weightDecay: 1e-4);
            Scheduler = new LinearWarmup(Optimizer, 2, after: new StepLR(Optimizer, 3));
            for (int i = 0; i < steps; i++)
            {
                using var scope = Tensor.NewDisposeScope();
                Optimizer.ZeroGrad();
                Model.Call(Tensor.Randn([5, 3], DType.Float32, g)).Square().Sum().Backward();
                Optimizer.Step();
                Scheduler.Step();
            }
        }

        /// <summary>Everything a load may change, as text and bytes.</summary>
        public string Fingerprint()
        {
            var (ot, ov) = Optimizer.SaveState();
            var parts = new List<string> { ov.ToJsonString(), Scheduler.SaveState().Values.ToJsonString() };
            parts.AddRange(ot.Select(kv => kv.Key + Convert.ToHexString(SerializationTestUtil.Bytes(kv.Value))));
            parts.AddRange(Model.StateDict().Select(kv => kv.Key + Convert.ToHexString(SerializationTestUtil.Bytes(kv.Value))));
            parts.Add(string.Join(",", Optimizer.ParamGroups.Select(p => p.Lr)));
            return string.Join("|", parts);
        }

        public void Dispose()
        {
            Optimizer.Dispose();
            Model.Dispose();
        }
    }

    private string SaveGood(out Dictionary<string, string> meta, out List<KeyValuePair<string, Tensor>> tensors)
    {
        var path = Path.Combine(Folder, "good.safetensors");
        using (var run = new Run(1, steps: 3)) Checkpoint.Save(path, run.Model, run.Optimizer, run.Scheduler, epoch: 2);
        tensors = [.. SafeTensors.Load(path, out var m)];
        meta = m.ToDictionary();
        return path;
    }

    /// <summary>Loads <paramref name="path"/> into a differently trained run: either it loads, or it raises CheckpointException naming the file and nothing changed.</summary>
    private static bool LoadsOrRejectsCleanly(string path, Run target)
    {
        var before = target.Fingerprint();
        try
        {
            Checkpoint.Load(path, target.Model, target.Optimizer, target.Scheduler);
            return true;
        }
        catch (Exception e) when (e is CheckpointException or StateDictException)
        {
            // StateDictException: a mutated tensor name no longer fits the model (the wrong-model error, naming the file).
            Assert.That(e.Message, Does.Contain(path));
            Assert.That(target.Fingerprint(), Is.EqualTo(before), $"a failed load changed something: {e.Message}");
            return false;
        }
    }

    public static IEnumerable<TestCaseData> BadStates()
    {
        TestCaseData C(string why, string key, string json, string phrase) => new TestCaseData(key, json, phrase).SetArgDisplayNames(why);
        yield return C("optimizer type is a number", "optimizer", """{"type":3,"param_groups":[],"state":{}}""", "'type' is the number 3");
        yield return C("param_groups is an object", "optimizer", """{"type":"SGD","param_groups":{},"state":{}}""", "'param_groups' is an object");
        yield return C("group params is a string", "optimizer", """{"type":"SGD","param_groups":[{"params":"4"}],"state":{}}""", "'params' is a string");
        yield return C("group is null", "optimizer", """{"type":"SGD","param_groups":[null],"state":{}}""", "group 0 of the state is not an object");
        yield return C("lr is a string", "optimizer", """{"type":"SGD","param_groups":[{"params":4,"lr":"fast"}],"state":{}}""", "'lr' is a string");
        yield return C("tensor name is null", "optimizer", """{"type":"SGD","param_groups":[{"params":4}],"state":{"0.0":{"step":1,"tensors":[null]}}}""", "tensors[0]' is null");
        yield return C("step is fractional", "optimizer", """{"type":"SGD","param_groups":[{"params":4}],"state":{"0.0":{"step":1.5,"tensors":[]}}}""", "'step' is the number 1.5");
        yield return C("scheduler base_lrs holds null", "scheduler", """{"type":"LinearWarmup","last_epoch":1,"base_lrs":[null]}""", "'base_lrs[0]' is null");
        yield return C("scheduler last_epoch huge", "scheduler", """{"type":"LinearWarmup","last_epoch":1e30,"base_lrs":[0.1]}""", "'last_epoch' is the number 1e30");
        yield return C("inner schedule is an array", "scheduler",
            """{"type":"LinearWarmup","last_epoch":1,"base_lrs":[0.1],"warmup_steps":2,"start_factor":0.5,"after":[1]}""", "'after' is an array");
        yield return C("inner schedule divides by zero", "scheduler",
            """{"type":"LinearWarmup","last_epoch":5,"base_lrs":[0.1],"warmup_steps":2,"start_factor":0.5,"after":{"type":"StepLR","last_epoch":3,"base_lrs":[0.1],"step_size":0,"gamma":0.1}}""",
            "scheduler");
    }

    [TestCaseSource(nameof(BadStates))]
    public void MalformedOptimizerOrSchedulerStateRaisesCheckpointExceptionAndNothingChanges(string key, string json, string phrase)
    {
        SaveGood(out var meta, out var tensors);
        meta[key] = json;
        var path = Path.Combine(Folder, "bad.safetensors");
        SafeTensors.Save(path, tensors, meta);
        using var target = new Run(9, steps: 1);
        var before = target.Fingerprint();
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, target.Model, target.Optimizer, target.Scheduler))!;
        Assert.That(e.Message, Does.Contain(path).And.Contain(phrase));
        Assert.That(target.Fingerprint(), Is.EqualTo(before));
    }

    [Test]
    public void AnOptimizerStateTensorOfTheWrongDTypeIsRejectedBeforeAnythingChanges()
    {
        SaveGood(out var meta, out var tensors);
        int i = tensors.FindIndex(kv => kv.Key.StartsWith("optimizer.", StringComparison.Ordinal));
        tensors[i] = new(tensors[i].Key, tensors[i].Value.To(DType.Int64));
        var path = Path.Combine(Folder, "bad.safetensors");
        SafeTensors.Save(path, tensors, meta);
        using var target = new Run(9, steps: 1);
        Assert.That(LoadsOrRejectsCleanly(path, target), Is.False);
    }

    [Test]
    public void FuzzedMetadataAndBytesAlwaysLoadOrRaiseCheckpointExceptionLeavingEverythingUnchanged()
    {
        var good = SaveGood(out var meta, out var tensors);
        var bytes = File.ReadAllBytes(good);
        var path = Path.Combine(Folder, "fuzz.safetensors");
        var rng = new Random(2024);
        using var target = new Run(9, steps: 1);
        var clock = Stopwatch.StartNew();
        int loaded = 0, rejected = 0;
        JsonNode?[] junk = [null, 0, -1, 1e300, 0.5, "x", true, new JsonArray(), new JsonObject(), new JsonArray(1, 2), int.MaxValue, long.MinValue];
        for (int i = 0; i < 600; i++)
        {
            if (i % 2 == 0)
            {
                // Structural: replace or delete one node of the optimizer's or the scheduler's JSON.
                var key = rng.Next(2) == 0 ? "optimizer" : "scheduler";
                var root = JsonNode.Parse(meta[key])!;
                var nodes = new List<JsonNode>();
                void Walk(JsonNode n) { nodes.Add(n); if (n is JsonObject o) foreach (var (_, c) in o) { if (c is not null) Walk(c); } else if (n is JsonArray a) foreach (var c in a) if (c is not null) Walk(c); }
                Walk(root);
                var victim = nodes[rng.Next(1, nodes.Count)];
                var parent = victim.Parent!;
                var replacement = junk[rng.Next(junk.Length)]?.DeepClone();
                if (parent is JsonObject po)
                {
                    var name = victim.GetPropertyName();
                    if (rng.Next(4) == 0) po.Remove(name); else po[name] = replacement;
                }
                else ((JsonArray)parent)[victim.GetElementIndex()] = replacement;
                var m = new Dictionary<string, string>(meta) { [key] = root.ToJsonString() };
                SafeTensors.Save(path, tensors, m);
            }
            else
            {
                // Bytes: flip a few in the header, or truncate.
                var b = (byte[])bytes.Clone();
                if (rng.Next(5) == 0) b = b[..rng.Next(b.Length)];
                else for (int k = rng.Next(1, 4); k > 0; k--) b[rng.Next(8, Math.Min(b.Length, 8 + (int)BitConverter.ToUInt64(bytes)))] = (byte)rng.Next(32, 127);
                File.WriteAllBytes(path, b);
            }
            if (LoadsOrRejectsCleanly(path, target)) loaded++; else rejected++;
        }
        Assert.That(rejected, Is.GreaterThan(200));
        Assert.That(loaded, Is.GreaterThan(0));
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(30));
    }

    [Test]
    public void AFileNameNearTheSystemLimitSaves()
    {
        var name = new string('c', 255 - ".safetensors".Length) + ".safetensors";
        var path = Path.Combine(Folder, name);
        using var run = new Run(1, steps: 1);
        Checkpoint.Save(path, run.Model, run.Optimizer, run.Scheduler, epoch: 0);
        Assert.That(Checkpoint.Load(path, run.Model).Epoch, Is.EqualTo(0));
        Assert.That(Directory.GetFiles(Folder), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void WriteErrorsNameTheUsersPathNotTheTemporaryFile()
    {
        using var run = new Run(1, steps: 0);
        var missing = Path.Combine(Folder, "no-such-folder", "ckpt.safetensors");
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Save(missing, run.Model))!;
        Assert.That(e.Message, Does.Contain(missing).And.Contain("does not exist").And.Not.Contain(".tmp"));

        var folder = Path.Combine(Folder, "a-folder");
        Directory.CreateDirectory(folder);
        e = Assert.Throws<CheckpointException>(() => Checkpoint.Save(folder, run.Model))!;
        Assert.That(e.Message, Does.Contain(folder).And.Contain("is a folder"));

        var tooLong = Path.Combine(Folder, new string('x', 300) + ".safetensors");
        e = Assert.Throws<CheckpointException>(() => Checkpoint.Save(tooLong, run.Model))!;
        Assert.That(e.Message, Does.Contain(tooLong).And.Not.Contain(".tmp"));
        Assert.That(Directory.GetFiles(Folder), Is.Empty, "no temporary file is left");
    }

    [Test]
    public void TemporaryFilesOfAKilledSaveAreRemovedByTheNextSaveButALiveOneIsKept()
    {
        var stale = Path.Combine(Folder, ".safetensors-0123456789ab.tmp");
        var live = Path.Combine(Folder, ".safetensors-ba9876543210.tmp");
        var unrelated = Path.Combine(Folder, "notes.tmp");
        File.WriteAllBytes(stale, [1, 2, 3]);
        File.WriteAllBytes(unrelated, [4]);
        using (var held = new FileStream(live, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            using var run = new Run(1, steps: 0);
            var path = Path.Combine(Folder, "ckpt.safetensors");
            Checkpoint.Save(path, run.Model);
            Assert.That(File.Exists(stale), Is.False, "left by a killed save: removed");
            Assert.That(File.Exists(live), Is.True, "held open by a save in progress: kept");
            Assert.That(File.Exists(unrelated), Is.True, "not ours");
            Assert.That(File.Exists(path), Is.True);
        }
    }
}
