using System.Text.Json;
using Engine.Cli;
using Engine.Nn;
using Engine.Tests.Data;

namespace Engine.Tests.Cli;

/// <summary>
/// Every failure of the <c>engine</c> command exits non-zero with ONE line naming the option or file and the reason
/// (no stack trace); NaN/Inf losses stop cleanly or are skipped by option; no NaN reaches the logs. The command runs
/// in-process through <see cref="EngineCommand.Run"/>, as <c>engine</c> itself does.
/// </summary>
public class CliErrorTests
{
    private TempDir _temp = null!;

    private string Folder => _temp.Path;

    [SetUp]
    public void CreateFolder() => _temp = DataTestUtil.TempDir();

    [TearDown]
    public void DeleteFolder() => _temp.Dispose();

    private static (int Code, string Output, string Error) Engine(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = EngineCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>The only "error:" line of a run's output and error text, which must also hold no stack trace.</summary>
    private static string OneErrorLine(string text)
    {
        var errors = text.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.That(errors, Has.Count.EqualTo(1), text);
        Assert.That(text, Does.Not.Contain("   at ").And.Not.Contain("Exception:"), "no stack trace");
        return errors[0];
    }

    /// <summary>A short CPU training run; <paramref name="options"/> (name, value pairs) add to or replace its options.</summary>
    private string[] Small(params string[] options)
    {
        var o = new Dictionary<string, string>
        {
            ["--device"] = "cpu", ["--epochs"] = "1", ["--limit-train"] = "64", ["--limit-test"] = "32", ["--batch-size"] = "16",
            ["--workers"] = "1", ["--output"] = Path.Combine(Folder, "run"),
        };
        for (int i = 0; i < options.Length; i += 2) o[options[i]] = options[i + 1];
        return ["train", .. o.SelectMany(kv => new[] { kv.Key, kv.Value })];
    }

    [TestCase("train", "--warmup", "-3", "at least 0")]
    [TestCase("train", "--patience", "-1", "at least 0")]
    [TestCase("train", "--limit-train", "-5", "at least 0")]
    [TestCase("train", "--epochs", "0", "at least 1")]
    [TestCase("train", "--lr", "0", "above 0")]
    [TestCase("train", "--lr", "NaN", "above 0")]
    [TestCase("train", "--momentum", "1.5", "at most 1")]
    [TestCase("train", "--workers", "-2", "at least 0")]
    [TestCase("bench", "--repeats", "0", "at least 1")]
    [TestCase("distill --teacher t.safetensors", "--temperature", "-1", "above 0")]
    [TestCase("pseudo-label", "--val-fraction", "1", "at most 0.99")]
    public void AnOutOfRangeNumberIsOneParseErrorNamingTheOption(string verb, string option, string value, string rule)
    {
        var (code, output, error) = Engine([.. verb.Split(' '), option, value]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(output, Is.Empty, "nothing ran");
        Assert.That(OneErrorLine(error), Does.Contain($"{option} {value}").And.Contain(rule));
    }

    [Test]
    public void NotANumberOrAnUnknownOptionOrNoVerbIsOneLineToo()
    {
        foreach (var args in new[] { new[] { "train", "--epochs", "many" }, ["train", "--no-such-option"], [], ["train", "--on-nonfinite", "ignore"] })
        {
            var (code, _, error) = Engine(args);
            Assert.That(code, Is.EqualTo(2), string.Join(" ", args));
            OneErrorLine(error);
        }
    }

    [Test]
    public void AMissingOrFolderResumeOrWeightsFileIsNamed()
    {
        string missing = Path.Combine(Folder, "nope.safetensors");
        var (code, output, _) = Engine(Small("--resume", missing));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(OneErrorLine(output), Does.Contain("--resume").And.Contain(missing).And.Contain("no such file"));
        (code, output, _) = Engine(Small("--resume", Folder));
        Assert.That(OneErrorLine(output), Does.Contain("--resume").And.Contain("is a folder"));
        (code, output, _) = Engine(Small("--weights", missing));
        Assert.That(OneErrorLine(output), Does.Contain("--weights").And.Contain("no such file"));
        Assert.That(code, Is.EqualTo(2));
    }

    [Test]
    public void AnOutputThatIsAFileOrCannotBeCreatedIsNamed()
    {
        string file = Path.Combine(Folder, "a-file");
        File.WriteAllText(file, "x");
        var (code, output, _) = Engine(Small("--output", file));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(OneErrorLine(output), Does.Contain("--output").And.Contain(file).And.Contain("is a file, not a folder"));
        string under = Path.Combine(file, "sub");
        (code, output, _) = Engine(Small("--output", under));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(OneErrorLine(output), Does.Contain("--output").And.Contain(under).And.Contain("cannot be written"));
    }

    [Test]
    public void AResumeCheckpointWithMalformedMetadataIsOneLineNamingIt()
    {
        string ckpt = Path.Combine(Folder, "bad.safetensors");
        using (var model = new Sequential(new Linear(2, 2)))
        using (var opt = new SGD(model.Parameters(), 0.1, momentum: 0.9))
            Checkpoint.Save(ckpt, model, opt);
        var tensors = SafeTensors.Load(ckpt, out var meta);
        var m = meta.ToDictionary();
        m["optimizer"] = "{\"type\":[],\"param_groups\":7}";
        SafeTensors.Save(ckpt, tensors, m);
        var (code, output, _) = Engine(Small("--resume", ckpt));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(OneErrorLine(output), Does.Contain(ckpt));
    }

    [Test]
    public void EvalOfAFolderOrOfACheckpointWithMalformedMetadataIsOneLineNamingIt()
    {
        var (code, output, _) = Engine("eval", "--checkpoint", Folder, "--device", "cpu");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(OneErrorLine(output), Does.Contain("--checkpoint").And.Contain(Folder).And.Contain("is a folder"));

        string ckpt = Path.Combine(Folder, "bad.safetensors");
        using (var model = new Sequential(new Linear(2, 2))) Checkpoint.Save(ckpt, model, extra: new Dictionary<string, string> { ["model"] = "lenet5" });
        var tensors = SafeTensors.Load(ckpt, out var meta);
        foreach (var (key, value) in new[] { ("extra", "{\"model\":"), ("extra", "[1]"), ("epoch", "soon") })
        {
            var m = meta.ToDictionary();
            m[key] = value;
            SafeTensors.Save(ckpt, tensors, m);
            (code, output, _) = Engine("eval", "--checkpoint", ckpt, "--device", "cpu");
            Assert.That(code, Is.EqualTo(2), $"{key}={value}");
            Assert.That(OneErrorLine(output), Does.Contain(ckpt));
        }
    }

    [Test]
    public void ABatchLargerThanTheTrainingSetIsAClearErrorNotANaN()
    {
        var (code, output, _) = Engine(Small("--batch-size", "100"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(OneErrorLine(output), Does.Contain("--batch-size").And.Contain("larger than the 64 training images"));
    }

    [Test]
    public void ANonFiniteLossStopsWithOneLineOrIsSkippedByOption()
    {
        // A learning rate of 1e30 overflows the weights after the first step, so every later loss is NaN or infinite.
        var (code, output, _) = Engine(Small("--lr", "1e30", "--epochs", "2"));
        Assert.That(code, Is.EqualTo(3), output);
        var line = OneErrorLine(output);
        Assert.That(line, Does.Contain("epoch 1, batch").And.Contain("no checkpoint was written").And.Contain("--on-nonfinite skip"));

        (code, output, _) = Engine(Small("--lr", "1e30", "--epochs", "2", "--on-nonfinite", "skip"));
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("warning: epoch 1, batch 2: the loss is"));
        string run = Path.Combine(Folder, "run");
        var rows = File.ReadAllLines(Path.Combine(run, "log.jsonl"));
        Assert.That(rows, Has.Length.EqualTo(2));
        foreach (var row in rows) using (JsonDocument.Parse(row)) { } // valid JSON: no NaN literal
        Assert.That(File.Exists(Path.Combine(run, "last.safetensors")), Is.True);
    }

    [Test]
    public void AnEmptyTestSetGivesAbsentTestMetricsNotNaN()
    {
        string data = Path.Combine(Folder, "data");
        Directory.CreateDirectory(data);
        var (px, labels) = DataTestUtil.Pattern(64, 28, 28, 10);
        DataTestUtil.WriteIdx(Path.Combine(data, "train-images-idx3-ubyte"), 0x803, [64, 28, 28], px);
        DataTestUtil.WriteIdx(Path.Combine(data, "train-labels-idx1-ubyte"), 0x801, [64], labels);
        DataTestUtil.WriteIdx(Path.Combine(data, "t10k-images-idx3-ubyte"), 0x803, [0, 28, 28], []);
        DataTestUtil.WriteIdx(Path.Combine(data, "t10k-labels-idx1-ubyte"), 0x801, [0], []);
        var (code, output, _) = Engine(Small("--data", data));
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("0 test images").And.Contain("no test images, so no test metrics").And.Not.Contain("NaN"));
        var row = File.ReadAllLines(Path.Combine(Folder, "run", "log.jsonl")).Single();
        using var doc = JsonDocument.Parse(row);
        Assert.That(doc.RootElement.GetProperty("test_loss").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(doc.RootElement.GetProperty("train_loss").ValueKind, Is.EqualTo(JsonValueKind.Number));
    }
}
