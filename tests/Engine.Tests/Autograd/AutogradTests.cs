namespace Engine.Tests.Autograd;

public class AutogradTests
{
    [Test]
    public void GradientOfAProductIsTheOtherFactor()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 2.0, -3.0 }).RequiresGrad_();
        var y = Tensor.FromArray(new[] { 5.0, 7.0 }).RequiresGrad_();
        x.Mul(y).Sum().Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 5.0, 7.0 }));
        Assert.That(y.Grad!.ToArray<double>(), Is.EqualTo(new[] { 2.0, -3.0 }));
    }

    [Test]
    public void GradAccumulatesAcrossBackwardCalls()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.5, 2.5 }).RequiresGrad_();
        x.Square().Sum().Backward();
        x.Square().Sum().Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 6.0, 10.0 }));
    }

    [Test]
    public void ATensorUsedTwiceReceivesBothGradients()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 3.0 }).RequiresGrad_();
        // y = x*x + 2x  =>  dy/dx = 2x + 2 = 8
        x.Mul(x).Add(x.Mul(2.0)).Sum().Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 8.0 }));
    }

    [Test]
    public void BroadcastGradientIsReducedToTheInputShape()
    {
        using var scope = Tensor.NewDisposeScope();
        var a = Tensor.Ones([2, 3], DType.Float64).RequiresGrad_();
        var b = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }).RequiresGrad_();
        a.Mul(b).Sum().Backward();
        Assert.That(b.Grad!.Shape, Is.EqualTo(new long[] { 3 }));
        Assert.That(b.Grad!.ToArray<double>(), Is.EqualTo(new[] { 2.0, 2.0, 2.0 }));
        Assert.That(a.Grad!.ToArray<double>(), Is.EqualTo(new[] { 1.0, 2.0, 3.0, 1.0, 2.0, 3.0 }));
    }

    [Test]
    public void GradientFlowsThroughViews()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.Arange(0, 6, 1, DType.Float64).Reshape(2, 3).RequiresGrad_();
        x.T.Narrow(0, 1, 2).Mul(2.0).Sum().Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new double[] { 0, 2, 2, 0, 2, 2 }));
    }

    [Test]
    public void BackwardWithAnExplicitGradientOnANonScalar()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.0, 2.0 }).RequiresGrad_();
        var y = x.Mul(3.0);
        y.Backward(Tensor.FromArray(new[] { 1.0, 10.0 }));
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 3.0, 30.0 }));
    }

    [Test]
    public void BackwardTwiceThroughAFreedGraphThrows()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.0, 2.0 }).RequiresGrad_();
        var y = x.Exp().Sum();
        y.Backward();
        var ex = Assert.Throws<AutogradException>(() => y.Backward());
        Assert.That(ex!.Message, Does.Contain("second time"));
    }

    [Test]
    public void RetainGraphAllowsASecondBackward()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.0 }).RequiresGrad_();
        var y = x.Exp().Sum();
        y.Backward(retainGraph: true);
        y.Backward();
        Assert.That(x.Grad!.ToArray<double>()[0], Is.EqualTo(2 * Math.E).Within(1e-12));
    }

    [Test]
    public void BackwardOnATensorWithoutGradThrows()
    {
        using var x = Tensor.FromArray(new[] { 1.0 });
        Assert.Throws<AutogradException>(() => x.Backward());
    }

    [Test]
    public void BackwardOnANonScalarWithoutGradientThrows()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.0, 2.0 }).RequiresGrad_();
        var ex = Assert.Throws<AutogradException>(() => x.Mul(2.0).Backward());
        Assert.That(ex!.Message, Does.Contain("scalar"));
    }

    [Test]
    public void NoGradScopeRecordsNothing()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.0 }).RequiresGrad_();
        Tensor y;
        using (Tensor.NoGrad()) y = x.Mul(2.0);
        Assert.That(y.RequiresGrad, Is.False);
        Assert.That(y.GradFn, Is.Null);
        Assert.That(x.Mul(2.0).RequiresGrad, Is.True);
    }

    [Test]
    public void DetachCutsTheGraphButSharesStorage()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.0, 2.0 }).RequiresGrad_();
        var d = x.Mul(2.0).Detach();
        Assert.That(d.RequiresGrad, Is.False);
        var y = x.Mul(d).Sum();
        y.Backward();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 2.0, 4.0 }));
    }

    [Test]
    public void InPlaceOnALeafThatRequiresGradThrows()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Tensor.FromArray(new[] { 1.0 }).RequiresGrad_();
        Assert.Throws<AutogradException>(() => x.MulInPlace(2));
        using (Tensor.NoGrad()) x.MulInPlace(2);
        Assert.That(x.Item(), Is.EqualTo(2.0));
    }

    [Test]
    public void IntegerTensorsCannotRequireGrad()
    {
        using var x = Tensor.Arange(3);
        Assert.Throws<DTypeException>(() => x.RequiresGrad = true);
    }

    [Test]
    public void GradIsOwnedByTheLeafAndSurvivesTheScope()
    {
        var x = Tensor.FromArray(new[] { 1.0, 2.0 }).RequiresGrad_();
        using (Tensor.NewDisposeScope()) x.Square().Sum().Backward();
        Assert.That(x.Grad!.IsDisposed, Is.False);
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(new[] { 2.0, 4.0 }));
        x.Dispose();
    }

    [Test]
    public void GradCheckCatchesAWrongGradient()
    {
        // A deliberately wrong backward: x³ claiming the derivative 2x instead of 3x².
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var x = TestUtil.Leaf(g, 3);
        Func<Tensor[], Tensor> f = a => Engine.Autograd.Record(a[0].Detach().Pow(3.0), "wrong", [a[0]], (gr, _) => [gr.Mul(a[0]).Mul(2.0)]);
        var r = GradCheck.Check(f, [x], raiseOnFailure: false);
        Assert.That(r.Passed, Is.False);
        Assert.Throws<GradCheckException>(() => GradCheck.Check(f, [x]));
    }

    [Test]
    public void GradCheckPassesACorrectCompositeOnStridedInputs()
    {
        var g = TestUtil.Gen();
        using var scope = Tensor.NewDisposeScope();
        var a = TestUtil.StridedLeaf(g, 3, 4);
        var b = TestUtil.Leaf(g, 4);
        TestUtil.GradCheck(t => t[0].Mul(t[1]).Tanh().Sum(1), a, b);
    }
}
