using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Engine.Benchmarks;

/// <summary>
/// CPU conv3d (no bias) at the video ResNets' layer shapes on one 8-frame 112×112 clip, forward and forward +
/// backward (data and weight gradients of sum(y)), float32. Cases come from <c>ENGINE_CONV3D_CASES</c> (or
/// <see cref="DefaultCases"/>); <c>benchmarks/conv3d-cpu.sh</c> runs the same list in Debian's PyTorch and prints the
/// ratio. GFLOP/s counts 2·MACs for the forward pass and 3× that for forward + backward.
/// </summary>
[Config(typeof(ColumnsConfig))]
public class Conv3dBenchmarks
{
    private sealed class ColumnsConfig : ManualConfig
    {
        public ColumnsConfig() =>
            AddColumn(new ThroughputColumn("GFLOP/s", "2*MACs (forward) or 6*MACs (forward + backward) / median time",
                c => c.Parameters.Items.FirstOrDefault(p => p.Name == nameof(Case))?.Value is Conv3dCase k
                    ? 2.0 * k.Macs * (c.Descriptor.WorkloadMethod.Name == nameof(ForwardBackward) ? 3 : 1) : null));
    }

    /// <summary>One convolution: input [N, C, T, H, W], weight [O, C, kt, kh, kw], stride and padding per dim (t, h, w).</summary>
    public sealed record Conv3dCase(string Name, long[] Input, long[] Weight, int[] Stride, int[] Padding)
    {
        /// <summary>Output size along spatial dim <paramref name="d"/> (0: T, 1: H, 2: W).</summary>
        public long Out(int d) => (Input[2 + d] + 2 * Padding[d] - Weight[2 + d]) / Stride[d] + 1;

        /// <summary>Multiply-accumulates of the forward pass: output elements × C × kt·kh·kw.</summary>
        public double Macs => (double)Input[0] * Weight[0] * Out(0) * Out(1) * Out(2) * Weight[1] * Weight[2] * Weight[3] * Weight[4];

        /// <summary>The name alone (one case per name).</summary>
        public override string ToString() => Name;
    }

    /// <summary>
    /// R3D-18's stem (3→64, 3×7×7, stride 1×2×2), a layer1 and a layer3 3×3×3 conv, and R(2+1)D-18's layer1 pair
    /// (1×3×3 to 144 mid-planes, then 3×1×1), on one 8×112×112 clip, as name:input:weight:stride:padding with dims
    /// joined by x (weight O x C x kt x kh x kw).
    /// </summary>
    public const string DefaultCases =
        "stem:1x3x8x112x112:64x3x3x7x7:1x2x2:1x3x3,r3d_layer1:1x64x8x56x56:64x64x3x3x3:1x1x1:1x1x1,r3d_layer3:1x256x2x14x14:256x256x3x3x3:1x1x1:1x1x1," +
        "r21d_spatial:1x64x8x56x56:144x64x1x3x3:1x1x1:0x1x1,r21d_temporal:1x144x8x56x56:64x144x3x1x1:1x1x1:1x0x0";

    /// <summary>The cases from <c>ENGINE_CONV3D_CASES</c> (conv3d-cpu.sh passes the same list to PyTorch) or <see cref="DefaultCases"/>.</summary>
    public static IEnumerable<Conv3dCase> Cases()
    {
        foreach (var (item, f) in CaseList.Read("ENGINE_CONV3D_CASES", DefaultCases))
        {
            long[] Dims(int i, int n) => f[i].Split('x') is { } d && d.Length == n ? [.. d.Select(v => long.Parse(v, CultureInfo.InvariantCulture))]
                : throw new ArgumentException($"ENGINE_CONV3D_CASES: '{item}': field {i} should have {n} dims joined by x");
            if (f.Length != 5) throw new ArgumentException($"ENGINE_CONV3D_CASES: '{item}' is not name:input:weight:stride:padding");
            yield return new Conv3dCase(f[0], Dims(1, 5), Dims(2, 5), [.. Dims(3, 3).Select(v => (int)v)], [.. Dims(4, 3).Select(v => (int)v)]);
        }
    }

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public Conv3dCase Case { get; set; } = null!;

    private Tensor _x = null!, _xg = null!, _w = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(11);
        _x = Tensor.Randn(Case.Input, DType.Float32, g).DetachFromDisposeScope();
        _xg = Tensor.Randn(Case.Input, DType.Float32, g).DetachFromDisposeScope().RequiresGrad_();
        _w = Tensor.Randn(Case.Weight, DType.Float32, g).Mul(0.05).DetachFromDisposeScope().RequiresGrad_();
        CheckOneOutput();
    }

    // The output at (0, last channel, 0, 0, 0) against a float64 sum over its window, so a wrong kernel cannot be timed.
    private void CheckOneOutput()
    {
        using var s = Tensor.NewDisposeScope();
        using var ng = Tensor.NoGrad();
        var y = Functional.Conv3d(_x, _w, null, Case.Stride, Case.Padding, [1, 1, 1]);
        long o = Case.Weight[0] - 1, c = Case.Weight[1];
        var x = _x.ToDoubleArray();
        var w = _w.ToDoubleArray();
        double expected = 0;
        for (long ic = 0; ic < c; ic++)
            for (long a = 0; a < Case.Weight[2]; a++)
                for (long b = 0; b < Case.Weight[3]; b++)
                    for (long d = 0; d < Case.Weight[4]; d++)
                    {
                        long t = a - Case.Padding[0], h = b - Case.Padding[1], v = d - Case.Padding[2];
                        if (t < 0 || h < 0 || v < 0 || t >= Case.Input[2] || h >= Case.Input[3] || v >= Case.Input[4]) continue;
                        expected += x[((ic * Case.Input[2] + t) * Case.Input[3] + h) * Case.Input[4] + v] * w[(((o * c + ic) * Case.Weight[2] + a) * Case.Weight[3] + b) * Case.Weight[4] + d];
                    }
        double got = y.Select(1, o).Flatten().ToDoubleArray()[0];
        if (Math.Abs(got - expected) > 1e-3 * (1 + Math.Abs(expected)))
            throw new InvalidOperationException($"conv3d {Case.Name}: output (0, {o}, 0, 0, 0) is {got}, a direct sum gives {expected}");
    }

    [Benchmark]
    public void Forward()
    {
        using var s = Tensor.NewDisposeScope();
        using var ng = Tensor.NoGrad();
        Functional.Conv3d(_x, _w, null, Case.Stride, Case.Padding, [1, 1, 1]);
    }

    [Benchmark]
    public void ForwardBackward()
    {
        using var s = Tensor.NewDisposeScope();
        Functional.Conv3d(_xg, _w, null, Case.Stride, Case.Padding, [1, 1, 1]).Sum().Backward();
        _xg.Grad = null; _w.Grad = null;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose(); _xg.Dispose(); _w.Dispose();
    }
}
