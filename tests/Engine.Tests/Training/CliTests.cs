using Engine.Cli;

namespace Engine.Tests.Training;

public class CliTests
{
    [Test]
    public void TrainWritesCheckpointLogsAndPlotsAndEvalReadsTheCheckpointBack()
    {
        string dir = Directory.CreateTempSubdirectory("cli").FullName;
        try
        {
            var log = new StringWriter();
            int rc = TrainCommand.Run(new TrainSettings { Epochs = 1, LimitTrain = 512, LimitTest = 200, Output = dir, Workers = 1, Device = "cpu" }, log);
            Assert.That(rc, Is.EqualTo(0), log.ToString());
            foreach (var f in new[] { "best.safetensors", "last.safetensors", "log.csv", "log.jsonl", "loss.png", "accuracy.png", "confusion.png", "augmentations.png" })
                Assert.That(File.Exists(Path.Combine(dir, f)), Is.True, f);
            Assert.That(log.ToString(), Does.Contain("512 training and 200 test images").And.Contain("best test accuracy"));
            var evalLog = new StringWriter();
            rc = EvalCommand.Run(Path.Combine(dir, "best.safetensors"), null, null, "cpu", null, evalLog);
            Assert.That(rc, Is.EqualTo(0), evalLog.ToString());
            Assert.That(evalLog.ToString(), Does.Contain("lenet5").And.Contain("top-1").And.Contain("Ankle boot"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void BadInputGivesAClearErrorAndExitCode()
    {
        var log = new StringWriter();
        Assert.That(TrainCommand.Run(new TrainSettings { Model = "nope", Output = Path.GetTempPath() }, log), Is.EqualTo(2));
        Assert.That(log.ToString(), Does.Contain("unknown model 'nope'"));
        var evalLog = new StringWriter();
        string missing = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.safetensors");
        Assert.That(EvalCommand.Run(missing, null, null, "cpu", null, evalLog), Is.EqualTo(2));
        Assert.That(evalLog.ToString(), Does.Contain("error"));
    }

    [Test]
    public void InfoReportsTheCpuAndWhetherCudaIsUsable()
    {
        var text = InfoCommand.Describe();
        Assert.That(text, Does.Contain("CPU:").And.Contain("CUDA"));
    }
}
