namespace Engine.Nn;

/// <summary>
/// Running classification metrics over an epoch: top-1 and top-k accuracy and a confusion matrix
/// (rows: true class, columns: predicted class).
/// </summary>
public sealed class ClassificationMetrics
{
    private readonly long[,] _confusion;
    private long _count, _top1, _topK;
    private double _lossSum;
    private long _lossCount;

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>The k of top-k accuracy (5 by default, capped at the number of classes).</summary>
    public int K { get; }

    /// <summary>Creates empty metrics.</summary>
    public ClassificationMetrics(int numClasses, int k = 5)
    {
        if (numClasses < 1) throw new ArgumentValueException("metrics", $"number of classes must be positive, got {numClasses}");
        NumClasses = numClasses;
        K = Math.Min(k, numClasses);
        _confusion = new long[numClasses, numClasses];
    }

    /// <summary>Adds a batch: logits [N, classes], int64 labels [N], and optionally the batch's mean loss.</summary>
    public void Update(Tensor logits, Tensor labels, double? meanLoss = null)
    {
        if (logits.Rank != 2 || logits.Size(1) != NumClasses || labels.Rank != 1 || labels.Size(0) != logits.Size(0))
            throw new ShapeException("metrics", $"expected logits [N, {NumClasses}] and labels [N], got {logits.Describe()} and {labels.Describe()}");
        var scores = logits.ToDoubleArray();
        var y = labels.ToArray<long>();
        int c = NumClasses;
        for (int i = 0; i < y.Length; i++)
        {
            if (y[i] < 0 || y[i] >= c) throw new IndexException("metrics", $"label {y[i]} is out of range for {c} classes");
            int best = 0;
            double truth = scores[i * c + y[i]];
            int above = 0; // classes scored strictly higher than the true one (ties count in its favour)
            for (int j = 0; j < c; j++)
            {
                double s = scores[i * c + j];
                if (s > scores[i * c + best]) best = j;
                if (s > truth) above++;
            }
            _confusion[y[i], best]++;
            if (best == y[i]) _top1++;
            if (above < K) _topK++;
            _count++;
        }
        if (meanLoss is double l) { _lossSum += l * y.Length; _lossCount += y.Length; }
    }

    /// <summary>Samples seen.</summary>
    public long Count => _count;

    /// <summary>Fraction whose highest score is the true class.</summary>
    public double Top1 => _count == 0 ? 0 : (double)_top1 / _count;

    /// <summary>Fraction whose true class is among the K highest scores.</summary>
    public double TopK => _count == 0 ? 0 : (double)_topK / _count;

    /// <summary>Mean loss over the samples added with a loss.</summary>
    public double MeanLoss => _lossCount == 0 ? double.NaN : _lossSum / _lossCount;

    /// <summary>A copy of the confusion matrix.</summary>
    public long[,] Confusion => (long[,])_confusion.Clone();
}
