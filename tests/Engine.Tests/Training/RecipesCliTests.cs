using Engine.Cli;

namespace Engine.Tests.Training;

public class RecipesCliTests
{
    private static RecipeSettings Small(string output, int labels = 5, string classes = "") => new()
    {
        LabelsPerClass = labels, Classes = classes, Epochs = 1, BatchSize = 16, Device = "cpu", Workers = 1, Augment = "none", Output = output,
    };

    [Test]
    public void BadInputGivesATypedErrorAndExitCode2()
    {
        string dir = RecipesTestData.TempFolder("cli-recipes");
        try
        {
            var log = new StringWriter();
            Assert.That(FinetuneCommand.Run(Small(dir), null, null, "head", null, log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("error: finetune: --approach head needs --weights"));
            log = new StringWriter();
            Assert.That(PseudoLabelCommand.Run(Small(dir, labels: 0), 0.9, new PseudoLabelCommand.RampUpSettings(1, 0, 1), log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("unlabelled set is empty"));
            log = new StringWriter();
            Assert.That(DistillCommand.Run(Small(dir), Path.Combine(dir, "none.safetensors"), null, 4, 0.7, false, log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("no teacher checkpoint"));
            log = new StringWriter();
            Assert.That(KnnCommand.Run(Small(dir), null, null, "l2", "0", log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("positive neighbour counts"));
            log = new StringWriter();
            Assert.That(FinetuneCommand.Run(Small(dir, classes: "1,1"), null, null, "scratch", null, log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("two distinct classes"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void ATeacherOfAnotherTaskIsRejectedAndKnnWritesItsResults()
    {
        string dir = RecipesTestData.TempFolder("cli-recipes");
        try
        {
            var log = new StringWriter();
            string source = Path.Combine(dir, "source");
            Assert.That(FinetuneCommand.Run(Small(source, classes: "0,1"), null, null, "scratch", null, log), Is.EqualTo(0), log.ToString());
            Assert.That(File.Exists(Path.Combine(source, "best.safetensors")) && File.Exists(Path.Combine(source, "accuracy.png")), Is.True);
            log = new StringWriter();
            Assert.That(DistillCommand.Run(Small(Path.Combine(dir, "kd")), Path.Combine(source, "best.safetensors"), null, 4, 0.7, false, log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("weights of another model"), "a 2-class teacher for a 10-class student");
            log = new StringWriter();
            string knn = Path.Combine(dir, "knn");
            Assert.That(KnnCommand.Run(Small(knn), null, null, "cosine", "1,3", log), Is.EqualTo(0), log.ToString());
            Assert.That(File.ReadAllText(Path.Combine(knn, "results.json")), Does.Contain("\"recipe\":\"knn\""));
        }
        finally { Directory.Delete(dir, true); }
    }
}
