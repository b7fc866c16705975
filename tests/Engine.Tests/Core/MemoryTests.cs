using Engine.Kernels.Cpu;

namespace Engine.Tests.Core;

[NonParallelizable]
public class MemoryTests
{
    [Test]
    public void TenThousandTrainingStepsKeepLiveNativeMemoryFlat()
    {
        var g = TestUtil.Gen();
        using var w = Tensor.Randn([16, 8], DType.Float32, g).RequiresGrad_();
        using var b = Tensor.Zeros([8], DType.Float32).RequiresGrad_();
        using var x = Tensor.Randn([32, 16], DType.Float32, g);
        using var target = Tensor.RandInt(0, 8, [32], generator: g);
        long after = 0, afterCount = 0, finalized = 0;
        for (int step = 0; step < 10_000; step++)
        {
            using (Tensor.NewDisposeScope())
            {
                var logits = x.MatMul(w).Add(b).Relu();
                var loss = logits.LogSoftmax(1).Gather(1, target.Unsqueeze(1)).Mean().Neg();
                loss.Backward();
                using (Tensor.NoGrad())
                {
                    w.AddInPlace(w.Grad!, -0.01);
                    b.AddInPlace(b.Grad!, -0.01);
                    w.Grad!.ZeroInPlace();
                    b.Grad!.ZeroInPlace();
                }
            }
            if (step == 10)
            {
                // Clear garbage left by earlier tests, so that from here on any finalized storage is a leak of this loop.
                GC.Collect(); GC.WaitForPendingFinalizers();
                after = CpuStorage.LiveBytes; afterCount = CpuStorage.LiveCount; finalized = CpuStorage.FinalizedCount;
            }
        }
        Assert.That(CpuStorage.LiveBytes, Is.EqualTo(after), "live bytes after 10,000 steps vs after 10");
        Assert.That(CpuStorage.LiveCount, Is.EqualTo(afterCount), "live storages");
        Assert.That(CpuStorage.FinalizedCount, Is.EqualTo(finalized), "storages the GC had to free (leaks)");
    }

    [Test]
    public void DisposingAViewKeepsTheStorageUntilTheLastViewGoes()
    {
        GC.Collect(); GC.WaitForPendingFinalizers();
        long before = CpuStorage.LiveBytes;
        var a = Tensor.Randn([1000], DType.Float32, TestUtil.Gen());
        var v = a.Narrow(0, 10, 5);
        a.Dispose();
        Assert.That(CpuStorage.LiveBytes - before, Is.EqualTo(4000));
        Assert.That(v.ToArray<float>(), Has.Length.EqualTo(5));
        v.Dispose();
        Assert.That(CpuStorage.LiveBytes, Is.EqualTo(before));
    }

    [Test]
    public void ScopeDisposesEverythingExceptWhatIsMovedOut()
    {
        GC.Collect(); GC.WaitForPendingFinalizers();
        long before = CpuStorage.LiveBytes;
        Tensor kept;
        using (Tensor.NewDisposeScope())
        {
            var a = Tensor.Ones(100);
            var b = a.Mul(2.0);
            kept = b.Add(1.0).MoveToOuterDisposeScope();
        }
        Assert.That(kept.IsDisposed, Is.False);
        Assert.That(CpuStorage.LiveBytes - before, Is.EqualTo(400));
        Assert.That(kept.ToArray<float>(), Is.All.EqualTo(3f));
        kept.Dispose();
        Assert.That(CpuStorage.LiveBytes, Is.EqualTo(before));
    }

    [Test]
    public void UsingADisposedTensorThrowsATypedError()
    {
        var a = Tensor.Ones(3);
        a.Dispose();
        var ex = Assert.Throws<DisposedTensorException>(() => a.Add(1.0));
        Assert.That(ex!.Message, Does.Contain("disposed"));
        Assert.DoesNotThrow(a.Dispose);
    }
}
