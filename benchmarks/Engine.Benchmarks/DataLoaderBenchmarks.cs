using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Nn.Data;

namespace Engine.Benchmarks;

/// <summary>
/// Data-loader throughput with augmentation on, one epoch per call: Fashion-MNIST 28×28 (embedded subset,
/// 6,000 images) with the "basic" preset (padded random crop + flip), and 224×224 RandomResizedCrop + flip from
/// 512 in-memory 8-bit 256×256 RGB images. Images/s = images per epoch / median time; divide by the worker count
/// (cores) for the per-core figure the issue targets (20,000 and 2,000 images/s per core).
/// </summary>
[Config(typeof(ColumnsConfig))]
public class DataLoaderBenchmarks
{
    private sealed class ColumnsConfig : ManualConfig
    {
        // The column divides by the median in nanoseconds, so images × 10^9 gives images per second.
        public ColumnsConfig() => AddColumn(new ThroughputColumn("images/s", "images per epoch / median time",
            c => 1e9 * (c.Descriptor.WorkloadMethod.Name.Contains("224", StringComparison.Ordinal) ? 512 : 6000)));
    }

    private IDataset _fashion = null!, _large = null!;

    [Params(1, 2)]
    public int Workers;

    [GlobalSetup]
    public void Setup()
    {
        _fashion = FashionMnist.Embedded(train: true);
        var g = new Generator(3);
        using var images = Tensor.RandInt(0, 256, [512, 3, 256, 256], DType.UInt8, g);
        using var labels = Tensor.RandInt(0, 10, [512], generator: g);
        _large = new TensorDataset(images, labels);
    }

    [Benchmark]
    public int FashionMnist28Basic()
    {
        using var loader = new DataLoader(_fashion, 256, shuffle: true, transform: Augmentations.Preset("basic", 28, 28), numWorkers: Workers, seed: 1);
        int n = 0;
        foreach (var b in loader) using (b) n += b.Size;
        return n;
    }

    [Benchmark]
    public int Images224RandomResizedCrop()
    {
        var t = new Compose(new RandomResizedCrop(224), new RandomHorizontalFlip());
        using var loader = new DataLoader(_large, 64, shuffle: true, transform: t, numWorkers: Workers, seed: 1);
        int n = 0;
        foreach (var b in loader) using (b) n += b.Size;
        return n;
    }
}
