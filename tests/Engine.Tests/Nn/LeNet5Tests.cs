using Engine.Models;

namespace Engine.Tests.Nn;

public class LeNet5Tests
{
    [Test]
    public void LeNet5HasTheClassicShapesAndParameterCount()
    {
        using var net = ModelRegistry.Create("LeNet5", new ModelOptions(Generator: TestUtil.Gen()));
        // conv1 6·25+6, conv2 16·150+16, fc 400·120+120, 120·84+84, 84·10+10
        Assert.That(net.ParameterCount(), Is.EqualTo(156 + 2416 + 48120 + 10164 + 850));
        Assert.That(net.StateDict().Keys, Is.EqualTo(new[]
        {
            "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
            "classifier.0.weight", "classifier.0.bias", "classifier.2.weight", "classifier.2.bias", "classifier.4.weight", "classifier.4.bias",
        }));
        using var scope = Tensor.NewDisposeScope();
        var y = net.Call(Tensor.Randn([3, 1, 28, 28], DType.Float32, TestUtil.Gen()));
        Assert.That(y.Shape, Is.EqualTo(new long[] { 3, 10 }));
    }

    [Test]
    public void UnknownModelNamesListTheKnownOnes()
    {
        var ex = Assert.Throws<ArgumentValueException>(() => ModelRegistry.Create("resnet999"));
        Assert.That(ex!.Message, Does.Contain("lenet5"));
    }
}
