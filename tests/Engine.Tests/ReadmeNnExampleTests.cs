using Engine.Nn;

namespace Engine.Tests;

/// <summary>The README's Nn example: define a small CNN, train a few steps, save, load, predict.</summary>
public class ReadmeNnExampleTests
{
    [Test]
    public void DefineTrainSaveLoadPredict()
    {
        string path = Path.Combine(Path.GetTempPath(), $"readme-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var scope = Tensor.NewDisposeScope();
            var x = Tensor.Randn([16, 1, 12, 12], DType.Float32, new Generator(1));
            var y = Tensor.RandInt(0, 3, [16], generator: new Generator(2));
            // --- README example starts ---
            using var model = new Sequential(new Conv2d(1, 8, 3), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(8 * 5 * 5, 3));
            using var opt = new Adam(model.Parameters(), lr: 1e-3);
            for (int step = 0; step < 5; step++)
            {
                using var s = Tensor.NewDisposeScope();
                opt.ZeroGrad();
                Functional.CrossEntropy(model.Call(x), y).Backward();
                opt.Step();
            }
            model.Save(path);
            using var restored = new Sequential(new Conv2d(1, 8, 3), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(8 * 5 * 5, 3));
            restored.Load(path);
            var predicted = restored.Eval().Call(x).ArgMax(1);
            // --- README example ends ---
            Assert.That(predicted.ToArray<long>(), Is.EqualTo(model.Eval().Call(x).ArgMax(1).ToArray<long>()));
        }
        finally { File.Delete(path); }
    }
}
