using Engine.Kernels.Cpu;

namespace Engine.Tests.KernelTests;

public unsafe class GemmTests
{
    private static double[] Naive(double[] a, double[] b, int m, int k, int n)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
                c[i * n + j] = s;
            }
        return c;
    }

    [TestCase(1, 1, 1)]
    [TestCase(6, 256, 16)]
    [TestCase(7, 13, 5)]
    [TestCase(65, 33, 129)]
    [TestCase(97, 300, 41)]
    [TestCase(200, 513, 70)]
    public void BlockedKernelMatchesTheTripleLoop(int m, int k, int n)
    {
        var g = TestUtil.Gen();
        using var a = Tensor.Randn([m, k], DType.Float32, g);
        using var b = Tensor.Randn([k, n], DType.Float32, g);
        using var c = a.MatMul(b);
        var expect = Naive(a.ToDoubleArray(), b.ToDoubleArray(), m, k, n);
        TestUtil.AssertClose(c, expect, atol: 1e-4 * Math.Sqrt(k), rtol: 1e-4);
        using var ad = a.To(DType.Float64);
        using var bd = b.To(DType.Float64);
        using var cd = ad.MatMul(bd);
        TestUtil.AssertClose(cd, expect, atol: 1e-10, rtol: 1e-10);
    }

    [Test]
    public void TransposedOperandsArePackedWithoutCopies()
    {
        var g = TestUtil.Gen();
        using var at = Tensor.Randn([70, 90], DType.Float32, g);
        using var bt = Tensor.Randn([50, 70], DType.Float32, g);
        using var c = at.T.MatMul(bt.T);
        var expect = Naive(at.T.Contiguous().ToDoubleArray(), bt.T.Contiguous().ToDoubleArray(), 90, 70, 50);
        TestUtil.AssertClose(c, expect, atol: 1e-3, rtol: 1e-4);
    }
}
