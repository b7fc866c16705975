using Engine.Nn;

namespace Engine.Tests.Nn;

/// <summary>clip_grad_norm_ (2, 1, p and inf norms) and clip_grad_value_, against hand-worked values.</summary>
public class GradClipTests
{
    private static (Tensor A, Tensor B, Tensor C) Params()
    {
        var a = Tensor.FromArray([0.0, 0.0]).RequiresGrad_();
        var b = Tensor.FromArray([0.0]).RequiresGrad_();
        var c = Tensor.FromArray([0.0]).RequiresGrad_(); // no gradient: ignored
        a.Grad = Tensor.FromArray([3.0, -4.0]);
        b.Grad = Tensor.FromArray([12.0]);
        return (a, b, c);
    }

    [Test]
    public void TwoNormScalesEveryGradientWhenAboveTheMaximum()
    {
        var (a, b, c) = Params();
        double total = GradClip.ClipGradNorm([a, b, c], maxNorm: 6.5);
        Assert.That(total, Is.EqualTo(13.0).Within(1e-14), "√(9 + 16 + 144)");
        double k = 6.5 / (13 + 1e-6);
        Assert.That(a.Grad!.ToArray<double>(), Is.EqualTo(new[] { 3 * k, -4 * k }).Within(1e-15));
        Assert.That(b.Grad!.ToArray<double>(), Is.EqualTo(new[] { 12 * k }).Within(1e-15));
        Assert.That(c.Grad, Is.Null);
        Assert.That(GradClip.ClipGradNorm([a, b], 100), Is.EqualTo(6.5).Within(1e-6), "the clipped norm");
        a.Dispose(); b.Dispose(); c.Dispose();
    }

    [Test]
    public void BelowTheMaximumNothingChanges()
    {
        var (a, b, c) = Params();
        double total = GradClip.ClipGradNorm([a, b, c], maxNorm: 20);
        Assert.That(total, Is.EqualTo(13.0).Within(1e-14));
        Assert.That(a.Grad!.ToArray<double>(), Is.EqualTo(new[] { 3.0, -4.0 }));
        Assert.That(b.Grad!.ToArray<double>(), Is.EqualTo(new[] { 12.0 }));
        a.Dispose(); b.Dispose(); c.Dispose();
    }

    [Test]
    public void InfinityNormIsTheLargestMagnitude()
    {
        var (a, b, c) = Params();
        double total = GradClip.ClipGradNorm([a, b, c], maxNorm: 6, normType: double.PositiveInfinity);
        Assert.That(total, Is.EqualTo(12.0));
        double k = 6 / (12 + 1e-6);
        Assert.That(a.Grad!.ToArray<double>(), Is.EqualTo(new[] { 3 * k, -4 * k }).Within(1e-15));
        Assert.That(b.Grad!.ToArray<double>(), Is.EqualTo(new[] { 12 * k }).Within(1e-15));
        a.Dispose(); b.Dispose(); c.Dispose();
    }

    [Test]
    public void OneAndThreeNorms()
    {
        var (a, b, c) = Params();
        Assert.That(GradClip.ClipGradNorm([a, b], 100, normType: 1), Is.EqualTo(19.0).Within(1e-14));
        Assert.That(GradClip.ClipGradNorm([a, b], 100, normType: 3), Is.EqualTo(Math.Pow(27 + 64 + 1728, 1.0 / 3)).Within(1e-12));
        a.Dispose(); b.Dispose(); c.Dispose();
    }

    [Test]
    public void Float32GradientsAndNoGradients()
    {
        using var p = Tensor.Zeros([3], DType.Float32).RequiresGrad_();
        Assert.That(GradClip.ClipGradNorm([p], 1), Is.Zero, "nothing to clip");
        p.Grad = Tensor.FromArray([2f, 0f, 0f]);
        Assert.That(GradClip.ClipGradNorm([p], 1), Is.EqualTo(2.0).Within(1e-6));
        Assert.That(p.Grad!.ToArray<float>()[0], Is.EqualTo(2 / (2 + 1e-6)).Within(1e-6));
    }

    [Test]
    public void NonFiniteNormRaisesOnlyWhenAsked()
    {
        using var p = Tensor.Zeros([2], DType.Float64).RequiresGrad_();
        p.Grad = Tensor.FromArray([double.PositiveInfinity, 1.0]);
        var ex = Assert.Throws<ArgumentValueException>(() => GradClip.ClipGradNorm([p], 1, errorIfNonfinite: true));
        Assert.That(ex!.Message, Does.StartWith("clip_grad_norm:").And.Contain("non-finite"));
        Assert.That(GradClip.ClipGradNorm([p], 1), Is.EqualTo(double.PositiveInfinity));
    }

    [Test]
    public void ClipByValueClampsEachElement()
    {
        var (a, b, c) = Params();
        GradClip.ClipGradValue([a, b, c], 3.5);
        Assert.That(a.Grad!.ToArray<double>(), Is.EqualTo(new[] { 3.0, -3.5 }));
        Assert.That(b.Grad!.ToArray<double>(), Is.EqualTo(new[] { 3.5 }));
        Assert.That(c.Grad, Is.Null);
        a.Dispose(); b.Dispose(); c.Dispose();
    }

    [Test]
    public void BadArgumentsRaise()
    {
        var (a, b, c) = Params();
        Assert.That(Assert.Throws<ArgumentValueException>(() => GradClip.ClipGradNorm([a], -1))!.Message, Does.StartWith("clip_grad_norm:"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => GradClip.ClipGradNorm([a], 1, normType: 0))!.Message, Does.StartWith("clip_grad_norm:"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => GradClip.ClipGradValue([a], -1))!.Message, Does.StartWith("clip_grad_value:"));
        a.Dispose(); b.Dispose(); c.Dispose();
    }
}
