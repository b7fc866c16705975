using Engine.Kernels;
using Engine.Nn;

namespace Engine.Tests.Nn;

/// <summary>
/// The fused SGD and Adam/AdamW updates (<see cref="Engine.Kernels.Fused.FusedOps.Sgd"/>, <see cref="Engine.Kernels.Fused.FusedOps.Adam"/>) against the
/// unfused chain of elementwise kernels they replace (<c>Optimizer.FusedUpdates = false</c>): the same random parameters
/// and gradients, several steps, every option combination, on the CPU and on the emulated GPU; parameters and optimizer
/// state must agree bit for bit (NaN with NaN), signed zeros included.
/// </summary>
[NonParallelizable]
public class FusedOptimizerTests
{
    private const int Steps = 4;

    // Ragged sizes (vector widths 4 and 8 do not divide most), tiny, one divisible size, an empty one; the [4, 6]
    // transpose is non-contiguous, so it takes the chain in both optimizers.
    private static readonly long[][] Shapes = [[37], [5, 7], [3], [1], [2, 3, 4], [0], [19]];
    private const int Specials = 6;   // the last shape carries ±0, NaN and ±Inf

    private static readonly Device[] Devices = [Device.Cpu, Device.Emulated];

    public static IEnumerable<TestCaseData> SgdCases()
    {
        foreach (var dev in Devices)
            foreach (var dt in new[] { DType.Float32, DType.Float64 })
                foreach (var (mom, damp, nest) in new[] { (0.0, 0.0, false), (0.9, 0.0, false), (0.9, 0.0, true), (0.5, 0.25, false), (0.9, 1.0, false), (0.9, 2.0, false) })
                    foreach (var wd in new[] { 0.0, 0.01 })
                        foreach (var lr in new[] { 0.05, 1.0, 0.0 })
                            yield return new TestCaseData(dev, dt, lr, mom, damp, wd, nest)
                                .SetArgDisplayNames(dev.ToString(), dt.Name(), $"lr={lr}", $"momentum={mom}", $"dampening={damp}", $"wd={wd}", nest ? "nesterov" : "plain");
    }

    public static IEnumerable<TestCaseData> AdamCases()
    {
        foreach (var dev in Devices)
            foreach (var dt in new[] { DType.Float32, DType.Float64 })
                foreach (var (lr, b1, b2, eps) in new[] { (1e-3, 0.9, 0.999, 1e-8), (0.1, 0.5, 0.8, 0.1) })
                    foreach (var wd in new[] { 0.0, 0.05 })
                        foreach (var ams in new[] { false, true })
                            foreach (var decoupled in new[] { false, true })
                                yield return new TestCaseData(dev, dt, lr, b1, b2, eps, wd, ams, decoupled)
                                    .SetArgDisplayNames(dev.ToString(), dt.Name(), $"lr={lr}", $"betas=({b1},{b2})", $"eps={eps}", $"wd={wd}",
                                        ams ? "amsgrad" : "-", decoupled ? "AdamW" : "Adam");
    }

    [TestCaseSource(nameof(SgdCases))]
    public void SgdFusedEqualsTheChain(Device dev, DType dt, double lr, double momentum, double dampening, double wd, bool nesterov) =>
        Compare(dev, dt, ps => new SGD(ps, lr, momentum, dampening, wd, nesterov));

    [TestCaseSource(nameof(AdamCases))]
    public void AdamFusedEqualsTheChain(Device dev, DType dt, double lr, double b1, double b2, double eps, double wd, bool amsgrad, bool decoupled) =>
        Compare(dev, dt, ps => decoupled ? new AdamW(ps, lr, (b1, b2), eps, wd, amsgrad) : new Adam(ps, lr, (b1, b2), eps, wd, amsgrad));

    [Test]
    public void ALearningRateChangeBetweenStepsMatchesTheChain([Values(DType.Float32, DType.Float64)] DType dt)
    {
        double lr = 0.1;
        Compare(Device.Cpu, dt, ps => new SGD(ps, lr, momentum: 0.9, weightDecay: 1e-3), (o, t) => o.ParamGroups[0].Lr = lr * (t + 1) / 2);
        Compare(Device.Cpu, dt, ps => new AdamW(ps, lr), (o, t) => o.ParamGroups[0].Lr = lr / (t + 1));
    }

    /// <summary>
    /// Runs <see cref="Steps"/> steps of the optimizer from <paramref name="make"/> twice on equal parameters and gradients,
    /// fused and as the chain, and compares parameters and state after every step.
    /// </summary>
    private static void Compare(Device dev, DType dt, Func<IEnumerable<Tensor>, Optimizer> make, Action<Optimizer, int>? beforeStep = null)
    {
        using var scope = Tensor.NewDisposeScope();
        var r = new Random((int)TestContext.CurrentContext.Random.NextUInt());
        var values = Shapes.Select((s, k) => Values(r, ShapeUtil.NumEl(s), k == Specials)).ToArray();
        var fusedParams = Params(values, dt, dev);
        var chainParams = Params(values, dt, dev);
        Assert.That(fusedParams[^1].IsContiguous, Is.False, "the last parameter is non-contiguous");
        using var fused = make(fusedParams);
        using var chain = make(chainParams);
        chain.FusedUpdates = false;
        for (int t = 0; t < Steps; t++)
        {
            for (int k = 0; k < fusedParams.Count; k++)
            {
                var g = Values(r, fusedParams[k].NumEl, k == Specials);
                fusedParams[k].Grad = Tensor.FromArray(g, fusedParams[k].Shape).To(dt).To(dev);
                chainParams[k].Grad = Tensor.FromArray(g, chainParams[k].Shape).To(dt).To(dev);
            }
            beforeStep?.Invoke(fused, t);
            beforeStep?.Invoke(chain, t);
            fused.Step();
            chain.Step();
            for (int k = 0; k < fusedParams.Count; k++)
            {
                string what = $"step {t + 1}, parameter {k} {ShapeUtil.Format(fusedParams[k].Shape)}";
                AssertSameBits(fusedParams[k], chainParams[k], what);
                var fs = fused.State(fusedParams[k])!;
                var cs = chain.State(chainParams[k])!;
                Assert.That(fs.Names, Is.EqualTo(cs.Names), $"{what}: state names");
                foreach (var n in fs.Names) AssertSameBits(fs[n]!, cs[n]!, $"{what}, state {n}");
            }
        }
    }

    private static List<Tensor> Params(double[][] values, DType dt, Device dev)
    {
        var ps = new List<Tensor>();
        for (int k = 0; k < values.Length; k++)
            ps.Add(Tensor.FromArray(values[k], Shapes[k]).To(dt).To(dev).RequiresGrad_());
        // Non-contiguous: the transpose of a [6, 4] tensor (the base does not require grad, so the view is a leaf).
        ps.Add(Tensor.FromArray(Values(new Random(values.Length), 24, false), 6, 4).To(dt).To(dev).Permute(1, 0).RequiresGrad_());
        return ps;
    }

    /// <summary>Random values of both signs and several magnitudes; with <paramref name="special"/> also ±0, NaN, ±Inf and ±1.</summary>
    internal static double[] Values(Random r, long n, bool special)
    {
        var v = new double[n];
        for (long i = 0; i < n; i++) v[i] = (r.NextDouble() * 2 - 1) * Math.Pow(10, r.Next(-3, 2));
        if (special)
        {
            double[] s = [0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1, -1, -0.0];
            for (int i = 0; i < Math.Min(n, s.Length); i++) v[(i * 7 + r.Next(2)) % n] = s[i];
        }
        return v;
    }

    /// <summary>Equal bit for bit (float32 widened to double exactly), any NaN matching any NaN.</summary>
    internal static void AssertSameBits(Tensor actual, Tensor expected, string what)
    {
        var a = actual.ToDoubleArray();
        var e = expected.ToDoubleArray();
        Assert.That(a, Has.Length.EqualTo(e.Length), $"{what}: element count");
        for (int i = 0; i < a.Length; i++)
        {
            bool same = double.IsNaN(e[i]) ? double.IsNaN(a[i]) : BitConverter.DoubleToInt64Bits(a[i]) == BitConverter.DoubleToInt64Bits(e[i]);
            if (!same) Assert.Fail($"{what}, element {i}: got {a[i]:R}, expected {e[i]:R}");
        }
    }
}
