using Engine.Nn;
using static Engine.Tests.Training.RecipesTestData;

namespace Engine.Tests.Training;

public class RecipesKnnTests
{
    private static double Naive(DistanceMetric metric, double[] a, double[] b)
    {
        double s = 0, na = 0, nb = 0, dot = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += metric == DistanceMetric.L1 ? Math.Abs(a[i] - b[i]) : (a[i] - b[i]) * (a[i] - b[i]);
            dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i];
        }
        return metric == DistanceMetric.Cosine ? 1 - dot / (Math.Sqrt(na) * Math.Sqrt(nb)) : s;
    }

    [TestCase(DistanceMetric.L1, 1)]
    [TestCase(DistanceMetric.L2, 3)]
    [TestCase(DistanceMetric.Cosine, 4)]
    [TestCase(DistanceMetric.L2, 6)]
    public void PredictionsEqualANaiveLoop(DistanceMetric metric, int k)
    {
        const int n = 40, q = 23, d = 7, classes = 4;
        var g = new Generator(5 + (ulong)k);
        using var scope = Tensor.NewDisposeScope();
        var train = Tensor.Randn([n, d], DType.Float64, g);
        var labels = Tensor.RandInt(0, classes, [n], generator: g);
        var queries = Tensor.Randn([q, d], DType.Float64, g);
        using var knn = new KNearestNeighbors(train, labels, classes, k, metric);
        double[] x = train.ToArray<double>(), y = queries.ToArray<double>();
        long[] l = labels.ToArray<long>();
        var predicted = knn.Predict(queries, batchSize: 5).ToArray<long>();
        var dist = knn.Distances(queries).ToArray<double>();
        var (nearest, _) = knn.Nearest(queries);
        var nearestIdx = nearest.ToArray<long>();
        for (int i = 0; i < q; i++)
        {
            var row = y.AsSpan(i * d, d).ToArray();
            var ds = Enumerable.Range(0, n).Select(j => (J: j, D: Naive(metric, row, x.AsSpan(j * d, d).ToArray()))).OrderBy(t => t.D).ToList();
            for (int j = 0; j < n; j++)
                Assert.That(dist[i * n + ds[j].J], Is.EqualTo(ds[j].D).Within(1e-9), "distance");
            Assert.That(nearestIdx.AsSpan(i * k, k).ToArray(), Is.EqualTo(ds.Take(k).Select(t => (long)t.J).ToArray()), "neighbours, nearest first");
            // Majority vote; ties go to the tied class whose member comes first.
            var votes = new int[classes];
            foreach (var t in ds.Take(k)) votes[l[t.J]]++;
            int max = votes.Max();
            long expected = ds.Take(k).Select(t => l[t.J]).First(c => votes[c] == max);
            Assert.That(predicted[i], Is.EqualTo(expected), $"query {i}");
        }
    }

    [Test]
    public void FloatFeaturesAndAccuracy()
    {
        using var scope = Tensor.NewDisposeScope();
        var data = Problem(1, 60, noise: 0.2);
        var test = Problem(2, 30, noise: 0.2);
        var pixels = FeatureExtractor.Pixels(data);
        Assert.That(pixels.Shape, Is.EqualTo(new long[] { 60, 64 }));
        var labels = Tensor.FromArray(Enumerable.Range(0, 60).Select(i => (long)(i % 3)).ToArray());
        var testLabels = Tensor.FromArray(Enumerable.Range(0, 30).Select(i => (long)(i % 3)).ToArray());
        using var knn = new KNearestNeighbors(pixels, labels, 3, 3, DistanceMetric.L2);
        Assert.That(knn.Accuracy(FeatureExtractor.Pixels(test), testLabels), Is.EqualTo(1.0), "well separated patterns");
        Assert.That(() => new KNearestNeighbors(pixels, labels, 3, 61), Throws.TypeOf<RecipeException>());
    }

    [Test]
    public void PenultimateFeaturesAreTheHeadsInput()
    {
        var data = Problem(1, 10);
        using var model = PlainNet(3);
        using var scope = Tensor.NewDisposeScope();
        var f = FeatureExtractor.Penultimate(model, data, "4", batchSize: 4);
        Assert.That(f.Shape, Is.EqualTo(new long[] { 10, 64 }));
        var images = Tensor.Stack(Enumerable.Range(0, 10).Select(i => data.Get(i).Image).ToList(), 0);
        Tensor expected;
        using (Tensor.NoGrad()) expected = model[3].Call(model[2].Call(model[1].Call(model[0].Call(images))));
        Assert.That(f.ToArray<float>(), Is.EqualTo(expected.ToArray<float>()).Within(1e-5));
    }
}
