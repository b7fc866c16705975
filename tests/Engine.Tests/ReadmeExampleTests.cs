namespace Engine.Tests;

/// <summary>The README's example, kept compiling and running.</summary>
public class ReadmeExampleTests
{
    [Test]
    public void TheReadmeExampleRunsAndProducesAGradientShapedLikeTheWeights()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Randn([4, 3], DType.Float32, new Generator(seed: 42));
        var w = Tensor.Randn([3, 2], DType.Float32, new Generator(seed: 7)).RequiresGrad_();
        var loss = x.MatMul(w).Relu().Softmax(dim: 1).Square().Sum();
        loss.Backward();
        Assert.That(loss.ToString(), Does.StartWith("tensor(").And.EndWith("grad_fn=<sumBackward>)"));
        Assert.That(w.Grad!.Shape, Is.EqualTo(new long[] { 3, 2 }));
    }
}

