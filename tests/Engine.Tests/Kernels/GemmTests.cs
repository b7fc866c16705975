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

    // Random shapes with A row-major, transposed, or a window of a wider matrix (row stride past k), so the packing of
    // full and partial 6-row panels, k not a multiple of 8, and the panel that ends at A's last element are all drawn.
    [Test]
    public void PackedOperandsOfEveryLayoutMatchTheTripleLoop([Values(0, 1, 2)] int layout, [Range(1, 4)] int draw)
    {
        var g = TestUtil.Gen();
        var r = TestContext.CurrentContext.Random;
        int m = r.Next(6, 160), k = r.Next(1, 300), n = r.Next(1, 90);
        if ((long)m * n * k < 16 * 16 * 16) k = 16 * 16 * 16 / (m * n) + 1; // past the naive cut-over
        using var wide = Tensor.Randn(layout == 1 ? [k, m + 3] : [m, k + 5], DType.Float32, g);
        using var a = layout switch
        {
            0 => wide.Narrow(1, 5, k).Contiguous(), // row-major, ends at the allocation's end
            1 => wide.Narrow(1, 3, m).T,            // transposed: the six rows of a panel adjacent in memory
            _ => wide.Narrow(1, 2, k),              // row stride k + 5
        };
        using var b = Tensor.Randn([k, n], DType.Float32, g);
        using var c = a.MatMul(b);
        var expect = Naive(a.Contiguous().ToDoubleArray(), b.ToDoubleArray(), m, k, n);
        TestUtil.AssertClose(c, expect, atol: 1e-4 * Math.Sqrt(k), rtol: 1e-4);
    }
}
