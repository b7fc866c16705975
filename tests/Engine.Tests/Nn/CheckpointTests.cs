using System.Text.Json.Nodes;
using Engine.Nn;

namespace Engine.Tests.Nn;

/// <summary>A stand-in optimizer (SGD with momentum): one momentum buffer per parameter, a step count and settings.</summary>
internal sealed class FakeOptimizer : IStateful, IDisposable
{
    public List<Tensor> Momentum { get; } = [];
    public long Step { get; set; }
    public double Lr { get; set; } = 0.1;
    public bool RejectLoads { get; set; }

    public FakeOptimizer(Module model, Generator g)
    {
        using var scope = Tensor.NewDisposeScope();
        foreach (var p in model.Parameters()) Momentum.Add(Tensor.Randn(p.Shape, p.DType, g).DetachFromDisposeScope());
    }

    public (StateDict Tensors, JsonObject Values) SaveState()
    {
        var sd = new StateDict();
        for (int i = 0; i < Momentum.Count; i++) sd.Add($"state.{i}.momentum_buffer", Momentum[i]);
        return (sd, new JsonObject
        {
            ["step"] = Step,
            ["lr"] = Lr,
            ["param_groups"] = new JsonArray(new JsonObject { ["momentum"] = 0.9, ["nesterov"] = false }),
        });
    }

    public void LoadState(StateDict tensors, JsonObject values)
    {
        if (RejectLoads) throw new ArgumentException("fake optimizer: state rejected");
        if (tensors.Count != Momentum.Count) throw new ArgumentException($"expected {Momentum.Count} buffers, got {tensors.Count}");
        for (int i = 0; i < Momentum.Count; i++)
            if (!tensors[$"state.{i}.momentum_buffer"].Shape.SequenceEqual(Momentum[i].Shape)) throw new ArgumentException($"buffer {i} has the wrong shape");
        using (Tensor.NoGrad())
            for (int i = 0; i < Momentum.Count; i++) Momentum[i].CopyFrom(tensors[$"state.{i}.momentum_buffer"]);
        Step = values["step"]!.GetValue<long>();
        Lr = values["lr"]!.GetValue<double>();
    }

    public Dictionary<string, byte[]> Snapshot() =>
        Enumerable.Range(0, Momentum.Count).ToDictionary(i => $"{i}", i => SerializationTestUtil.Bytes(Momentum[i]));

    public void Dispose()
    {
        foreach (var m in Momentum) m.Dispose();
    }
}

/// <summary>A stand-in learning-rate schedule: the last epoch, and a float64 history tensor.</summary>
internal sealed class FakeScheduler : IStateful, IDisposable
{
    public int LastEpoch { get; set; }
    public Tensor History { get; private set; } = Tensor.Zeros([3], DType.Float64).DetachFromDisposeScope();

    public (StateDict Tensors, JsonObject Values) SaveState() =>
        (new StateDict { { "history", History } }, new JsonObject { ["last_epoch"] = LastEpoch });

    public void LoadState(StateDict tensors, JsonObject values)
    {
        var h = tensors["history"];
        using (Tensor.NoGrad())
        {
            var copy = Tensor.ZerosLike(h).DetachFromDisposeScope();
            copy.CopyFrom(h);
            History.Dispose();
            History = copy;
        }
        LastEpoch = values["last_epoch"]!.GetValue<int>();
    }

    public void Dispose() => History.Dispose();
}

public class CheckpointTests
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

    [Test]
    public void RoundTripRestoresModelOptimizerSchedulerEpochExtraAndRandomState()
    {
        var path = PathOf("ckpt.safetensors");
        var g = TestUtil.Gen();
        using var model = SerializationTestUtil.SmallModel(g);
        using var opt = new FakeOptimizer(model, g) { Step = 1234, Lr = 0.0375 };
        using var sched = new FakeScheduler { LastEpoch = 6 };
        using (Tensor.NoGrad()) sched.History.CopyFrom(Tensor.FromArray([0.1, 0.05, 0.025]));
        var rng = new Generator(42);
        using (Tensor.NewDisposeScope())
        {
            Tensor.Randn([5], DType.Float32, rng);
            rng.NextDouble();
        }
        var extra = new Dictionary<string, string> { ["best_accuracy"] = "0.9375", ["note"] = "résumé \"quoted\"" };
        Checkpoint.Save(path, model, opt, sched, epoch: 7, rng: rng, extra: extra);

        // What the generator produces next, from the saved state.
        float[] expectedTensor;
        using (Tensor.NewDisposeScope()) expectedTensor = Tensor.Randn([9], DType.Float32, rng).ToArray<float>();
        double expectedDouble = rng.NextDouble();

        using var model2 = SerializationTestUtil.SmallModel(new Generator(g.Seed + 1));
        using var opt2 = new FakeOptimizer(model2, new Generator(3));
        using var sched2 = new FakeScheduler();
        var rng2 = new Generator(1);
        var info = Checkpoint.Load(path, model2, opt2, sched2, rng2);

        Assert.That(info.Epoch, Is.EqualTo(7));
        Assert.That(info.Extra, Is.EqualTo(extra));
        SerializationTestUtil.AssertSameState(model2, SerializationTestUtil.Snapshot(model), "model");
        Assert.That(opt2.Snapshot(), Is.EqualTo(opt.Snapshot()), "momentum buffers");
        Assert.That(opt2.Step, Is.EqualTo(1234));
        Assert.That(opt2.Lr, Is.EqualTo(0.0375));
        Assert.That(sched2.LastEpoch, Is.EqualTo(6));
        Assert.That(sched2.History.ToArray<double>(), Is.EqualTo(new[] { 0.1, 0.05, 0.025 }));
        Assert.That(rng2.Seed, Is.EqualTo(42UL));
        using (Tensor.NewDisposeScope())
            Assert.That(Tensor.Randn([9], DType.Float32, rng2).ToArray<float>(), Is.EqualTo(expectedTensor), "the generator continues with the same numbers");
        Assert.That(rng2.NextDouble(), Is.EqualTo(expectedDouble));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }), "one file, no temporary file left");
    }

    [Test]
    public void TheFileIsOneSafeTensorsFileWithPrefixedNamesAndMetadataStrings()
    {
        var path = PathOf("ckpt.safetensors");
        var g = TestUtil.Gen();
        using var model = SerializationTestUtil.SmallModel(g);
        using var opt = new FakeOptimizer(model, g) { Step = 3 };
        using var sched = new FakeScheduler { LastEpoch = 2 };
        Checkpoint.Save(path, model, opt, sched, epoch: 11, rng: new Generator(99) { Offset = 1000 }, extra: new Dictionary<string, string> { ["k"] = "v" });

        var header = SafeTensors.ReadHeader(path);
        var names = header.Entries.Select(e => e.Name).ToList();
        Assert.That(names, Is.EqualTo(
            model.StateDict().Keys.Select(k => "model." + k)
                .Concat(Enumerable.Range(0, opt.Momentum.Count).Select(i => $"optimizer.state.{i}.momentum_buffer"))
                .Append("scheduler.history")));
        var meta = header.Metadata;
        Assert.That(meta["engine.checkpoint"], Is.EqualTo("1"));
        Assert.That(meta["epoch"], Is.EqualTo("11"));
        Assert.That(meta["rng.seed"], Is.EqualTo("99"));
        Assert.That(meta["rng.offset"], Is.EqualTo("1000"));
        Assert.That(JsonNode.Parse(meta["optimizer"])!["step"]!.GetValue<long>(), Is.EqualTo(3));
        Assert.That(JsonNode.Parse(meta["optimizer"])!["param_groups"]![0]!["momentum"]!.GetValue<double>(), Is.EqualTo(0.9));
        Assert.That(JsonNode.Parse(meta["scheduler"])!["last_epoch"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(JsonNode.Parse(meta["extra"])!["k"]!.GetValue<string>(), Is.EqualTo("v"));

        // The model part is a PyTorch state dict once the prefix is stripped.
        using var scope = Tensor.NewDisposeScope();
        var all = SafeTensors.Load(path);
        using var fresh = SerializationTestUtil.SmallModel(new Generator(1));
        var modelPart = all.Where(kv => kv.Key.StartsWith("model.", StringComparison.Ordinal)).Select(kv => new KeyValuePair<string, Tensor>(kv.Key[6..], kv.Value));
        Assert.That(fresh.LoadStateDict(modelPart).IsExact);
        SerializationTestUtil.AssertSameState(fresh, SerializationTestUtil.Snapshot(model), "model part");
    }

    [Test]
    public void AModelThatDoesNotMatchRaisesStateDictExceptionAndNothingChanges()
    {
        var path = PathOf("ckpt.safetensors");
        var g = TestUtil.Gen();
        using var model = SerializationTestUtil.SmallModel(g);
        using var opt = new FakeOptimizer(model, g) { Step = 5 };
        using var sched = new FakeScheduler { LastEpoch = 5 };
        Checkpoint.Save(path, model, opt, sched, epoch: 1, rng: new Generator(7));

        using var other = new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 6 * 6, 12));
        using var opt2 = new FakeOptimizer(other, new Generator(1));
        using var sched2 = new FakeScheduler { LastEpoch = 9 };
        var rng2 = new Generator(8) { Offset = 3 };
        var before = SerializationTestUtil.Snapshot(other);
        var optBefore = opt2.Snapshot();
        var ex = Assert.Throws<StateDictException>(() => Checkpoint.Load(path, other, opt2, sched2, rng2));
        Assert.That(ex!.Message, Does.Contain("4.weight: expected [12, 144], got [10, 144]"));
        SerializationTestUtil.AssertSameState(other, before, "model");
        Assert.That(opt2.Snapshot(), Is.EqualTo(optBefore));
        Assert.That(opt2.Step, Is.EqualTo(0));
        Assert.That(sched2.LastEpoch, Is.EqualTo(9));
        Assert.That((rng2.Seed, rng2.Offset), Is.EqualTo((8UL, 3UL)));

        // A model with an extra layer: missing keys.
        using var bigger = new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 6 * 6, 10), new Linear(10, 2));
        var ex2 = Assert.Throws<StateDictException>(() => Checkpoint.Load(path, bigger));
        Assert.That(ex2!.Result.Missing, Is.EqualTo(new[] { "5.weight", "5.bias" }));
    }

    [Test]
    public void APartAskedForButNotSavedRaisesCheckpointExceptionAndNothingChanges()
    {
        var path = PathOf("model-only.safetensors");
        var g = TestUtil.Gen();
        using var model = SerializationTestUtil.SmallModel(g);
        Checkpoint.Save(path, model, epoch: 2);

        using var target = SerializationTestUtil.SmallModel(new Generator(g.Seed + 1));
        var before = SerializationTestUtil.Snapshot(target);
        using var opt = new FakeOptimizer(target, g);
        using var sched = new FakeScheduler();
        var rng = new Generator(5);
        Assert.That(() => Checkpoint.Load(path, target, optimizer: opt),
            Throws.TypeOf<CheckpointException>().With.Message.Contains("no optimizer state").And.Message.Contains(path));
        Assert.That(() => Checkpoint.Load(path, target, scheduler: sched), Throws.TypeOf<CheckpointException>().With.Message.Contains("no scheduler state"));
        Assert.That(() => Checkpoint.Load(path, target, rng: rng), Throws.TypeOf<CheckpointException>().With.Message.Contains("no random-number state"));
        SerializationTestUtil.AssertSameState(target, before, "model untouched");
        Assert.That(rng.Seed, Is.EqualTo(5UL));

        var info = Checkpoint.Load(path, target);
        Assert.That(info.Epoch, Is.EqualTo(2));
        Assert.That(info.Extra, Is.Empty);
        SerializationTestUtil.AssertSameState(target, SerializationTestUtil.Snapshot(model), "model loaded");
    }

    [Test]
    public void PartsNotAskedForAreIgnored()
    {
        var path = PathOf("full.safetensors");
        var g = TestUtil.Gen();
        using var model = SerializationTestUtil.SmallModel(g);
        using var opt = new FakeOptimizer(model, g);
        using var sched = new FakeScheduler();
        Checkpoint.Save(path, model, opt, sched, epoch: 3, rng: g);
        using var target = SerializationTestUtil.SmallModel(new Generator(g.Seed + 1));
        Assert.That(Checkpoint.Load(path, target).Epoch, Is.EqualTo(3));
        SerializationTestUtil.AssertSameState(target, SerializationTestUtil.Snapshot(model), "model loaded");
    }

    [Test]
    public void AnOptimizerRejectingItsStateRollsBackTheSchedulerAndLeavesTheModelUntouched()
    {
        var path = PathOf("ckpt.safetensors");
        var g = TestUtil.Gen();
        using var model = SerializationTestUtil.SmallModel(g);
        using var opt = new FakeOptimizer(model, g);
        using var sched = new FakeScheduler { LastEpoch = 4 };
        Checkpoint.Save(path, model, opt, sched, epoch: 4, rng: new Generator(1));

        using var target = SerializationTestUtil.SmallModel(new Generator(g.Seed + 1));
        using var opt2 = new FakeOptimizer(target, g) { RejectLoads = true };
        using var sched2 = new FakeScheduler { LastEpoch = 1 };
        using (Tensor.NoGrad()) sched2.History.CopyFrom(Tensor.FromArray([1.0, 2.0, 3.0]));
        var rng2 = new Generator(77);
        var before = SerializationTestUtil.Snapshot(target);
        var rejected = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, target, opt2, sched2, rng2))!;
        Assert.That(rejected.Message, Does.Contain(path).And.Contain("optimizer state does not load").And.Contain("rejected"));
        Assert.That(rejected.Cause, Is.InstanceOf<ArgumentException>());
        SerializationTestUtil.AssertSameState(target, before, "model untouched");
        Assert.That(sched2.LastEpoch, Is.EqualTo(1), "scheduler rolled back");
        Assert.That(sched2.History.ToArray<double>(), Is.EqualTo(new[] { 1.0, 2.0, 3.0 }));
        Assert.That(rng2.Seed, Is.EqualTo(77UL));
    }

    [Test]
    public void APlainStateDictFileIsNotACheckpoint()
    {
        var path = PathOf("weights.safetensors");
        using var model = SerializationTestUtil.SmallModel(TestUtil.Gen());
        model.Save(path);
        var before = SerializationTestUtil.Snapshot(model);
        Assert.That(() => Checkpoint.Load(path, model), Throws.TypeOf<CheckpointException>().With.Message.Contains("not an engine checkpoint"));
        SerializationTestUtil.AssertSameState(model, before, "untouched");
    }

    public static IEnumerable<TestCaseData> BadMetadata()
    {
        TestCaseData C(string why, string key, string? value, string phrase) => new TestCaseData(key, value, phrase).SetArgDisplayNames(why);
        yield return C("future version", "engine.checkpoint", "2", "version '2' is not supported");
        yield return C("no epoch", "epoch", null, "has no epoch");
        yield return C("epoch not an integer", "epoch", "7.5", "epoch '7.5' is not an integer");
        yield return C("epoch overflow", "epoch", "99999999999", "not an integer");
        yield return C("optimizer not JSON", "optimizer", "{\"step\":", "optimizer state is not valid JSON");
        yield return C("optimizer not an object", "optimizer", "[1]", "optimizer state is not a JSON object");
        yield return C("negative seed", "rng.seed", "-1", "'rng.seed' = '-1' is not an unsigned 64-bit integer");
        yield return C("offset overflow", "rng.offset", "18446744073709551616", "not an unsigned 64-bit integer");
        yield return C("extra not an object", "extra", "[\"a\"]", "extra values are not a JSON object");
        yield return C("extra value not a string", "extra", "{\"a\":1}", "extra value 'a' is not a string");
        yield return C("extra not JSON", "extra", "{", "extra values are not valid JSON");
        yield return C("stray tensor", "tensor:stray.x", null, "tensor 'stray.x' belongs to no part");
        yield return C("tensor named just the prefix", "tensor:model.", null, "tensor 'model.' belongs to no part");
    }

    [TestCaseSource(nameof(BadMetadata))]
    public void MalformedCheckpointsRaiseCheckpointExceptionAndNothingChanges(string key, string? value, string phrase)
    {
        var path = PathOf("bad.safetensors");
        var g = TestUtil.Gen();
        using var model = SerializationTestUtil.SmallModel(g);
        using var opt = new FakeOptimizer(model, g);
        var good = PathOf("good.safetensors");
        Checkpoint.Save(good, model, opt, epoch: 1, rng: g, extra: new Dictionary<string, string> { ["a"] = "b" });

        // Rewrite the good checkpoint with one thing broken.
        using (var scope = Tensor.NewDisposeScope())
        {
            var tensors = SafeTensors.Load(good, out var meta);
            var m = meta.ToDictionary();
            var list = tensors.ToList();
            if (key.StartsWith("tensor:", StringComparison.Ordinal)) list.Add(new(key[7..], Tensor.Ones(1)));
            else if (value is null) m.Remove(key);
            else m[key] = value;
            SafeTensors.Save(path, list, m);
        }

        using var target = SerializationTestUtil.SmallModel(new Generator(g.Seed + 1));
        using var opt2 = new FakeOptimizer(target, new Generator(2));
        var rng2 = new Generator(5);
        var before = SerializationTestUtil.Snapshot(target);
        var optBefore = opt2.Snapshot();
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, target, opt2, rng: rng2));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain(phrase));
        Assert.That(ex.Op, Is.EqualTo("checkpoint.load"));
        SerializationTestUtil.AssertSameState(target, before, "model untouched");
        Assert.That(opt2.Snapshot(), Is.EqualTo(optBefore), "optimizer untouched");
        Assert.That((rng2.Seed, rng2.Offset), Is.EqualTo((5UL, 0UL)), "generator untouched");
    }

    [Test]
    public void AFailedSaveLeavesThePreviousCheckpointIntact()
    {
        var path = PathOf("ckpt.safetensors");
        var g = TestUtil.Gen();
        using var model = SerializationTestUtil.SmallModel(g);
        Checkpoint.Save(path, model, epoch: 1);
        var before = File.ReadAllBytes(path);

        var broken = new ThrowingStateful();
        Assert.That(() => Checkpoint.Save(path, model, broken, epoch: 2), Throws.InvalidOperationException);
        using var disposedOpt = new FakeOptimizer(model, g);
        disposedOpt.Momentum[1].Dispose();
        Assert.That(() => Checkpoint.Save(path, model, disposedOpt, epoch: 2),
            Throws.TypeOf<CheckpointException>().With.Message.Contains("'optimizer.state.1.momentum_buffer' was disposed"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }));
        Assert.That(Checkpoint.Load(path, model).Epoch, Is.EqualTo(1));
    }

    private sealed class ThrowingStateful : IStateful
    {
        public (StateDict Tensors, JsonObject Values) SaveState() => throw new InvalidOperationException("simulated failure in SaveState");
        public void LoadState(StateDict tensors, JsonObject values) { }
    }
}
