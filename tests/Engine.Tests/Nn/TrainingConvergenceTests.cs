using Engine.Nn;

namespace Engine.Tests.Nn;

public class TrainingConvergenceTests
{
    [Test]
    public void ASmallCnnDrivesTrainingLossToNearZeroOnAFixedSyntheticProblem()
    {
        var g = TestUtil.Gen();
        using var model = new Sequential(
            new Conv2d(1, 8, 3, padding: 1, generator: g), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 16, 3, padding: 1, generator: g), new ReLU(), new AdaptiveAvgPool2d(1),
            new Flatten(), new Linear(16, 4, generator: g));
        using var opt = new Adam(model.Parameters(), lr: 0.01);
        // Four classes, each a random 12×12 pattern; the samples are the patterns plus a little noise.
        using var patterns = Tensor.Randn([4, 1, 12, 12], DType.Float32, g);
        using var labels = Tensor.FromArray(Enumerable.Range(0, 32).Select(i => (long)(i % 4)).ToArray());
        using var noise = Tensor.Randn([32, 1, 12, 12], DType.Float32, g);
        using var picked = patterns.IndexSelect(0, labels);
        using var images = picked.Add(noise.Mul(0.1));
        double first = 0, last = 0;
        for (int step = 0; step < 200; step++)
        {
            using var scope = Tensor.NewDisposeScope();
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Call(images), labels);
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.That(first, Is.GreaterThan(0.5));
        Assert.That(last, Is.LessThan(0.02), $"training loss went from {first} to {last}");
    }
}
