using Engine.Nn;
using Engine.Nn.Data;
using static Engine.Tests.Training.RecipesTestData;

namespace Engine.Tests.Training;

public class RecipesDistillationTests
{
    [Test]
    public void TheTeacherIsNotUpdatedAndStaysInEvalMode()
    {
        var data = Problem(1, 48);
        using var teacher = Net(7, width: 6);
        using var student = Net(8);
        var before = Snapshot(teacher);
        using var kd = new Distillation(teacher, temperature: 4, alpha: 0.7);
        teacher.Train(); // an owner switching everything to training must not unpin the teacher
        Assert.That(teacher.NamedModules().All(m => !m.Module.Training), Is.True);
        Assert.That(teacher.Parameters().All(p => !p.RequiresGrad), Is.True);
        using var opt = new SGD(student.Parameters(), 0.05, momentum: 0.9);
        var trainer = new Trainer(student, opt, 3) { Objective = kd.Objective };
        using var loader = new DataLoader(data, 12, shuffle: true, seed: 2);
        var studentBefore = Snapshot(student);
        trainer.Fit(loader, null, 2);
        Assert.That(Snapshot(teacher), Is.EqualTo(before), "teacher parameters and BatchNorm statistics unchanged");
        Assert.That(teacher.Parameters().All(p => p.Grad is null), Is.True, "no gradient reaches the teacher");
        Assert.That(Snapshot(student)["5.weight"], Is.Not.EqualTo(studentBefore["5.weight"]));
    }

    [Test]
    public void TheLossGradientMatchesTheHandFormulaAndFiniteDifferences()
    {
        const int b = 3, c = 4;
        const double t = 2.5, alpha = 0.7;
        var g = new Generator(11);
        using var scope = Tensor.NewDisposeScope();
        var s = Tensor.Randn([b, c], DType.Float64, g).Mul(2).RequiresGrad_();
        var te = Tensor.Randn([b, c], DType.Float64, g).Mul(2);
        var y = Tensor.FromArray(new long[] { 1, 3, 0 });
        var loss = Functional.DistillationLoss(s, te, y, t, alpha);
        loss.Backward();
        double[] sv = s.Detach().ToArray<double>(), tv = te.ToArray<double>(), grad = s.Grad!.ToArray<double>();
        double expectedLoss = 0;
        for (int i = 0; i < b; i++)
        {
            var ps = Softmax(sv.AsSpan(i * c, c), t);
            var pt = Softmax(tv.AsSpan(i * c, c), t);
            var p1 = Softmax(sv.AsSpan(i * c, c), 1);
            double kl = 0;
            for (int j = 0; j < c; j++) kl += pt[j] * Math.Log(pt[j] / ps[j]);
            expectedLoss += alpha * t * t * kl / b - (1 - alpha) * Math.Log(p1[y.ToArray<long>()[i]]) / b;
            for (int j = 0; j < c; j++)
            {
                // d/ds of α·T²·KL/B is α·T·(p_s − p_t)/B; of the cross-entropy (1 − α)(p − onehot)/B.
                double expected = alpha * t * (ps[j] - pt[j]) / b + (1 - alpha) * (p1[j] - (j == y.ToArray<long>()[i] ? 1 : 0)) / b;
                Assert.That(grad[i * c + j], Is.EqualTo(expected).Within(1e-10), $"[{i},{j}]");
            }
        }
        Assert.That(loss.Item(), Is.EqualTo(expectedLoss).Within(1e-10));
        var check = GradCheck.Check(xs => Functional.DistillationLoss(xs[0], te, y, t, alpha), [s.Detach().Clone().RequiresGrad_()], raiseOnFailure: false);
        Assert.That(check.Passed, Is.True, check.Detail);
    }

    private static double[] Softmax(ReadOnlySpan<double> x, double t)
    {
        double m = double.NegativeInfinity;
        foreach (var v in x) m = Math.Max(m, v / t);
        var e = new double[x.Length];
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += e[i] = Math.Exp(x[i] / t - m);
        for (int i = 0; i < x.Length; i++) e[i] /= sum;
        return e;
    }

    [Test]
    public void CachedTeacherLogitsEqualOnTheFlyOnesWithoutAugmentation()
    {
        var data = Problem(3, 30);
        using var teacher = Net(7, width: 6);
        using var kd = new Distillation(teacher);
        using var loader = new DataLoader(data, 8, shuffle: true, seed: 4);
        var fresh = new List<double[]>();
        foreach (var batch in loader.GetEpoch(0))
            using (batch) using (var l = kd.TeacherLogits(batch)) fresh.Add(l.To(DType.Float64).ToArray<double>());
        kd.CacheTeacher(data, batchSize: 7);
        Assert.That(kd.Cache!.Count, Is.EqualTo(30));
        int i = 0;
        foreach (var batch in loader.GetEpoch(0))
            using (batch) using (var l = kd.TeacherLogits(batch))
                Assert.That(l.To(DType.Float64).ToArray<double>(), Is.EqualTo(fresh[i++]).Within(1e-5));
        Assert.That(() => kd.Cache.Lookup([30]), Throws.TypeOf<RecipeException>().With.Message.Contains("another dataset"));
    }

    [Test]
    public void BadSettingsAreTyped()
    {
        using var teacher = Net(1);
        Assert.That(() => new Distillation(teacher, temperature: 0), Throws.TypeOf<RecipeException>());
        Assert.That(() => new Distillation(teacher, alpha: 1.5), Throws.TypeOf<RecipeException>());
    }
}
