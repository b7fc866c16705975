using Engine.Nn;
using Engine.Tests.Models;

namespace Engine.Tests.Nn;

/// <summary>
/// The 3-D layers video models are built from, against PyTorch (category TorchReference): Conv3d, MaxPool3d,
/// AvgPool3d and AdaptiveAvgPool3d with per-dim kernel, stride, padding and dilation, forward and every gradient, in
/// float64. PyTorch's side is <c>Models/Reference/video_layers.py</c>, which draws the inputs and parameters.
/// </summary>
public sealed class VideoLayerTests
{
    /// <summary>The engine's twin of each case of video_layers.py's CASES (same options; parameters come from PyTorch).</summary>
    private static readonly (string Name, Func<Module> Create)[] s_cases =
    [
        ("conv", () => new Conv3d(4, 6, [2, 3, 1], [1, 2, 1], [1, 0, 2], [2, 1, 1], groups: 2, dtype: DType.Float64)),
        ("conv_temporal", () => new Conv3d(3, 5, [3, 1, 1], [2, 1, 1], [1, 0, 0], [1, 1, 1], bias: false, dtype: DType.Float64)),
        ("maxpool", () => new MaxPool3d([2, 3, 2], [1, 2, 2], [1, 1, 0], [2, 1, 1], ceilMode: true)),
        ("avgpool", () => new AvgPool3d([1, 3, 2], [1, 2, 1], [0, 1, 1], ceilMode: true, countIncludePad: false)),
        ("avgpool_pad", () => new AvgPool3d([2, 2, 3], [2, 1, 2], [1, 0, 1])),
        ("adaptive", () => new AdaptiveAvgPool3d(2, 3, 4)),
        ("adaptive_global", () => new AdaptiveAvgPool3d(1)),
    ];

    [Test, Category(TorchReference.Category)]
    public void PerDimOptionsMatchPyTorch()
    {
        int seed = TestContext.CurrentContext.Random.Next(1, 1 << 30);
        string dir = TorchReference.RunScript("video_layers.py", "video-layers", "--seed", $"{seed}");
        try
        {
            var io = SafeTensors.Load(Path.Combine(dir, "io.safetensors"));
            foreach (var (name, create) in s_cases)
            {
                using var scope = Tensor.NewDisposeScope();
                using var layer = create();
                var parameters = io.Where(kv => kv.Key is var k && (k == $"{name}.weight" || k == $"{name}.bias"))
                    .Select(kv => new KeyValuePair<string, Tensor>(kv.Key[(name.Length + 1)..], kv.Value));
                layer.LoadStateDict(parameters, strict: true);
                var x = io[$"{name}.input"].Clone().RequiresGrad_();
                var y = layer.Call(x);
                string what = $"{name} ({layer}) on {string.Join("x", x.Shape)}, seed {seed}";
                Assert.That(y.Shape, Is.EqualTo(io[$"{name}.y"].Shape), what);
                TestUtil.AssertClose(y, io[$"{name}.y"], 1e-10, 1e-10);
                y.Backward(io[$"{name}.gy"]);
                TestUtil.AssertClose(x.Grad!, io[$"{name}.dx"], 1e-10, 1e-10);
                foreach (var (pname, p) in layer.NamedParameters())
                    TestUtil.AssertClose(p.Grad!, io[$"{name}.d{pname}"], 1e-10, 1e-10);
                TestContext.Out.WriteLine($"{what}: output and gradients match PyTorch");
            }
        }
        finally { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } }
    }
}
