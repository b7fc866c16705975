namespace Engine.Tests.Cnn;

/// <summary>A LeNet-5-sized network trained with the CPU ops only: conv-pool-conv-pool-fc-fc-fc and SGD with momentum.</summary>
public class LeNetTrainingTests
{
    private static Tensor Param(Generator g, long fanIn, params long[] shape)
    {
        double bound = 1 / Math.Sqrt(fanIn); // PyTorch's default bound for conv/linear
        return Tensor.Uniform(shape, -bound, bound, DType.Float32, g).RequiresGrad_();
    }

    [Test]
    public void LossFallsOnASmallFixedBatch()
    {
        var g = TestUtil.Gen();
        Tensor[] ps =
        [
            Param(g, 25, 6, 1, 5, 5), Param(g, 25, 6),
            Param(g, 150, 16, 6, 5, 5), Param(g, 150, 16),
            Param(g, 400, 120, 400), Param(g, 400, 120),
            Param(g, 120, 84, 120), Param(g, 120, 84),
            Param(g, 84, 10, 84), Param(g, 84, 10),
        ];
        // A learnable problem: each image is its class's random template plus noise.
        using var templates = Tensor.Randn([10, 1, 28, 28], DType.Float32, g);
        using var labels = Tensor.RandInt(0, 10, [16], generator: g);
        using var noise = Tensor.Randn([16, 1, 28, 28], DType.Float32, g);
        using var picked = templates.IndexSelect(0, labels);
        using var images = picked.Add(noise.Mul(0.5));
        var velocity = ps.Select(p => Tensor.ZerosLike(p)).ToArray();
        double first = 0, last = 0;
        for (int step = 0; step < 80; step++)
        {
            using var scope = Tensor.NewDisposeScope();
            var h = Functional.MaxPool2d(Functional.Conv2d(images, ps[0], ps[1], padding: 2).Relu(), 2);
            h = Functional.MaxPool2d(Functional.Conv2d(h, ps[2], ps[3]).Relu(), 2);
            h = Functional.Linear(h.Flatten(1), ps[4], ps[5]).Relu();
            h = Functional.Linear(h, ps[6], ps[7]).Relu();
            var loss = Functional.CrossEntropy(Functional.Linear(h, ps[8], ps[9]), labels);
            loss.Backward();
            using (Tensor.NoGrad())
                for (int i = 0; i < ps.Length; i++)
                {
                    velocity[i].MulInPlace(0.9).AddInPlace(ps[i].Grad!);
                    ps[i].AddInPlace(velocity[i], -0.02);
                    ps[i].Grad!.ZeroInPlace();
                }
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        foreach (var p in ps.Concat(velocity)) p.Dispose();
        Assert.That(first, Is.EqualTo(Math.Log(10)).Within(0.5), "an untrained 10-class classifier starts near ln 10");
        Assert.That(last, Is.LessThan(first * 0.2), $"loss went from {first} to {last}");
    }
}
