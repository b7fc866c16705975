using Engine.Cli;

namespace Engine.Tests.Cli;

/// <summary><c>engine train --data moving-fashion-mnist</c>: a video model trains on clips; image models and image-only options are refused.</summary>
[TestFixture]
public sealed class VideoTrainTests
{
    [Test]
    public void VideoModelTrainsOnMovingFashionMnistAndImageModelsAreRefused()
    {
        string dir = Directory.CreateTempSubdirectory("cli-video").FullName;
        try
        {
            var log = new StringWriter();
            var settings = new TrainSettings
            {
                Model = "c3d_tiny", Data = VideoData.MovingFashionMnistName, ClipLength = 4, ImageSize = 16, ClipLabel = "rotation",
                Epochs = 1, LimitTrain = 32, LimitTest = 16, BatchSize = 16, Augment = "none", Output = dir, Workers = 1, Device = "cpu",
            };
            int rc = TrainCommand.Run(settings, log);
            Assert.That(rc, Is.EqualTo(0), log.ToString());
            Assert.That(log.ToString(), Does.Contain("Moving Fashion-MNIST").And.Contain("32 training and 16 test clips")
                .And.Contain("1x4x16x16 input, 2 classes").And.Contain("best test accuracy"));
            Assert.That(File.Exists(Path.Combine(dir, "best.safetensors")));

            log = new StringWriter();
            Assert.That(TrainCommand.Run(settings with { Model = "lenet5" }, log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("lenet5 is an image model").And.Contain("c3d_tiny"));
            log = new StringWriter();
            Assert.That(TrainCommand.Run(settings with { Mix = "mixup" }, log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("--mix mixup"));
            log = new StringWriter();
            Assert.That(TrainCommand.Run(settings with { Data = null }, log), Is.EqualTo(2));
            Assert.That(log.ToString(), Does.Contain("takes video clips"));
        }
        finally { Directory.Delete(dir, true); }
    }
}
