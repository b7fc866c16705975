namespace Engine.Nn;

/// <summary>
/// The k-nearest-neighbour classifier: a query takes the majority class of its k nearest stored samples (ties go to
/// the tied class with the nearest member). Distances of a batch of queries to every stored sample come from one
/// matrix product (L2, cosine) or a chunked broadcast (L1), and the k nearest from k masked minimum searches, all
/// with tensor ops on the features' device (CPU or GPU). Use it on raw pixels or on a network's penultimate features
/// (<see cref="FeatureExtractor"/>).
/// </summary>
/// <example>
/// <code>
/// using var knn = new KNearestNeighbors(trainFeatures, trainLabels, numClasses: 10, k: 5, DistanceMetric.Cosine);
/// double accuracy = knn.Accuracy(testFeatures, testLabels);
/// </code>
/// </example>
public sealed class KNearestNeighbors : IDisposable
{
    private const string Op = "knn";
    private readonly Tensor _features, _labels;
    private readonly Tensor? _sqNorms;

    /// <summary>Neighbours that vote.</summary>
    public int K { get; }
    /// <summary>The distance.</summary>
    public DistanceMetric Metric { get; }
    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }
    /// <summary>Stored samples.</summary>
    public int Count => (int)_features.Size(0);

    /// <summary>Stores copies of <paramref name="features"/> [N, D] (float) and <paramref name="labels"/> [N] (int64, in 0 … classes − 1).</summary>
    public KNearestNeighbors(Tensor features, Tensor labels, int numClasses, int k = 5, DistanceMetric metric = DistanceMetric.L2)
    {
        if (features.Rank != 2) throw new ShapeException(Op, $"expected features [N, D], got {features.Describe()}");
        if (labels.Rank != 1 || labels.Size(0) != features.Size(0)) throw new ShapeException(Op, $"expected labels [{features.Size(0)}], got {labels.Describe()}");
        if (labels.DType != DType.Int64) throw new DTypeException(Op, $"labels must be int64, got {labels.DType}");
        if (!features.DType.IsFloatingPoint()) throw new DTypeException(Op, $"features must be floating point, got {features.DType}");
        if (k < 1 || k > features.Size(0)) throw new RecipeException(Op, $"k must be in 1 … {features.Size(0)} (the stored samples), got {k}");
        if (numClasses < 1) throw new RecipeException(Op, $"number of classes must be positive, got {numClasses}");
        (K, Metric, NumClasses) = (k, metric, numClasses);
        using var scope = Tensor.NewDisposeScope();
        using var noGrad = Tensor.NoGrad();
        var f = features.Detach().Contiguous().Clone();
        if (metric == DistanceMetric.Cosine) f = Normalise(f);
        _features = f.DetachFromDisposeScope();
        _labels = labels.Detach().To(features.Device).Clone().DetachFromDisposeScope();
        if (metric == DistanceMetric.L2) _sqNorms = _features.Square().Sum(1).DetachFromDisposeScope();
    }

    private static Tensor Normalise(Tensor x) => x.Div(x.Square().Sum(1, keepDim: true).Sqrt().Clamp(min: 1e-12));

    /// <summary>The distance of every query [Q, D] to every stored sample: [Q, N] (squared for L2, which ranks the same).</summary>
    public Tensor Distances(Tensor queries)
    {
        if (queries.Rank != 2 || queries.Size(1) != _features.Size(1))
            throw new ShapeException(Op, $"expected queries [Q, {_features.Size(1)}], got {queries.Describe()}");
        using var noGrad = Tensor.NoGrad();
        using var scope = Tensor.NewDisposeScope();
        var q = queries.Detach().To(_features.Device).To(_features.DType);
        Tensor d;
        switch (Metric)
        {
            case DistanceMetric.L2:
                d = q.Square().Sum(1, keepDim: true).Add(_sqNorms!.Unsqueeze(0)).Sub(q.MatMul(_features.Transpose(0, 1)).Mul(2)).Clamp(min: 0);
                break;
            case DistanceMetric.Cosine:
                d = Normalise(q).MatMul(_features.Transpose(0, 1)).Neg().Add(1);
                break;
            default:
                // |q − x| summed over D, a chunk of queries at a time so the [chunk, N, D] difference stays near 64M elements.
                long perQuery = Math.Max(1, _features.Size(0) * _features.Size(1));
                long chunk = Math.Max(1, (64L << 20) / perQuery);
                var parts = new List<Tensor>();
                for (long s = 0; s < q.Size(0); s += chunk)
                {
                    long n = Math.Min(chunk, q.Size(0) - s);
                    parts.Add(q.Narrow(0, s, n).Unsqueeze(1).Sub(_features.Unsqueeze(0)).Abs().Sum(2));
                }
                d = parts.Count == 1 ? parts[0] : Tensor.Cat(parts, 0);
                break;
        }
        return d.MoveToOuterDisposeScope();
    }

    /// <summary>The indices [Q, k] of each query's k nearest stored samples, nearest first, and their distances [Q, k].</summary>
    public (Tensor Indices, Tensor Distances) Nearest(Tensor queries)
    {
        using var noGrad = Tensor.NoGrad();
        using var scope = Tensor.NewDisposeScope();
        var d = Distances(queries);
        var idx = new List<Tensor>();
        var dist = new List<Tensor>();
        for (int r = 0; r < K; r++)
        {
            var (v, i) = d.Min(1);
            idx.Add(i);
            dist.Add(v);
            if (r + 1 < K) d = d.MaskedFill(i.OneHot(_features.Size(0)).Eq(1), double.PositiveInfinity);
        }
        return (Tensor.Stack(idx, 1).MoveToOuterDisposeScope(), Tensor.Stack(dist, 1).MoveToOuterDisposeScope());
    }

    /// <summary>The predicted class of each query [Q, D], [Q] int64, in batches of <paramref name="batchSize"/> queries.</summary>
    public Tensor Predict(Tensor queries, int batchSize = 256)
    {
        if (batchSize < 1) throw new RecipeException(Op, $"batch size must be positive, got {batchSize}");
        using var noGrad = Tensor.NoGrad();
        using var scope = Tensor.NewDisposeScope();
        // Rank r votes 1 + 2^−(r+1): the bonuses sum to less than one vote, so the count decides and, among classes
        // tied on count, the one holding the nearest neighbour wins.
        var bonus = Enumerable.Range(0, K).Select(r => 1 + Math.Pow(2, -(r + 1))).ToArray();
        var weights = Tensor.FromArray(bonus, 1, K, 1).To(_features.Device);
        var parts = new List<Tensor>();
        for (long s = 0; s < queries.Size(0); s += batchSize)
        {
            long n = Math.Min(batchSize, queries.Size(0) - s);
            var (nearest, _) = Nearest(queries.Narrow(0, s, n));
            var votes = _labels.IndexSelect(0, nearest.Reshape(-1)).Reshape(n, K).OneHot(NumClasses).To(DType.Float64).Mul(weights).Sum(1);
            parts.Add(votes.ArgMax(1));
        }
        if (parts.Count == 0) return Tensor.Zeros([0], DType.Int64, _features.Device).MoveToOuterDisposeScope();
        return (parts.Count == 1 ? parts[0] : Tensor.Cat(parts, 0)).MoveToOuterDisposeScope();
    }

    /// <summary>The fraction of <paramref name="queries"/> whose predicted class equals <paramref name="labels"/>.</summary>
    public double Accuracy(Tensor queries, Tensor labels, int batchSize = 256)
    {
        using var scope = Tensor.NewDisposeScope();
        var predicted = Predict(queries, batchSize);
        if (predicted.Size(0) == 0) return double.NaN;
        return predicted.Eq(labels.To(predicted.Device)).To(DType.Float64).Mean().Item();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _features.Dispose();
        _labels.Dispose();
        _sqNorms?.Dispose();
    }
}
