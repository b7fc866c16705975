using Engine.Nn;

namespace Engine.Tests.Nn;

public class MetricsTests
{
    [Test]
    public void Top1TopKAndConfusionOnAHandWorkedBatch()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = Tensor.FromArray(new[]
        {
            0.9f, 0.05f, 0.05f,   // true 0, predicted 0
            0.6f, 0.3f, 0.1f,     // true 1, predicted 0, true class second
            0.2f, 0.3f, 0.5f,     // true 0, predicted 2, true class third
            0.1f, 0.1f, 0.8f,     // true 2, predicted 2
        }, 4, 3);
        var labels = Tensor.FromArray(new[] { 0L, 1L, 0L, 2L });
        var m = new ClassificationMetrics(3, k: 2);
        m.Update(logits, labels, meanLoss: 0.5);
        Assert.That(m.Top1, Is.EqualTo(0.5));
        Assert.That(m.TopK, Is.EqualTo(0.75));
        Assert.That(m.MeanLoss, Is.EqualTo(0.5));
        Assert.That(m.Confusion, Is.EqualTo(new long[,] { { 1, 0, 1 }, { 1, 0, 0 }, { 0, 0, 1 } }));
    }

    [Test]
    public void MetricsRejectLabelsOutOfRange()
    {
        using var scope = Tensor.NewDisposeScope();
        var m = new ClassificationMetrics(2);
        Assert.Throws<IndexException>(() => m.Update(Tensor.Zeros(1, 2), Tensor.FromArray(new[] { 2L })));
        Assert.Throws<ShapeException>(() => m.Update(Tensor.Zeros(1, 3), Tensor.FromArray(new[] { 0L })));
    }
}
