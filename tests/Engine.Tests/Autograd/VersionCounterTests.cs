using Engine.Nn;

namespace Engine.Tests.Autograd;

/// <summary>
/// Version counters (PyTorch's <c>_version</c>): a tensor saved for backward and then changed in place must make
/// backward raise instead of returning a wrong gradient; changes to tensors nobody saved must not.
/// </summary>
public class VersionCounterTests
{
    private static Tensor Fresh(long n, ulong seed) => Tensor.Randn([n], DType.Float64, new Generator(seed));

    [Test]
    public void EveryInPlaceWriteBumpsTheVersionSharedByViews()
    {
        using var scope = Tensor.NewDisposeScope();
        var t = Fresh(6, 1);
        var view = t.Narrow(0, 1, 3);
        var detached = t.Detach();
        Assert.That(t.Version, Is.EqualTo(0));
        t.MulInPlace(2);
        view.AddInPlace(Fresh(3, 2));
        detached.FillInPlace(1);
        t.CopyFrom(Fresh(6, 3));
        t.ZeroInPlace();
        Assert.Multiple(() =>
        {
            Assert.That(t.Version, Is.EqualTo(5));
            Assert.That(view.Version, Is.EqualTo(5));
            Assert.That(detached.Version, Is.EqualTo(5));
        });
        using var copy = t.Clone();
        Assert.That(copy.Version, Is.EqualTo(0), "a copy has its own memory and its own counter");
    }

    [Test]
    public void SigmoidOutputChangedInPlaceRaisesInBackward()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Fresh(4, 4).RequiresGrad_();
        var y = x.Sigmoid();
        using (Tensor.NoGrad()) y.MulInPlace(2);
        var ex = Assert.Throws<AutogradException>(() => y.Sum().Backward());
        Assert.That(ex!.Op, Is.EqualTo("sigmoid"));
        Assert.That(ex.Message, Does.Contain("modified by an inplace operation").And.Contain("is at version 1; expected version 0"));
    }

    [Test]
    public void InPlaceOnATensorInTheGraphRaisesAtOnce()
    {
        // Not recorded in the graph, such a change would be ignored by the gradient: refused where it happens.
        using var scope = Tensor.NewDisposeScope();
        var x = Fresh(4, 5).RequiresGrad_();
        var y = x.Mul(3.0).Relu();
        var ex = Assert.Throws<AutogradException>(() => y.MulInPlace(2));
        Assert.That(ex!.Message, Does.Contain("relu"));
        Assert.Throws<AutogradException>(() => y.Narrow(0, 0, 2).FillInPlace(0));
        Assert.Throws<AutogradException>(() => y.CopyFrom(Fresh(4, 6)));
    }

    [Test]
    public void ReluInputChangedThroughADetachedAliasRaises()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Fresh(5, 7).RequiresGrad_();
        var h = x.Mul(2.0);
        var y = h.Relu(); // saves h
        h.Detach().AddInPlace(Fresh(5, 8));
        var ex = Assert.Throws<AutogradException>(() => y.Sum().Backward());
        Assert.That(ex!.Op, Is.EqualTo("relu"));
    }

    [Test]
    public void AViewOfASavedTensorChangedRaises()
    {
        using var scope = Tensor.NewDisposeScope();
        var w = Fresh(6, 9);                 // a constant operand, saved by mul for x's gradient
        var x = Fresh(6, 10).RequiresGrad_();
        var loss = x.Mul(w).Sum();
        w.Narrow(0, 2, 2).MulInPlace(-1);   // w does not require grad: the write is allowed, but the gradient would use it
        var ex = Assert.Throws<AutogradException>(() => loss.Backward());
        Assert.That(ex!.Op, Is.EqualTo("mul"));
        Assert.That(ex.Message, Does.Contain("[6]"));
    }

    [Test]
    public void WeightsUpdatedBetweenForwardAndBackwardRaise()
    {
        using var scope = Tensor.NewDisposeScope();
        using var model = new Linear(3, 2);
        var x = Tensor.Randn([4, 3], DType.Float32, new Generator(11)).RequiresGrad_();
        var loss = model.Call(x).Square().Sum();
        using (Tensor.NoGrad()) model.Parameters().First().AddInPlace(Tensor.OnesLike(model.Parameters().First()));
        Assert.Throws<AutogradException>(() => loss.Backward());
    }

    [Test]
    public void ChangingATensorNobodySavedPasses()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Fresh(4, 12).RequiresGrad_();
        var c = Fresh(4, 13);
        var y = x.Add(c);                    // add saves neither operand
        c.MulInPlace(5);
        var z = x.Exp();                     // exp saves its output, not x's other aliases
        using (Tensor.NoGrad()) x.Detach().Sum();
        y.Add(z).Sum().Backward();
        var expected = x.Detach().Exp().Add(1.0).ToArray<double>();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void UnchangedSavedTensorsGiveTheGradientAsBefore()
    {
        using var scope = Tensor.NewDisposeScope();
        var x = Fresh(5, 14).RequiresGrad_();
        var y = x.Sigmoid();
        y.Mul(y).Sum().Backward();
        var s = x.Detach().Sigmoid();
        var expected = s.Mul(s).Mul(s.RSub(1.0)).Mul(2.0).ToArray<double>();
        Assert.That(x.Grad!.ToArray<double>(), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void OptimizerStepsBetweenIterationsStillTrain()
    {
        using var scope = Tensor.NewDisposeScope();
        using var model = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 3));
        foreach (var fused in new[] { true, false })
        {
            using var opt = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9) { FusedUpdates = fused };
            var x = Tensor.Randn([16, 4], DType.Float32, new Generator(15));
            var y = Tensor.RandInt(0, 3, [16], generator: new Generator(16));
            double first = 0, last = 0;
            int before = model.Parameters().First().Version;
            for (int step = 0; step < 20; step++)
            {
                using var s = Tensor.NewDisposeScope();
                opt.ZeroGrad();
                var loss = Functional.CrossEntropy(model.Call(x), y);
                loss.Backward();
                opt.Step();
                if (step == 0) first = loss.Item();
                last = loss.Item();
            }
            Assert.That(last, Is.LessThan(first), $"fused={fused}");
            Assert.That(model.Parameters().First().Version, Is.GreaterThan(before), "optimizer updates count as in-place writes");
        }
    }
}
