using Engine.Kernels;

namespace Engine.Tests;

/// <summary>Helpers shared by the tests: fresh random inputs, strided variants, and closeness checks.</summary>
internal static class TestUtil
{
    /// <summary>A generator with a fresh seed for this check (NUnit's per-run randomizer, so a failing run can be replayed).</summary>
    public static Generator Gen() => new(TestContext.CurrentContext.Random.NextULong());

    /// <summary>A <see cref="Random"/> with a fresh seed from NUnit's per-run randomizer (for shapes and parameters).</summary>
    public static Random Rng() => new((int)TestContext.CurrentContext.Random.NextUInt());

    /// <summary>
    /// Random contents of <paramref name="dt"/>: normals times <paramref name="scale"/> for floats, integers in
    /// [-1000, 1000) (uint8 over its whole range, so sums wrap), fair coins for bool.
    /// </summary>
    public static Tensor Values(Generator g, long[] shape, DType dt, double scale = 3) => dt switch
    {
        DType.Bool => Tensor.Bernoulli(shape, 0.5, DType.Bool, g),
        DType.UInt8 => Tensor.RandInt(0, 256, shape, DType.Int64, g).To(dt),
        DType.Int64 or DType.Int32 => Tensor.RandInt(-1000, 1000, shape, DType.Int64, g).To(dt),
        _ => (Tensor.Randn(shape, DType.Float64, g) * scale).To(dt),
    };

    /// <summary>Runs <paramref name="body"/> with a setting changed to <paramref name="value"/>, restoring it after.</summary>
    public static void With<T>(Func<T> get, Action<T> set, T value, Action body)
    {
        var old = get();
        set(value);
        try { body(); }
        finally { set(old); }
    }

    public static Tensor Randn(Generator g, params long[] shape) => Tensor.Randn(shape, DType.Float64, g);

    public static Tensor RandnF(Generator g, params long[] shape) => Tensor.Randn(shape, DType.Float32, g);

    /// <summary>A float64 leaf that requires grad.</summary>
    public static Tensor Leaf(Generator g, params long[] shape) => Tensor.Randn(shape, DType.Float64, g).RequiresGrad_();

    /// <summary>A non-contiguous float64 leaf of the given shape: the transpose of a contiguous tensor of the reversed shape.</summary>
    public static Tensor StridedLeaf(Generator g, params long[] shape)
    {
        var dims = Enumerable.Range(0, shape.Length).Reverse().ToArray();
        using var contiguous = Tensor.Randn(shape.Reverse().ToArray(), DType.Float64, g);
        // The base does not require grad, so the permuted view is itself a leaf (it keeps the storage alive).
        return contiguous.Permute(dims).RequiresGrad_();
    }

    /// <summary>|actual − expected| ≤ atol + rtol·|expected|, or both equal (infinities), or both NaN.</summary>
    public static bool Close(double actual, double expected, double atol, double rtol) =>
        (double.IsNaN(expected) && double.IsNaN(actual)) || actual == expected || Math.Abs(actual - expected) <= atol + rtol * Math.Abs(expected);

    public static void AssertClose(Tensor actual, double[] expected, double atol = 1e-6, double rtol = 1e-5)
    {
        var a = actual.ToDoubleArray();
        Assert.That(a, Has.Length.EqualTo(expected.Length), "element count");
        for (int i = 0; i < a.Length; i++)
        {
            bool ok = Close(a[i], expected[i], atol, rtol);
            Assert.That(ok, $"element {i}: got {a[i]:R}, expected {expected[i]:R}");
        }
    }

    public static void AssertClose(Tensor actual, Tensor expected, double atol = 1e-6, double rtol = 1e-5)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), "shape");
        AssertClose(actual, expected.ToDoubleArray(), atol, rtol);
    }

    public static void GradCheck(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        var r = Engine.GradCheck.Check(f, inputs);
        Assert.That(r.Passed, r.Detail);
    }
}
