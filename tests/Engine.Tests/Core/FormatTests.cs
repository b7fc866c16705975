namespace Engine.Tests.Core;

public class FormatTests
{
    [Test]
    public void FloatsPrintWithFourDecimalsLikePyTorch()
    {
        using var t = Tensor.FromArray(new[] { 1.5f, -2.25f, 3f, 0.125f }, 2, 2);
        Assert.That(t.ToString(), Is.EqualTo("tensor([[ 1.5000, -2.2500],\n        [ 3.0000,  0.1250]])"));
    }

    [Test]
    public void WholeFloatsPrintWithATrailingDot()
    {
        using var t = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 });
        Assert.That(t.ToString(), Is.EqualTo("tensor([1., 2., 3.], dtype=torch.float64)"));
    }

    [Test]
    public void IntegersAndBools()
    {
        using var i = Tensor.FromArray(new[] { 1L, -20L });
        using var b = Tensor.FromArray(new[] { true, false });
        Assert.That(i.ToString(), Is.EqualTo("tensor([  1, -20])"));
        Assert.That(b.ToString(), Is.EqualTo("tensor([ True, False])"));
    }

    [Test]
    public void ScalarsAndGradState()
    {
        using var s = Tensor.Scalar(2.5);
        Assert.That(s.ToString(), Is.EqualTo("tensor(2.5000)"));
        using var x = Tensor.FromArray(new[] { 1f, 2f }).RequiresGrad_();
        Assert.That(x.ToString(), Does.EndWith("requires_grad=True)"));
        using var y = x.Mul(2.0);
        Assert.That(y.ToString(), Does.EndWith("grad_fn=<mulBackward>)"));
    }

    [Test]
    public void LargeTensorsAreSummarisedWithEllipsisAndSize()
    {
        using var t = Tensor.Arange(0, 2000, 1, DType.Float32);
        var s = t.ToString();
        Assert.That(s, Does.StartWith("tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.]"));
        Assert.That(s, Does.Contain("size=(2000,)"));
    }

    [Test]
    public void DescribeShowsShapeDTypeAndDevice()
    {
        using var t = Tensor.Zeros([2, 3], DType.Float64);
        Assert.That(t.Describe(), Is.EqualTo("Tensor([2, 3], float64, cpu)"));
    }
}
