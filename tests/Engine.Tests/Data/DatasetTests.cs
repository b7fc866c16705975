using Engine.Nn.Data;

namespace Engine.Tests.Data;

public class DatasetTests
{
    [Test]
    public void TensorDatasetReturnsCopiesOfItsSamples()
    {
        var g = TestUtil.Gen();
        using var images = Tensor.Rand([5, 2, 3, 3], DType.Float32, g);
        using var labels = Tensor.FromArray(new long[] { 4, 3, 2, 1, 0 });
        var ds = new TensorDataset(images, labels);
        Assert.That(ds.Count, Is.EqualTo(5));
        for (int i = 0; i < 5; i++)
        {
            using var s = ds.Get(i);
            using var expected = images.Select(0, i);
            Assert.That(s.Image.ToArray<float>(), Is.EqualTo(expected.ToArray<float>()));
            Assert.That(s.Label, Is.EqualTo(4 - i));
        }
        Assert.That(() => ds.Get(5), Throws.TypeOf<IndexException>());
    }

    [Test]
    public void TensorDatasetReadsBytesAsUnitInterval()
    {
        using var images = Tensor.FromArray(new byte[] { 0, 51, 255, 102 }, 2, 1, 1, 2);
        using var labels = Tensor.FromArray(new long[] { 0, 1 });
        var ds = new TensorDataset(images, labels);
        using var s = ds.Get(0);
        Assert.That(s.Image.ToArray<float>(), Is.EqualTo(new[] { 0f, 0.2f }));
        Assert.That(() => new TensorDataset(images, Tensor.FromArray(new long[] { 1 })), Throws.TypeOf<ShapeException>());
    }

    [Test]
    public void SubsetMapsIndices()
    {
        var ds = DataTestUtil.Numbered(10);
        var sub = new Subset(ds, [7, 2, 2]);
        Assert.That(sub.Count, Is.EqualTo(3));
        using var s = sub.Get(0);
        Assert.That(s.Image.ToArray<float>()[0], Is.EqualTo(7));
        Assert.That(sub.LabelOf(1), Is.EqualTo(2));
        Assert.That(() => new Subset(ds, [10]), Throws.TypeOf<IndexException>());
        Assert.That(() => sub.Get(3), Throws.TypeOf<IndexException>());
    }

    private static int[] Ids(Subset s) => s.Indices;

    [Test]
    public void RandomSplitBySizesIsADisjointCoverAndReproducible()
    {
        var ds = DataTestUtil.Numbered(50);
        var parts = Datasets.RandomSplit(ds, [30, 15, 5], new Generator(3));
        Assert.That(parts.Select(p => p.Count), Is.EqualTo(new[] { 30, 15, 5 }));
        var all = parts.SelectMany(Ids).ToArray();
        Assert.That(all.Order(), Is.EqualTo(Enumerable.Range(0, 50)));
        Assert.That(all, Is.Not.EqualTo(Enumerable.Range(0, 50)), "shuffled");
        var again = Datasets.RandomSplit(ds, [30, 15, 5], new Generator(3));
        Assert.That(again.SelectMany(Ids), Is.EqualTo(all));
        var other = Datasets.RandomSplit(ds, [30, 15, 5], new Generator(4));
        Assert.That(other.SelectMany(Ids), Is.Not.EqualTo(all));
        Assert.That(() => Datasets.RandomSplit(ds, [30, 15], new Generator(3)), Throws.TypeOf<ArgumentValueException>());
    }

    [Test]
    public void RandomSplitByFractionsDistributesTheRemainder()
    {
        var ds = DataTestUtil.Numbered(11);
        var parts = Datasets.RandomSplit(ds, [0.5, 0.3, 0.2], new Generator(1));
        // floor: 5, 3, 2 = 10; the 11th goes to the first split.
        Assert.That(parts.Select(p => p.Count), Is.EqualTo(new[] { 6, 3, 2 }));
        Assert.That(parts.SelectMany(Ids).Order(), Is.EqualTo(Enumerable.Range(0, 11)));
        Assert.That(() => Datasets.RandomSplit(ds, [0.5, 0.6], new Generator(1)), Throws.TypeOf<ArgumentValueException>());
    }

    [Test]
    public void StratifiedSubsetTakesTheSameNumberOfEveryClass()
    {
        var ds = DataTestUtil.Numbered(100, classes: 5); // 20 per class
        var sub = Datasets.StratifiedSubset(ds, 7, new Generator(9));
        Assert.That(sub.Count, Is.EqualTo(35));
        Assert.That(Datasets.CountPerClass(sub).Values, Is.All.EqualTo(7));
        Assert.That(sub.Indices, Is.Ordered.Ascending.And.Unique);
        Assert.That(Datasets.StratifiedIndices(ds, 7, new Generator(9)), Is.EqualTo(sub.Indices));
        Assert.That(Datasets.StratifiedIndices(ds, 7, new Generator(10)), Is.Not.EqualTo(sub.Indices));
        Assert.That(() => Datasets.StratifiedIndices(ds, 21, new Generator(9)),
            Throws.TypeOf<ArgumentValueException>().With.Message.Contains("fewer than the 21"));
    }

    [Test]
    public void StratifiedSplitKeepsClassProportions()
    {
        var ds = DataTestUtil.Numbered(100, classes: 4); // 25 per class
        var (sel, rest) = Datasets.StratifiedSplit(ds, 0.2, new Generator(2));
        Assert.That(Datasets.CountPerClass(sel).Values, Is.All.EqualTo(5));
        Assert.That(Datasets.CountPerClass(rest).Values, Is.All.EqualTo(20));
        Assert.That(sel.Indices.Concat(rest.Indices).Order(), Is.EqualTo(Enumerable.Range(0, 100)));
    }

    [Test]
    public void SemiSupervisedSplitHidesTheLabelsOfTheRest()
    {
        var ds = DataTestUtil.Numbered(60, classes: 3);
        var (labelled, unlabelled) = Datasets.SemiSupervisedSplit(ds, 4, new Generator(5));
        Assert.That(labelled.Count, Is.EqualTo(12));
        Assert.That(Datasets.CountPerClass(labelled).Values, Is.All.EqualTo(4));
        Assert.That(unlabelled.Count, Is.EqualTo(48));
        Assert.That(Enumerable.Range(0, 48).Select(i => unlabelled.LabelOf(i)), Is.All.EqualTo(Unlabelled.NoLabel));
        using (var s = unlabelled.Get(0)) Assert.That(s.Label, Is.EqualTo(-1));
        var rest = ((Subset)unlabelled.Dataset).Indices;
        Assert.That(labelled.Indices.Concat(rest).Order(), Is.EqualTo(Enumerable.Range(0, 60)));
        // The truth stays reachable for evaluation.
        Assert.That(unlabelled.Dataset.LabelOf(0), Is.EqualTo(ds.LabelOf(rest[0])));
    }
}
