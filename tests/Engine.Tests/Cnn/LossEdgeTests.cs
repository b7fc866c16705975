namespace Engine.Tests.Cnn;

public class LossEdgeTests
{
    [Test]
    public void MseLossNamesItselfWhenShapesDoNotBroadcast()
    {
        using var scope = Tensor.NewDisposeScope();
        var ex = Assert.Throws<ShapeException>(() => Functional.MseLoss(Tensor.Zeros(2, 3), Tensor.Zeros(4)));
        Assert.That(ex!.Message, Does.StartWith("mse_loss:").And.Contain("[2, 3]").And.Contain("[4]"));
    }

    [Test]
    public void AnIgnoreIndexWithProbabilityTargetsIsRejected()
    {
        using var scope = Tensor.NewDisposeScope();
        var logits = Tensor.Randn([2, 3], DType.Float32, TestUtil.Gen());
        var probs = Tensor.Full([2, 3], 1.0 / 3);
        var ex = Assert.Throws<ArgumentValueException>(() => Functional.CrossEntropy(logits, probs, ignoreIndex: 0));
        Assert.That(ex!.Message, Does.StartWith("cross_entropy:").And.Contain("ignore_index=0"));
        Assert.That(Functional.CrossEntropy(logits, probs).Item(), Is.GreaterThan(0), "the default ignore index is fine");
    }
}
