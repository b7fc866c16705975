using Engine.Models;

namespace Engine.Tests.Models;

/// <summary>The VGG configuration table against the paper's Table 1 (the zoo tests check the built models).</summary>
[TestFixture]
public sealed class VggTests
{
    [TestCase("A", 11, 8), TestCase("B", 13, 10), TestCase("D", 16, 13), TestCase("E", 19, 16)]
    public void ConfigurationGivesThePublishedDepth(string config, int weightLayers, int convolutions)
    {
        var cfg = Vgg.Configs[config];
        Assert.That(cfg.Count(v => v != Vgg.M), Is.EqualTo(convolutions), $"{config}: convolutions");
        Assert.That(cfg.Count(v => v != Vgg.M) + 3, Is.EqualTo(weightLayers), $"{config}: weight layers (with the three fully connected)");
        Assert.That(cfg.Count(v => v == Vgg.M), Is.EqualTo(5), $"{config}: five max pools (224 -> 7)");
        Assert.That(cfg[^1], Is.EqualTo(Vgg.M), $"{config}: ends with a pool");
        Assert.That(cfg.Where(v => v != Vgg.M).Distinct(), Is.EqualTo(new[] { 64, 128, 256, 512 }), $"{config}: widths double per stage up to 512");
        Assert.That(ModelRegistry.Info($"vgg{weightLayers}").Paper, Does.Contain($"configuration {config}"));
        Assert.That(ModelRegistry.Info($"vgg{weightLayers}_bn").Paper, Does.Contain($"configuration {config}"));
    }
}
