using System.Diagnostics;
using Engine.Nn;
using F = Engine.Functional;

namespace Engine.Tests.Nn;

/// <summary>
/// The convolution and pooling layers' options: padding "same"/"valid" (against a direct loop and the per-side
/// functional op, gradients, the stride error), per-dim pooling options, the adaptive max and 3-D average pooling
/// layers (against window loops), the shared printouts and initialiser, and (category TorchReference) "same" against PyTorch.
/// </summary>
public class ConvPoolLayerTests
{
    /// <summary>Direct 2-D convolution (stride 1, groups 1) of x [N, C, H, W] padded by (top, left) before and anything after, output [N, O, outH, outW].</summary>
    private static double[] Conv2dRef(double[] x, double[] w, long n, long c, long h, long wd, long o, long kh, long kw, int dh, int dw, int top, int left, long outH, long outW)
    {
        var y = new double[n * o * outH * outW];
        for (long b = 0; b < n; b++)
            for (long oc = 0; oc < o; oc++)
                for (long i = 0; i < outH; i++)
                    for (long j = 0; j < outW; j++)
                    {
                        double s = 0;
                        for (long ic = 0; ic < c; ic++)
                            for (long u = 0; u < kh; u++)
                                for (long v = 0; v < kw; v++)
                                {
                                    long r = i + u * dh - top, q = j + v * dw - left;
                                    if (r < 0 || r >= h || q < 0 || q >= wd) continue;
                                    s += x[((b * c + ic) * h + r) * wd + q] * w[((oc * c + ic) * kh + u) * kw + v];
                                }
                        y[((b * o + oc) * outH + i) * outW + j] = s;
                    }
        return y;
    }

    [TestCase(3, 3, 1, 1)]
    [TestCase(2, 4, 1, 1)]
    [TestCase(4, 1, 1, 1)]
    [TestCase(2, 3, 2, 3)]
    [TestCase(5, 2, 1, 2)]
    public void SamePaddingKeepsTheSizeAndPadsTheOddOneAfter(int kh, int kw, int dh, int dw)
    {
        var g = TestUtil.Gen();
        using var conv = new Conv2d(3, 4, [kh, kw], ConvPadding.Same, dilation: [dh, dw], bias: false, dtype: DType.Float64, generator: g);
        var x = TestUtil.Randn(g, 2, 3, 7, 6);
        var y = conv.Call(x);
        Assert.That(y.Shape, Is.EqualTo(new long[] { 2, 4, 7, 6 }));
        int th = dh * (kh - 1), tw = dw * (kw - 1);
        var expected = Conv2dRef(x.ToDoubleArray(), conv.Weight.ToDoubleArray(), 2, 3, 7, 6, 4, kh, kw, dh, dw, th / 2, tw / 2, 7, 6);
        TestUtil.AssertClose(y, expected, 1e-12, 1e-12);
        TestUtil.AssertClose(y, F.Conv2d(x, conv.Weight, null, [1, 1], [th / 2, th - th / 2, tw / 2, tw - tw / 2], [dh, dw]), 1e-12, 1e-12);
        TestUtil.AssertClose(F.Conv2d(x, conv.Weight, null, ConvPadding.Same, dilation: [dh, dw]), expected, 1e-12, 1e-12);
    }

    [Test]
    public void SamePaddingGradCheckEvenKernel()
    {
        var g = TestUtil.Gen();
        TestUtil.GradCheck(t => F.Conv2d(t[0], t[1], t[2], ConvPadding.Same), TestUtil.Leaf(g, 2, 2, 5, 4), TestUtil.Leaf(g, 3, 2, 2, 4), TestUtil.Leaf(g, 3));
        TestUtil.GradCheck(t => F.Conv2d(t[0], t[1], null, ConvPadding.Same, dilation: [3, 1]), TestUtil.Leaf(g, 1, 2, 6, 5), TestUtil.Leaf(g, 2, 2, 2, 3));
        TestUtil.GradCheck(t => F.Conv3d(t[0], t[1], null, ConvPadding.Same), TestUtil.Leaf(g, 1, 2, 3, 4, 3), TestUtil.Leaf(g, 2, 2, 2, 3, 2));
    }

    [Test]
    public void Conv3dSameAndValid()
    {
        var g = TestUtil.Gen();
        var x = TestUtil.Randn(g, 1, 2, 4, 5, 6);
        using var same = new Conv3d(2, 3, [2, 3, 4], ConvPadding.Same, dtype: DType.Float64, generator: g);
        Assert.That(same.Padding, Is.EqualTo(new[] { 0, 1, 1, 1, 1, 2 }));
        TestUtil.AssertClose(same.Call(x), F.Conv3d(x, same.Weight, same.Bias, [1, 1, 1], [0, 1, 1, 1, 1, 2], [1, 1, 1]), 1e-12, 1e-12);
        Assert.That(same.Call(x).Shape, Is.EqualTo(new long[] { 1, 3, 4, 5, 6 }));
        using var valid = new Conv3d(2, 3, [2, 3, 4], ConvPadding.Valid, stride: [2], dtype: DType.Float64, generator: g);
        TestUtil.AssertClose(valid.Call(x), F.Conv3d(x, valid.Weight, valid.Bias, [2, 2, 2], [0, 0, 0], [1, 1, 1]), 1e-12, 1e-12);
        Assert.That(valid.ToString(), Is.EqualTo("Conv3d(2, 3, kernel_size=(2, 3, 4), stride=(2, 2, 2), padding=valid)"));
        using var odd = new Conv2d(2, 3, [3], ConvPadding.Same, generator: g);
        Assert.That(odd.Padding, Is.EqualTo(new[] { 1, 1 }), "an odd kernel pads symmetrically");
        Assert.That(odd.ToString(), Is.EqualTo("Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=same)"));
    }

    [Test]
    public void SamePaddingWithStrideIsATypedError()
    {
        var ex = Assert.Throws<ArgumentValueException>(() => new Conv2d(3, 4, [3], ConvPadding.Same, stride: [2]));
        Assert.That(ex!.Op, Is.EqualTo("Conv2d"));
        Assert.That(ex.Message, Does.Contain("same").And.Contain("strided"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => new Conv3d(3, 4, [3], ConvPadding.Same, stride: [1, 1, 2]))!.Op, Is.EqualTo("Conv3d"));
        var x = Tensor.Zeros(1, 3, 5, 5);
        Assert.That(Assert.Throws<ArgumentValueException>(() => F.Conv2d(x, Tensor.Zeros(4, 3, 2, 2), null, ConvPadding.Same, stride: [1, 2]))!.Op, Is.EqualTo("conv2d"));
        // Valid padding allows any stride.
        Assert.That(F.Conv2d(x, Tensor.Zeros(4, 3, 2, 2), null, ConvPadding.Valid, stride: [2]).Shape, Is.EqualTo(new long[] { 1, 4, 2, 2 }));
    }

    [Test]
    public void PoolingLayersWithPerDimOptions()
    {
        var g = TestUtil.Gen();
        var x = TestUtil.Randn(g, 2, 3, 9, 8);
        using var mp = new MaxPool2d([3, 2], [2, 1], [1, 0], [1, 2], ceilMode: true);
        TestUtil.AssertClose(mp.Call(x), F.MaxPool2dWithIndices(x, [3, 2], [2, 1], [1, 0], [1, 2], true).Output, 0, 0);
        Assert.That(mp.ToString(), Is.EqualTo("MaxPool2d(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), ceil_mode=True)"));
        using var mpScalar = new MaxPool2d(3, 2, 1);
        TestUtil.AssertClose(mpScalar.Call(x), F.MaxPool2d(x, 3, 2, 1), 0, 0);
        Assert.That(mpScalar.ToString(), Is.EqualTo("MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"));
        using var ap = new AvgPool2d([2, 3], [1, 2], [1, 1], countIncludePad: false);
        TestUtil.AssertClose(ap.Call(x), F.AvgPool2d(x, [2, 3], [1, 2], [1, 1], countIncludePad: false), 0, 0);
        Assert.That(ap.ToString(), Is.EqualTo("AvgPool2d(kernel_size=(2, 3), stride=(1, 2), padding=1)"));
        var x3 = TestUtil.Randn(g, 1, 2, 5, 6, 7);
        using var mp3 = new MaxPool3d([2, 3, 2], [1, 2, 2], [1, 1, 0]);
        TestUtil.AssertClose(mp3.Call(x3), F.MaxPool3dWithIndices(x3, [2, 3, 2], [1, 2, 2], [1, 1, 0]).Output, 0, 0);
        using var ap3 = new AvgPool3d([1, 2, 3], padding: [0, 1, 1]);
        TestUtil.AssertClose(ap3.Call(x3), F.AvgPool3d(x3, [1, 2, 3], [1, 2, 3], [0, 1, 1]), 0, 0);
        Assert.Throws<ArgumentValueException>(() => new MaxPool2d([2, 2, 2]));
    }

    /// <summary>Adaptive pooling by loops over PyTorch's windows ⌊i·In/Out⌋ … ⌈(i+1)·In/Out⌉ of the trailing dims.</summary>
    private static double[] AdaptiveRef(double[] x, long planes, int[] inSizes, int[] outSizes, bool max)
    {
        int dims = inSizes.Length;
        long inPlane = inSizes.Aggregate(1L, (a, b) => a * b), outPlane = outSizes.Aggregate(1L, (a, b) => a * b);
        var y = new double[planes * outPlane];
        for (long p = 0; p < planes; p++)
            for (long o = 0; o < outPlane; o++)
            {
                var lo = new int[dims]; var hi = new int[dims];
                long rest = o;
                for (int d = dims - 1; d >= 0; d--)
                {
                    int i = (int)(rest % outSizes[d]); rest /= outSizes[d];
                    lo[d] = i * inSizes[d] / outSizes[d];
                    hi[d] = ((i + 1) * inSizes[d] + outSizes[d] - 1) / outSizes[d];
                }
                double acc = max ? double.NegativeInfinity : 0; long count = 0;
                for (long e = 0; e < inPlane; e++)
                {
                    long r = e; bool inside = true;
                    for (int d = dims - 1; d >= 0; d--) { int c = (int)(r % inSizes[d]); r /= inSizes[d]; inside &= c >= lo[d] && c < hi[d]; }
                    if (!inside) continue;
                    double v = x[p * inPlane + e];
                    acc = max ? Math.Max(acc, v) : acc + v; count++;
                }
                y[p * outPlane + o] = max ? acc : acc / count;
            }
        return y;
    }

    [Test]
    public void AdaptiveMaxPool2dAndAdaptiveAvgPool3dMatchWindowLoops()
    {
        var g = TestUtil.Gen();
        var x = TestUtil.Randn(g, 2, 3, 7, 5);
        using var amp = new AdaptiveMaxPool2d(3, 2);
        var y = amp.Call(x);
        Assert.That(y.Shape, Is.EqualTo(new long[] { 2, 3, 3, 2 }));
        TestUtil.AssertClose(y, AdaptiveRef(x.ToDoubleArray(), 6, [7, 5], [3, 2], max: true), 0, 0);
        Assert.That(amp.ToString(), Is.EqualTo("AdaptiveMaxPool2d(output_size=(3, 2))"));
        var x3 = TestUtil.Randn(g, 1, 2, 5, 4, 7);
        using var aap = new AdaptiveAvgPool3d(2, 3, 3);
        TestUtil.AssertClose(aap.Call(x3), AdaptiveRef(x3.ToDoubleArray(), 2, [5, 4, 7], [2, 3, 3], max: false), 1e-12, 1e-12);
        using var cube = new AdaptiveAvgPool3d(1);
        TestUtil.AssertClose(cube.Call(x3), x3.Mean([2, 3, 4], keepDim: true), 1e-12, 1e-12);
        TestUtil.GradCheck(t => new AdaptiveMaxPool2d(2).Call(t[0]), TestUtil.Leaf(g, 1, 2, 5, 3));
        TestUtil.GradCheck(t => new AdaptiveAvgPool3d(2, 1, 3).Call(t[0]), TestUtil.Leaf(g, 1, 2, 3, 2, 4));
        Assert.Throws<ArgumentValueException>(() => new AdaptiveAvgPool3d(0, 1, 1));
    }

    [Test]
    public void Conv3dPrintsItsPaddingAndDilation()
    {
        using var c = new Conv3d(2, 4, [1, 3, 3], [1, 2, 2], [0, 1, 1], [1, 1, 1], groups: 2, bias: false);
        Assert.That(c.ToString(), Is.EqualTo("Conv3d(2, 4, kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), groups=2, bias=False)"));
        Assert.That(new Conv2d(1, 4, 3, padding: 1).ToString(), Is.EqualTo("Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"));
    }

    [Test]
    public void LinearUsesTheConvolutionDefaultInitialiser()
    {
        // PyTorch's rule for both: weight kaiming uniform (a = √5), bias U(±1/√fan_in), weight drawn first.
        using var lin = new Linear(6, 5, generator: new Generator(7));
        using var conv = new Conv2d(6, 5, 1, generator: new Generator(7));
        Assert.That(lin.Weight.ToDoubleArray(), Is.EqualTo(conv.Weight.ToDoubleArray()));
        Assert.That(lin.Bias!.ToDoubleArray(), Is.EqualTo(conv.Bias!.ToDoubleArray()));
        Assert.That(lin.Bias.ToDoubleArray().Max(), Is.LessThanOrEqualTo(1 / Math.Sqrt(6)));
    }

    [Test, Category(Models.TorchReference.Category)]
    public void SamePaddingMatchesPyTorch()
    {
        string py = Models.TorchReference.Require();
        var g = TestUtil.Gen();
        string dir = Path.Combine(Path.GetTempPath(), $"engine-same-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var t = new Dictionary<string, Tensor>
            {
                ["x2"] = TestUtil.Randn(g, 2, 3, 7, 6), ["w2"] = TestUtil.Randn(g, 4, 3, 2, 4),
                ["x3"] = TestUtil.Randn(g, 1, 2, 4, 5, 3), ["w3"] = TestUtil.Randn(g, 3, 2, 2, 3, 4),
            };
            SafeTensors.Save(Path.Combine(dir, "in.safetensors"), t);
            string script = """
                import sys, json, struct, torch, torch.nn.functional as F
                def load(p):
                    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); d = b[8 + n:]
                    return {k: torch.frombuffer(bytearray(d[v['data_offsets'][0]:v['data_offsets'][1]]), dtype=torch.float64).reshape(v['shape'])
                            for k, v in h.items() if k != '__metadata__'}
                t = load(sys.argv[1] + '/in.safetensors')
                y2 = F.conv2d(t['x2'], t['w2'], padding='same', dilation=(2, 1))
                y3 = F.conv3d(t['x3'], t['w3'], padding='same')
                print(json.dumps({'y2': y2.flatten().tolist(), 'y3': y3.flatten().tolist()}))
                """;
            var psi = new ProcessStartInfo(py) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(script); psi.ArgumentList.Add(dir);
            using var p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.That(p.ExitCode, Is.Zero, stderr);
            using var doc = System.Text.Json.JsonDocument.Parse(stdout);
            double[] Get(string k) => [.. doc.RootElement.GetProperty(k).EnumerateArray().Select(v => v.GetDouble())];
            TestUtil.AssertClose(F.Conv2d(t["x2"], t["w2"], null, ConvPadding.Same, dilation: [2, 1]), Get("y2"), 1e-10, 1e-10);
            TestUtil.AssertClose(F.Conv3d(t["x3"], t["w3"], null, ConvPadding.Same), Get("y3"), 1e-10, 1e-10);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
