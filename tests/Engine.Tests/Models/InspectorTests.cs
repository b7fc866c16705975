using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>
/// <see cref="ModelInspector"/>: receptive fields checked against the course arithmetic applied by hand here
/// (r_out = r_in + (k−1)·d·j_in, j_out = j_in·s, start_out = start_in + ((k−1)/2·d − p)·j_in) and against Araujo et al.'s
/// published AlexNet figure; the union rule on residual, concatenating and squeeze-excitation blocks; MACs by hand.
/// </summary>
[TestFixture]
public sealed class InspectorTests
{
    /// <summary>The course arithmetic, one layer at a time.</summary>
    private sealed class Hand
    {
        public double R = 1, J = 1, Start;
        public Hand Layer(int k, int s, int p, int d = 1)
        {
            R += (k - 1) * d * J;
            Start += ((k - 1) / 2.0 * d - p) * J;
            J *= s;
            return this;
        }
    }

    private static void AssertField(LayerSummary l, Hand h)
    {
        Assert.That(l.FieldH, Is.Not.Null, l.Name);
        Assert.That(l.FieldH!.Value.Size, Is.EqualTo(h.R), $"{l.Name} size");
        Assert.That(l.FieldH.Value.Jump, Is.EqualTo(h.J), $"{l.Name} jump");
        Assert.That(l.FieldH.Value.Start, Is.EqualTo(h.Start), $"{l.Name} start");
        Assert.That(l.FieldW, Is.EqualTo(l.FieldH), $"{l.Name}: square layers give equal H and W fields");
    }

    [Test]
    public void AlexNetFeaturesReachTheReceptiveFieldAraujoEtAlPublish()
    {
        // torchvision's AlexNet features (11/4/2, pool 3/2, 5/1/2, pool 3/2, 3/1/1 ×3, pool 3/2) with few channels.
        var g = TestUtil.Gen();
        using var net = new Sequential(
            new Conv2d(3, 4, 11, stride: 4, padding: 2, generator: g), new ReLU(), new MaxPool2d(3, 2),
            new Conv2d(4, 6, 5, padding: 2, generator: g), new ReLU(), new MaxPool2d(3, 2),
            new Conv2d(6, 8, 3, padding: 1, generator: g), new ReLU(),
            new Conv2d(8, 8, 3, padding: 1, generator: g), new ReLU(),
            new Conv2d(8, 4, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(3, 2));
        var s = ModelInspector.Inspect(net, [1, 3, 127, 127]);
        Assert.That(s.Layers.Select(l => l.Name), Is.EqualTo(Enumerable.Range(0, 13).Select(i => i.ToString())));
        var h = new Hand();
        (int k, int s, int p)?[] geometry = [(11, 4, 2), null, (3, 2, 0), (5, 1, 2), null, (3, 2, 0), (3, 1, 1), null, (3, 1, 1), null, (3, 1, 1), null, (3, 2, 0)];
        for (int i = 0; i < geometry.Length; i++)
        {
            if (geometry[i] is var (k, st, p)) h.Layer(k, st, p);
            AssertField(s.Layers[i], h);
        }
        Assert.That(s.Layers[^1].FieldH!.Value.Size, Is.EqualTo(195), "Araujo et al. 2019, AlexNet");
        // Output 127 → conv1 31 → pool 15 → conv2 15 → pool 7 → 7 → 7 → 7 → pool 3.
        Assert.That(s.Layers[^1].OutputShape, Is.EqualTo(new long[] { 1, 4, 3, 3 }));
        long convMacs = 4L * 31 * 31 * 3 * 11 * 11 + 6L * 15 * 15 * 4 * 25 + 8L * 7 * 7 * 6 * 9 + 8L * 7 * 7 * 8 * 9 + 4L * 7 * 7 * 8 * 9;
        Assert.That(s.Macs, Is.EqualTo(convMacs));
        Assert.That(s.Layers.Where(l => l.Type != "Conv2d").Sum(l => l.Macs), Is.Zero, "pooling and activations count no MACs");
    }

    [Test]
    public void LeNet5FromTheRegistryHasHandComputedMacsAndFields()
    {
        var info = ModelRegistry.Info("lenet5");
        using var net = info.Create(new ModelOptions(10, 1, TestUtil.Gen()));
        var s = ModelInspector.Inspect(net, [3, .. info.DefaultInputShape]);
        var byName = s.Layers.ToDictionary(l => l.Name);
        Assert.That(byName["features.0"].Macs, Is.EqualTo(3L * 6 * 28 * 28 * 1 * 5 * 5));
        Assert.That(byName["features.3"].Macs, Is.EqualTo(3L * 16 * 10 * 10 * 6 * 5 * 5));
        Assert.That(byName["classifier.0"].Macs, Is.EqualTo(3L * 400 * 120), "linear: batch rows × in × out");
        Assert.That(s.Macs, Is.EqualTo(3L * (6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10)));
        Assert.That(byName["features.0"].Parameters, Is.EqualTo(6 * 25 + 6));
        Assert.That(s.Parameters, Is.EqualTo(net.ParameterCount()));
        var h = new Hand().Layer(5, 1, 2);
        AssertField(byName["features.1"], h);
        AssertField(byName["features.5"], h.Layer(2, 2, 0).Layer(5, 1, 0).Layer(2, 2, 0));
        Assert.That(byName["classifier.0"].FieldH, Is.Null, "a flattened output has no grid");
        Assert.That(s.Format(), Does.Contain("classifier.0 (Linear)").And.Contain("Total MACs:"));
    }

    /// <summary>conv–BN–ReLU–conv–BN plus a shortcut (identity, or 1×1 stride-s conv), added, then ReLU.</summary>
    private sealed class Residual : Module
    {
        private readonly Sequential _main;
        private readonly Module? _down;
        private readonly ReLU _relu;

        public Residual(int c, int stride, Generator g)
        {
            _main = RegisterModule("main", new Sequential(new Conv2d(c, c, 3, stride, 1, generator: g), new BatchNorm2d(c), new ReLU(),
                new Conv2d(c, c, 3, 1, 1, generator: g), new BatchNorm2d(c)));
            if (stride != 1) _down = RegisterModule("down", new Conv2d(c, c, 1, stride, generator: g));
            _relu = RegisterModule("relu", new ReLU());
        }

        public override Tensor Forward(Tensor x) => _relu.Call(_main.Call(x) + (_down?.Call(x) ?? x));
    }

    [Test]
    public void ResidualBlocksTakeTheUnionOfTheirPaths()
    {
        var g = TestUtil.Gen();
        using var net = new Sequential(new Conv2d(2, 4, 3, 1, 1, generator: g), new Residual(4, 1, g), new Residual(4, 2, g));
        var s = ModelInspector.Inspect(net, [1, 2, 16, 16]);
        var stem = new Hand().Layer(3, 1, 1);
        AssertField(s.Layers.Single(l => l.Name == "0"), stem);
        // Identity shortcut: the main path (two 3×3 convs) sees more than the shortcut; centres agree.
        var block1 = new Hand().Layer(3, 1, 1).Layer(3, 1, 1).Layer(3, 1, 1);
        AssertField(s.Layers.Single(l => l.Name == "1.relu"), block1);
        // Downsampling: main 3×3/2 then 3×3/1; the shortcut 1×1/2 sees a sub-span of it.
        var block2 = new Hand().Layer(3, 1, 1).Layer(3, 1, 1).Layer(3, 1, 1).Layer(3, 2, 1).Layer(3, 1, 1);
        var shortcut = new Hand().Layer(3, 1, 1).Layer(3, 1, 1).Layer(3, 1, 1).Layer(1, 2, 0);
        Assert.That(shortcut.R, Is.LessThan(block2.R));
        AssertField(s.Layers.Single(l => l.Name == "2.down"), shortcut);
        AssertField(s.Layers.Single(l => l.Name == "2.relu"), block2);
        Assert.That(s.Layers.Single(l => l.Name == "2.relu").OutputShape, Is.EqualTo(new long[] { 1, 4, 8, 8 }));
    }

    /// <summary>Inception-like: 1×1, 3×3, 5×5 and pool→1×1 branches concatenated, then an identity layer.</summary>
    private sealed class Concat : Module
    {
        private readonly Conv2d _b1, _b3, _b5, _bp;
        private readonly Identity _out;

        public Concat(Generator g)
        {
            _b1 = RegisterModule("b1", new Conv2d(4, 2, 1, generator: g));
            _b3 = RegisterModule("b3", new Conv2d(4, 2, 3, padding: 1, generator: g));
            _b5 = RegisterModule("b5", new Conv2d(4, 2, 5, padding: 2, generator: g));
            _bp = RegisterModule("bp", new Conv2d(4, 2, 1, generator: g));
            _out = RegisterModule("out", new Identity());
        }

        // The pool is a Functional call, not a module: its window still counts.
        public override Tensor Forward(Tensor x) =>
            _out.Call(Tensor.Cat([_b1.Call(x), _b3.Call(x), _b5.Call(x), _bp.Call(Functional.MaxPool2d(x, 3, 1, 1))], 1));
    }

    [Test]
    public void ConcatenationTakesTheLargestBranchAndFunctionalPoolsCount()
    {
        using var net = new Concat(TestUtil.Gen());
        var s = ModelInspector.Inspect(net, [1, 4, 9, 9]);
        AssertField(s.Layers.Single(l => l.Name == "bp"), new Hand().Layer(3, 1, 1).Layer(1, 1, 0));
        AssertField(s.Layers.Single(l => l.Name == "out"), new Hand().Layer(5, 1, 2));
    }

    /// <summary>Two 3×3 branches on one grid whose fields are not centred alike (one padded on the far side only).</summary>
    private sealed class Skewed : Module
    {
        private readonly Conv2d _a, _b;
        private readonly Identity _out;

        public Skewed(Generator g)
        {
            _a = RegisterModule("a", new Conv2d(1, 1, 3, padding: 1, generator: g));
            _b = RegisterModule("b", new Conv2d(1, 1, [3, 3], [1, 1], [0, 2, 0, 2], [1, 1], generator: g));
            _out = RegisterModule("out", new Identity());
        }

        public override Tensor Forward(Tensor x) => _out.Call(_a.Call(x) + _b.Call(x));
    }

    [Test]
    public void PathsCentredDifferentlyWidenTheFieldBeyondTheLargestPath()
    {
        using var net = new Skewed(TestUtil.Gen());
        var s = ModelInspector.Inspect(net, [1, 1, 6, 6]);
        var a = s.Layers.Single(l => l.Name == "a").FieldH!.Value;
        var b = s.Layers.Single(l => l.Name == "b").FieldH!.Value;
        Assert.That((a.First, a.Last, b.First, b.Last), Is.EqualTo((-1.0, 1.0, 0.0, 2.0)));
        var sum = s.Layers.Single(l => l.Name == "out").FieldH!.Value;
        Assert.That((sum.First, sum.Last, sum.Size, sum.Jump), Is.EqualTo((-1.0, 2.0, 4.0, 1.0)));
    }

    /// <summary>Squeeze-excitation: x · sigmoid(conv(global pool(x))), the scale broadcast over the grid.</summary>
    private sealed class Se : Module
    {
        private readonly Conv2d _conv, _fc;
        private readonly AdaptiveAvgPool2d _pool;
        private readonly Identity _out;

        public Se(Generator g)
        {
            _conv = RegisterModule("conv", new Conv2d(2, 2, 3, padding: 1, generator: g));
            _pool = RegisterModule("pool", new AdaptiveAvgPool2d(1));
            _fc = RegisterModule("fc", new Conv2d(2, 2, 1, generator: g));
            _out = RegisterModule("out", new Identity());
        }

        public override Tensor Forward(Tensor x)
        {
            var y = _conv.Call(x);
            return _out.Call(y * _fc.Call(_pool.Call(y)).Sigmoid());
        }
    }

    [Test]
    public void ASqueezeExcitationScaleMakesTheFieldGlobal()
    {
        using var net = new Se(TestUtil.Gen());
        var s = ModelInspector.Inspect(net, [1, 2, 8, 8]);
        // Global pooling of an 8-wide grid is a window of 8 with stride 8.
        AssertField(s.Layers.Single(l => l.Name == "pool"), new Hand().Layer(3, 1, 1).Layer(8, 8, 0));
        var o = s.Layers.Single(l => l.Name == "out").FieldH!.Value;
        Assert.That((o.First, o.Last, o.Jump), Is.EqualTo((-1.0, 8.0, 1.0)), "every output sees the whole padded input; neighbours stay one pixel apart");
    }

    [Test]
    public void InspectionRestoresEachModulesModeAndLeavesNoHooks()
    {
        var g = TestUtil.Gen();
        var drop = new Dropout(0.5);
        using var net = new Sequential(new Conv2d(1, 2, 3, generator: g), new BatchNorm2d(2), drop);
        net.Train();
        drop.Eval();
        var before = net.NamedModules().Select(m => m.Module.Training).ToList();
        int rows = ModelInspector.Inspect(net, [2, 1, 5, 5]).Layers.Count;
        Assert.That(net.NamedModules().Select(m => m.Module.Training), Is.EqualTo(before));
        Assert.That(ModelInspector.Inspect(net, [2, 1, 5, 5]).Layers, Has.Count.EqualTo(rows), "hooks removed: a second inspection has the same rows");
        Assert.That(rows, Is.EqualTo(3));
    }

    [Test]
    public void TheShapeOnlyDevicePassGivesTheCpuPassesTable()
    {
        var g = TestUtil.Gen();
        using var net = new Sequential(new Conv2d(2, 4, 3, 2, 1, generator: g), new Residual(4, 2, g), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4, 3, generator: g));
        var cpu = ModelInspector.Inspect(net, [2, 2, 20, 20]);
        net.To(Device.Meta);
        Assert.That(net.Parameters().All(p => p.Device == Device.Meta));
        var meta = ModelInspector.Inspect(net, [2, 2, 20, 20]);
        Assert.That(meta.Format(), Is.EqualTo(cpu.Format()));
        Assert.That(meta.Macs, Is.GreaterThan(0));
        Sequential built;
        using (Tensor.OnMetaDevice())
            built = new Sequential(new Conv2d(2, 4, 3, 2, 1, generator: g), new Residual(4, 2, g), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(4, 3, generator: g));
        using (built)
        {
            Assert.That(built.Parameters().All(p => p.Device == Device.Meta), "built on the shape-only device");
            Assert.That(ModelInspector.Inspect(built, [2, 2, 20, 20]).Format(), Is.EqualTo(cpu.Format()));
        }
        using var after = Tensor.Zeros([1]);
        Assert.That(after.Device, Is.EqualTo(Device.Cpu), "the scope ended");
    }

    /// <summary>A ResNet bottleneck: 1×1, 3×3, 1×1 (BN, ReLU) plus a 1×1 projection shortcut when the shape changes; the stride sits on the 1×1 (v1) or the 3×3 (v1.5).</summary>
    private sealed class Bottleneck : Module
    {
        private readonly Sequential _main;
        private readonly Module? _down;
        private readonly ReLU _relu = new();

        public Bottleneck(int cin, int width, int cout, int stride, bool strideOn3x3, Generator g)
        {
            _main = RegisterModule("main", new Sequential(
                new Conv2d(cin, width, 1, strideOn3x3 ? 1 : stride, bias: false, generator: g), new BatchNorm2d(width), new ReLU(),
                new Conv2d(width, width, 3, strideOn3x3 ? stride : 1, 1, bias: false, generator: g), new BatchNorm2d(width), new ReLU(),
                new Conv2d(width, cout, 1, bias: false, generator: g), new BatchNorm2d(cout)));
            if (stride != 1 || cin != cout) _down = RegisterModule("down", new Sequential(new Conv2d(cin, cout, 1, stride, bias: false, generator: g), new BatchNorm2d(cout)));
            RegisterModule("relu", _relu);
        }

        public override Tensor Forward(Tensor x) => _relu.Call(_main.Call(x) + (_down?.Call(x) ?? x));
    }

    /// <summary>ResNet-50's layout (stem 7×7/2, pool 3×3/2, bottleneck stages of 3, 4, 6, 3 units, stride 2 in the first unit of stages 2–4) with few channels.</summary>
    private static Sequential ResNet50Layout(bool strideOn3x3, Generator g)
    {
        var net = new Sequential(new Conv2d(3, 4, 7, 2, 3, bias: false, generator: g), new BatchNorm2d(4), new ReLU(), new MaxPool2d(3, 2, 1));
        int cin = 4;
        foreach (var (units, stage) in new[] { 3, 4, 6, 3 }.Select((u, i) => (u, i)))
            for (int u = 0; u < units; u++)
            {
                net.Append(new Bottleneck(cin, 2, 8, stage > 0 && u == 0 ? 2 : 1, strideOn3x3, g));
                cin = 8;
            }
        return net;
    }

    [Test]
    public void ResNet50V1MatchesAraujoEtAlAndV15SeesLess()
    {
        var g = TestUtil.Gen();
        var fields = new Dictionary<bool, LayerSummary>();
        foreach (bool v15 in new[] { false, true })
        {
            using var net = ResNet50Layout(v15, g);
            fields[v15] = ModelInspector.Inspect(net, [1, 3, 64, 64]).Layers[^1];
            var hand = new Hand().Layer(7, 2, 3).Layer(3, 2, 1);
            foreach (var (units, stage) in new[] { 3, 4, 6, 3 }.Select((u, i) => (u, i)))
                for (int u = 0; u < units; u++)
                {
                    int s = stage > 0 && u == 0 ? 2 : 1;
                    hand.Layer(1, v15 ? 1 : s, 0).Layer(3, v15 ? s : 1, 1).Layer(1, 1, 0);
                }
            AssertField(fields[v15], hand);
            TestContext.Out.WriteLine($"ResNet-50 {(v15 ? "v1.5 (torchvision)" : "v1 (paper)")}: receptive field {fields[v15].FieldH!.Value.Size}");
        }
        Assert.That(fields[false].FieldH!.Value.Size, Is.EqualTo(483), "Araujo et al. 2019, ResNet-50");
        Assert.That(fields[true].FieldH!.Value.Size, Is.LessThan(483), "a stride moved later in the unit enlarges fewer kernels");
    }
}
