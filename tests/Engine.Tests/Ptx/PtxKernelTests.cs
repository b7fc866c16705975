using Engine.Kernels.Ptx;
using static Engine.Tests.Ptx.PtxHarness;

namespace Engine.Tests.Ptx;

/// <summary>Complete kernels on fresh random inputs against the same computation in C#.</summary>
public class PtxKernelTests
{
    private static float[] RandomFloats(int n)
    {
        var r = TestContext.CurrentContext.Random;
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }

    [Test]
    public void VectorAddWithARaggedTail()
    {
        var module = Load(PtxKernels.VectorAdd);
        int n = TestContext.CurrentContext.Random.Next(1000, 5000) | 1;   // odd, so never a multiple of the block
        var a = RandomFloats(n);
        var b = RandomFloats(n);
        using var dev = new EmulatedDevice();
        var da = dev.Alloc(a);
        var db = dev.Alloc(b);
        var dc = dev.Alloc(n * 4L);
        var r = dev.Launch(module, "vadd", (n + 255) / 256, 256, 0, da, db, dc, n);
        var c = dev.Download<float>(dc);
        Assert.That(c, Is.EqualTo(a.Zip(b, (x, y) => x + y).ToArray()));
        Assert.That(r.InstructionsExecuted, Is.GreaterThan(n * 20L));
    }

    [Test]
    public void BlockReductionWithSharedMemoryAndBarriers()
    {
        var module = Load(PtxKernels.BlockSum());
        const int block = 256;
        int n = TestContext.CurrentContext.Random.Next(3000, 9000);
        int blocks = (n + block - 1) / block;
        var x = RandomFloats(n);
        using var dev = new EmulatedDevice();
        var din = dev.Alloc(x);
        var dout = dev.Alloc(blocks * 4L);
        dev.Launch(module, "block_sum", blocks, block, block * 4, din, dout, n);
        var got = dev.Download<float>(dout);

        // The same tree in C#, so the float sums agree bit for bit.
        var want = new float[blocks];
        for (int bI = 0; bI < blocks; bI++)
        {
            var v = new float[block];
            for (int t = 0; t < block; t++) v[t] = bI * block + t < n ? x[bI * block + t] : 0f;
            for (int s = block / 2; s > 0; s /= 2)
                for (int t = 0; t < s; t++) v[t] += v[t + s];
            want[bI] = v[0];
        }
        Assert.That(got, Is.EqualTo(want));
        Assert.That(got.Sum(), Is.EqualTo(x.Sum()).Within(1e-3));
    }

    [Test]
    public void WarpReductionWithShflBfly()
    {
        var module = Load(PtxKernels.WarpSum);
        const int n = 4 * 128;
        var x = RandomFloats(n);
        using var dev = new EmulatedDevice();
        var din = dev.Alloc(x);
        var dout = dev.Alloc(n * 4L);
        dev.Launch(module, "warp_sum", n / 128, 128, 0, din, dout);
        var got = dev.Download<float>(dout);

        var want = new float[n];
        for (int w = 0; w < n / 32; w++)
        {
            var v = x.Skip(w * 32).Take(32).ToArray();
            for (int off = 16; off > 0; off /= 2)
                v = Enumerable.Range(0, 32).Select(l => v[l] + v[l ^ off]).ToArray();
            v.CopyTo(want, w * 32);
        }
        Assert.That(got, Is.EqualTo(want));
    }

    [Test]
    public void HistogramWithSharedAtomics()
    {
        var module = Load(PtxKernels.Histogram);
        var r = TestContext.CurrentContext.Random;
        int n = r.Next(5000, 20000);
        var data = new byte[n];
        for (int i = 0; i < n; i++) data[i] = (byte)(r.Next(0, 8) * r.Next(0, 33));   // skewed, many collisions
        using var dev = new EmulatedDevice();
        var dd = dev.Alloc(data);
        var db = dev.Alloc(256 * 4L);
        dev.Launch(module, "histogram", 6, 128, 0, dd, n, db);
        var got = dev.Download<uint>(db);
        var want = new uint[256];
        foreach (var v in data) want[v]++;
        Assert.That(got, Is.EqualTo(want));
    }

    [Test]
    public void LaunchesAreDeterministicWhetherBlocksRunInParallelOrNot()
    {
        var module = Load(PtxKernels.BlockSum());
        var x = RandomFloats(20_000);
        using var dev = new EmulatedDevice();
        var din = dev.Alloc(x);
        var dout = dev.Alloc(79 * 4L);
        var results = new List<(float[] Out, long Count)>();
        foreach (int par in new[] { 1, 2, 4, 1 })
        {
            dev.MaxParallelBlocks = par;
            var res = dev.Launch(module, "block_sum", 79, 256, 1024, din, dout, 20_000);
            results.Add((dev.Download<float>(dout), res.InstructionsExecuted));
        }
        foreach (var (o, count) in results.Skip(1))
        {
            Assert.That(o, Is.EqualTo(results[0].Out));
            Assert.That(count, Is.EqualTo(results[0].Count));
        }
    }
}
