using Engine.Nn.Data;

namespace Engine.Tests.Data;

public class FashionMnistTests
{
    [TestCase(true, 6000)]
    [TestCase(false, 1000)]
    public void EmbeddedSubsetHasTenBalancedClasses(bool train, int count)
    {
        var ds = FashionMnist.Embedded(train);
        Assert.That(ds.Source, Is.EqualTo(FashionMnistSource.EmbeddedSubset));
        Assert.That(ds.Count, Is.EqualTo(count));
        Assert.That((ds.Height, ds.Width), Is.EqualTo((28, 28)));
        Assert.That(ds.Classes, Is.EqualTo(FashionMnist.ClassNames));
        var perClass = Datasets.CountPerClass(ds);
        Assert.That(perClass.Keys, Is.EqualTo(Enumerable.Range(0, 10).Select(i => (long)i)));
        Assert.That(perClass.Values, Is.All.EqualTo(count / 10));
        using var s = ds.Get(count - 1);
        Assert.That(s.Image.Shape, Is.EqualTo(new long[] { 1, 28, 28 }));
        var v = s.Image.ToArray<float>();
        Assert.That(v.Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(v.Max(), Is.LessThanOrEqualTo(1f).And.GreaterThan(0.5f));
    }

    [Test]
    public void LoadWithoutPathSaysWhereTheDataCameFrom()
    {
        var ds = FashionMnist.Load(train: false);
        if (FashionMnist.IsInstalled())
        {
            Assert.That(ds.Source, Is.EqualTo(FashionMnistSource.Installed));
            Assert.That(ds.Count, Is.EqualTo(10_000));
        }
        else
        {
            Assert.That(ds.Source, Is.EqualTo(FashionMnistSource.EmbeddedSubset));
            Assert.That(ds.Count, Is.EqualTo(1000));
        }
    }

    [Test]
    public void MissingFolderIsADataException()
    {
        var e = Assert.Throws<DataException>(() => FashionMnist.Load("/no/such/fashion-mnist"))!;
        Assert.That(e.Message, Does.Contain("/no/such/fashion-mnist"));
    }

    [Test]
    public void FullSetLoadsFromAPath()
    {
        var path = DataTestUtil.FullFashionMnist();
        if (path is null) Assert.Ignore("the full Fashion-MNIST set is not available (set ENGINE_FASHION_MNIST or install dataset-fashion-mnist)");
        var train = FashionMnist.Load(path, train: true);
        var test = FashionMnist.Load(path, train: false);
        Assert.That(train.Count, Is.EqualTo(60_000));
        Assert.That(test.Count, Is.EqualTo(10_000));
        Assert.That(train.Source, Is.EqualTo(FashionMnistSource.Path));
        Assert.That(Datasets.CountPerClass(train).Values, Is.All.EqualTo(6000));
        Assert.That(Datasets.CountPerClass(test).Values, Is.All.EqualTo(1000));
        Assert.That(test.LabelOf(0), Is.EqualTo(9), "the first test image is an ankle boot");
        Assert.That(train.LabelOf(0), Is.EqualTo(9), "the first training image is an ankle boot");
    }

    [Test]
    public void EmbeddedSubsetIsTheStratifiedSubsetOfTheFullSet()
    {
        var path = DataTestUtil.FullFashionMnist();
        if (path is null) Assert.Ignore("the full Fashion-MNIST set is not available");
        using var dir = DataTestUtil.TempDir();
        FashionMnist.WriteStratifiedSubset(path, dir.Path);
        foreach (bool train in new[] { true, false })
        {
            var made = FashionMnist.Load(dir.Path, train);
            var embedded = FashionMnist.Embedded(train);
            Assert.That(made.Count, Is.EqualTo(embedded.Count));
            for (int i = 0; i < made.Count; i++)
            {
                Assert.That(made.LabelOf(i), Is.EqualTo(embedded.LabelOf(i)));
                if (!made.RawImage(i).SequenceEqual(embedded.RawImage(i))) Assert.Fail($"image {i} differs (train={train})");
            }
        }
        string embeddedFolder = Path.Combine(DataTestUtil.RepoRoot(), "src/Nn/Data/FashionMnistSubset");
        foreach (var f in Directory.GetFiles(dir.Path))
            Assert.That(File.ReadAllBytes(f), Is.EqualTo(File.ReadAllBytes(Path.Combine(embeddedFolder, Path.GetFileName(f)))),
                $"{Path.GetFileName(f)} is byte-identical to the committed file");
    }

    /// <summary>Re-makes the committed subset from the full set (see src/Nn/Data/FashionMnistSubset/README.md).</summary>
    [Test, Explicit("writes into the source tree")]
    public void RegenerateEmbeddedSubset()
    {
        var path = DataTestUtil.FullFashionMnist();
        if (path is null) Assert.Ignore("the full Fashion-MNIST set is not available");
        string output = Path.Combine(DataTestUtil.RepoRoot(), "src/Nn/Data/FashionMnistSubset");
        FashionMnist.WriteStratifiedSubset(path, output);
        TestContext.Out.WriteLine($"wrote the subset of {path} to {output}");
    }
}
