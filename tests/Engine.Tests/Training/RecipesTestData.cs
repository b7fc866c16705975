using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Tests.Training;

/// <summary>Tiny problems and networks shared by the recipe tests.</summary>
internal static class RecipesTestData
{
    /// <summary>3 classes of 8×8 images, each a fixed random pattern plus noise; labels cycle 0, 1, 2.</summary>
    public static TensorDataset Problem(ulong seed, int count, double noise = 0.3)
    {
        var g = new Generator(seed);
        using var patterns = Tensor.Randn([3, 1, 8, 8], DType.Float32, new Generator(99));
        var labels = Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i % 3)).ToArray()).DetachFromDisposeScope();
        using var picked = patterns.IndexSelect(0, labels);
        using var n = Tensor.Randn([count, 1, 8, 8], DType.Float32, g);
        using var scaled = n.Mul(noise);
        var images = picked.Add(scaled).DetachFromDisposeScope();
        return new TensorDataset(images, labels);
    }

    /// <summary>conv – BN – ReLU – pool – flatten – linear: children "0" … "5", head "5".</summary>
    public static Sequential Net(ulong seed, int width = 4, int classes = 3) => new(
        new Conv2d(1, width, 3, padding: 1, generator: new Generator(seed)), new BatchNorm2d(width), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(width * 4 * 4, classes, generator: new Generator(seed + 1)));

    /// <summary>The same without BatchNorm (exactly reproducible across forward passes in train mode).</summary>
    public static Sequential PlainNet(ulong seed, int width = 4, int classes = 3) => new(
        new Conv2d(1, width, 3, padding: 1, generator: new Generator(seed)), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(width * 4 * 4, classes, generator: new Generator(seed + 1)));

    /// <summary>Copies of every parameter and buffer by name (float64 arrays).</summary>
    public static Dictionary<string, double[]> Snapshot(Module m) =>
        m.StateDict().ToDictionary(kv => kv.Key, kv =>
        {
            var d = kv.Value.To(DType.Float64);
            try { return d.ToArray<double>(); }
            finally { if (!ReferenceEquals(d, kv.Value)) d.Dispose(); }
        });

    public static string TempFolder(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
