using Engine.Kernels.Cpu;
using Engine.Nn.Data;

namespace Engine.Tests.Data;

[NonParallelizable]
public class DataLoaderTests
{
    /// <summary>The sample indices an epoch delivered, read back from the pixel values of <see cref="DataTestUtil.Numbered"/>.</summary>
    private static List<int> Delivered(IEnumerable<Batch> epoch, List<int>? batchSizes = null)
    {
        var seen = new List<int>();
        foreach (var batch in epoch)
        {
            using (batch)
            {
                var px = batch.Images.ToArray<float>();
                int per = (int)(batch.Images.NumEl / batch.Size);
                var labels = batch.Labels.ToArray<long>();
                for (int k = 0; k < batch.Size; k++)
                {
                    int id = (int)px[k * per];
                    Assert.That(batch.Indices[k], Is.EqualTo(id), "Indices match the content");
                    Assert.That(labels[k], Is.EqualTo(id % 10), "labels travel with their images");
                    seen.Add(id);
                }
                batchSizes?.Add(batch.Size);
            }
        }
        return seen;
    }

    [TestCase(0)]
    [TestCase(2)]
    public void EverySampleExactlyOncePerEpoch(int workers)
    {
        var ds = DataTestUtil.Numbered(103);
        using var loader = new DataLoader(ds, batchSize: 10, shuffle: true, numWorkers: workers, seed: 11);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var sizes = new List<int>();
            var seen = Delivered(loader, sizes);
            Assert.That(seen.Order(), Is.EqualTo(Enumerable.Range(0, 103)), $"epoch {epoch}");
            Assert.That(sizes, Is.EqualTo(Enumerable.Repeat(10, 10).Append(3)));
        }
        Assert.That(loader.Epoch, Is.EqualTo(3));
        Assert.That(loader.ActiveWorkers, Is.Zero);
    }

    [Test]
    public void BatchesHaveTheRightShapesAndTypes()
    {
        var ds = DataTestUtil.Numbered(10, c: 3, h: 5, w: 6);
        using var loader = new DataLoader(ds, batchSize: 4, seed: 0);
        using var b = loader.LoadBatch(0, 2);
        Assert.That(b.Images.Shape, Is.EqualTo(new long[] { 2, 3, 5, 6 }));
        Assert.That(b.Images.DType, Is.EqualTo(DType.Float32));
        Assert.That(b.Labels.Shape, Is.EqualTo(new long[] { 2 }));
        Assert.That(b.Labels.DType, Is.EqualTo(DType.Int64));
        Assert.That(b.Indices, Is.EqualTo(new[] { 8, 9 }));
        Assert.That(b.SoftLabels, Is.Null);
        Assert.That((b.Epoch, b.Index), Is.EqualTo((0, 2)));
    }

    [Test]
    public void ShufflingDiffersPerEpochAndIsReproducibleForASeed()
    {
        var ds = DataTestUtil.Numbered(64);
        using var a = new DataLoader(ds, batchSize: 8, shuffle: true, seed: 42);
        using var b = new DataLoader(ds, batchSize: 8, shuffle: true, seed: 42, numWorkers: 2);
        using var c = new DataLoader(ds, batchSize: 8, shuffle: true, seed: 43);
        var a0 = Delivered(a);
        var a1 = Delivered(a);
        Assert.That(a1, Is.Not.EqualTo(a0), "each epoch has its own order");
        Assert.That(a0, Is.Not.EqualTo(Enumerable.Range(0, 64)), "shuffled");
        Assert.That(Delivered(b), Is.EqualTo(a0), "same seed, same order (epoch 0)");
        Assert.That(Delivered(b), Is.EqualTo(a1), "same seed, same order (epoch 1)");
        Assert.That(Delivered(c), Is.Not.EqualTo(a0), "another seed, another order");
        Assert.That(Delivered(a.GetEpoch(1)), Is.EqualTo(a1), "an epoch can be replayed on its own");
        Assert.That(a.Order(0), Is.EqualTo(a0));
        using var plain = new DataLoader(ds, batchSize: 8, seed: 42);
        Assert.That(Delivered(plain), Is.EqualTo(Enumerable.Range(0, 64)), "no shuffle: in order");
    }

    [Test]
    public void DropLastDropsTheIncompleteBatch()
    {
        var ds = DataTestUtil.Numbered(103);
        using var keep = new DataLoader(ds, batchSize: 10, seed: 0);
        using var drop = new DataLoader(ds, batchSize: 10, dropLast: true, shuffle: true, numWorkers: 2, seed: 0);
        Assert.That(keep.Count, Is.EqualTo(11));
        Assert.That(drop.Count, Is.EqualTo(10));
        var sizes = new List<int>();
        var seen = Delivered(drop, sizes);
        Assert.That(sizes, Has.Count.EqualTo(10));
        Assert.That(sizes, Is.All.EqualTo(10));
        Assert.That(seen, Is.Unique.And.Count.EqualTo(100));
        using var exact = new DataLoader(DataTestUtil.Numbered(100), batchSize: 10, dropLast: true, seed: 0);
        Assert.That(exact.Count, Is.EqualTo(10));
    }

    private static (float[][] Images, float[][] Soft) Collect(IDataset ds, int workers, Transform t, BatchTransform? bt, int epochs = 2)
    {
        using var loader = new DataLoader(ds, batchSize: 7, shuffle: true, transform: t, batchTransform: bt, numWorkers: workers, prefetch: 1, seed: 99);
        var images = new List<float[]>();
        var soft = new List<float[]>();
        for (int e = 0; e < epochs; e++)
            foreach (var b in loader)
                using (b)
                {
                    images.Add(b.Images.ToArray<float>());
                    if (b.SoftLabels is not null) soft.Add(b.SoftLabels.ToArray<float>());
                }
        return ([.. images], [.. soft]);
    }

    [Test]
    public void BatchesAreIdenticalForAnyNumberOfWorkers()
    {
        var ds = DataTestUtil.Random(40, 3, 12, 12, 5, new Generator(1));
        var t = Augmentations.Preset("strong", 10, 10);
        var bt = new MixUp(5, alpha: 0.4);
        var (i0, s0) = Collect(ds, 0, t, bt);
        Assert.That(s0, Has.Length.EqualTo(i0.Length));
        foreach (int workers in new[] { 1, 2, 3 })
        {
            var (iw, sw) = Collect(ds, workers, t, bt);
            Assert.That(iw, Is.EqualTo(i0), $"images with {workers} workers");
            Assert.That(sw, Is.EqualTo(s0), $"soft labels with {workers} workers");
        }
    }

    [Test]
    public void EachSampleIsAugmentedWithTheGeneratorOfItsSeedEpochAndIndex()
    {
        var ds = DataTestUtil.Random(12, 1, 9, 9, 3, new Generator(2));
        var t = new Compose(new RandomCrop(9, padding: 2), new RandomHorizontalFlip(), new RandomRotation(20));
        using var loader = new DataLoader(ds, batchSize: 5, shuffle: true, transform: t, numWorkers: 2, seed: 5);
        using var batch = loader.LoadBatch(epoch: 3, batchIndex: 1);
        var px = batch.Images.ToArray<float>();
        for (int k = 0; k < batch.Size; k++)
        {
            int idx = batch.Indices[k];
            using var s = ds.Get(idx);
            using var expected = t.Apply(s.Image, new Generator(DataLoader.SampleSeed(5, 3, idx)));
            Assert.That(px.AsSpan(k * 81, 81).ToArray(), Is.EqualTo(expected.ToArray<float>()), $"sample {idx}");
        }
    }

    [Test]
    public void NoCpuMemoryLeaksOverSeveralEpochs()
    {
        var ds = DataTestUtil.Random(50, 1, 16, 16, 4, new Generator(3));
        var t = Augmentations.Preset("strong", 16, 16);
        GC.Collect(); GC.WaitForPendingFinalizers();
        long baseline = CpuStorage.LiveBytes, finalized = CpuStorage.FinalizedCount;
        var loader = new DataLoader(ds, batchSize: 8, shuffle: true, transform: t, batchTransform: new CutMix(4), numWorkers: 2, seed: 1);
        for (int epoch = 0; epoch < 6; epoch++)
        {
            if (epoch % 2 == 0)
                foreach (var b in loader) using (b) Assert.That(b.SoftLabels, Is.Not.Null);
            else
                using (Tensor.NewDisposeScope())
                    foreach (var b in loader) _ = b.Images.Sum(); // collected by the scope
            // Only the loader's pool of batch memory (reused from batch to batch) stays.
            Assert.That(CpuStorage.LiveBytes - baseline, Is.EqualTo(loader.PooledBytes), $"live bytes after epoch {epoch}");
        }
        Assert.That(loader.PooledBytes, Is.LessThanOrEqualTo(8 * 8 * 256 * 4), "the pool is bounded (capacity 8 batches)");
        loader.Dispose();
        Assert.That(CpuStorage.LiveBytes, Is.EqualTo(baseline), "everything freed with the loader");
        GC.Collect(); GC.WaitForPendingFinalizers();
        Assert.That(CpuStorage.FinalizedCount, Is.EqualTo(finalized), "nothing was left to the finalizer");
    }

    [Test]
    public void BatchMemoryIsReusedOnlyOnceTheConsumerLetsGo()
    {
        var ds = DataTestUtil.Numbered(40, h: 8, w: 8);
        using var loader = new DataLoader(ds, batchSize: 4, seed: 0);
        var kept = new List<Batch>();
        Tensor? view = null;
        foreach (var b in loader)
        {
            if (b.Index < 3) kept.Add(b);                   // kept whole
            else if (b.Index == 3) { view = b.Images.Narrow(0, 0, 1); b.Dispose(); } // disposed, but a view lives
            else b.Dispose();                               // recycled
        }
        for (int k = 0; k < 3; k++)
            Assert.That(kept[k].Images.ToArray<float>().Distinct(), Is.EquivalentTo(Enumerable.Range(4 * k, 4).Select(i => (float)i)),
                $"kept batch {k} was not overwritten");
        Assert.That(view!.ToArray<float>(), Is.All.EqualTo(12f), "a live view keeps its memory");
        Assert.That(loader.PooledBytes, Is.LessThanOrEqualTo(5 * 4 * 64 * 4));
        view.Dispose();
        foreach (var b in kept) b.Dispose();
    }

    [Test]
    public void DisposingMidEpochStopsTheWorkersAndFreesPreparedBatches()
    {
        var ds = DataTestUtil.Random(200, 1, 8, 8, 4, new Generator(4));
        GC.Collect(); GC.WaitForPendingFinalizers();
        long before = CpuStorage.LiveBytes;
        var loader = new DataLoader(ds, batchSize: 4, shuffle: true, transform: new RandomHorizontalFlip(), numWorkers: 2, prefetch: 3, seed: 2);
        var it = loader.GetEnumerator();
        Assert.That(it.MoveNext(), Is.True);
        var first = it.Current;
        Assert.That(loader.ActiveWorkers, Is.EqualTo(2));
        // Let the workers fill their queues and block.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (CpuStorage.LiveBytes - before < 7 * 4 * 64 * 4 && DateTime.UtcNow < deadline) Thread.Sleep(5);
        loader.Dispose();
        Assert.That(loader.ActiveWorkers, Is.Zero, "workers stopped");
        Assert.That(it.MoveNext(), Is.False, "the epoch is over");
        Assert.That(first.Images.ToArray<float>(), Has.Length.EqualTo(4 * 64), "a handed-over batch stays the consumer's");
        first.Dispose();
        it.Dispose();
        Assert.That(CpuStorage.LiveBytes, Is.EqualTo(before), "prepared batches were freed");
        Assert.That(() => loader.GetEnumerator(), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void LeavingTheLoopEarlyStopsTheWorkers()
    {
        var ds = DataTestUtil.Numbered(100);
        GC.Collect(); GC.WaitForPendingFinalizers();
        long before = CpuStorage.LiveBytes;
        var loader = new DataLoader(ds, batchSize: 2, numWorkers: 2, seed: 0);
        foreach (var b in loader)
        {
            b.Dispose();
            if (b.Index == 3) break;
        }
        Assert.That(loader.ActiveWorkers, Is.Zero);
        Assert.That(CpuStorage.LiveBytes - before, Is.EqualTo(loader.PooledBytes), "prepared batches went back to the pool");
        Assert.That(Delivered(loader), Has.Count.EqualTo(100), "the next epoch runs in full");
        loader.Dispose();
        Assert.That(CpuStorage.LiveBytes, Is.EqualTo(before));
    }

    private sealed class FailingDataset(IDataset inner, int bad) : IDataset
    {
        public int Count => inner.Count;

        public Sample Get(int index) => index == bad ? throw new DataException("test", $"sample{index}.png", "does not decode") : inner.Get(index);
    }

    [TestCase(0)]
    [TestCase(2)]
    public void AReadErrorReachesTheConsumerAtItsBatch(int workers)
    {
        var ds = new FailingDataset(DataTestUtil.Numbered(40), bad: 23);
        using var loader = new DataLoader(ds, batchSize: 5, numWorkers: workers, seed: 0);
        var delivered = new List<int>();
        var e = Assert.Throws<DataException>(() =>
        {
            foreach (var b in loader) using (b) delivered.Add(b.Index);
        })!;
        Assert.That(e.FileName, Is.EqualTo("sample23.png"));
        Assert.That(delivered, Is.EqualTo(new[] { 0, 1, 2, 3 }), "the batches before the bad one arrive");
        Assert.That(loader.ActiveWorkers, Is.Zero);
    }

    [Test]
    public void BadArgumentsAreRejected()
    {
        var ds = DataTestUtil.Numbered(4);
        Assert.That(() => new DataLoader(ds, 0), Throws.TypeOf<ArgumentValueException>());
        Assert.That(() => new DataLoader(ds, 1, numWorkers: -1), Throws.TypeOf<ArgumentValueException>());
        Assert.That(() => new DataLoader(ds, 1, prefetch: 0), Throws.TypeOf<ArgumentValueException>());
        using var l = new DataLoader(ds, 2, seed: 0);
        Assert.That(() => l.LoadBatch(0, 2), Throws.TypeOf<IndexException>());
    }

    [Test]
    public void DeviceHookDeliversOnTheRequestedDevice()
    {
        using var loader = new DataLoader(DataTestUtil.Numbered(6), batchSize: 3, numWorkers: 1, seed: 0, device: Device.Cpu);
        foreach (var b in loader)
            using (b)
            {
                Assert.That(b.Images.Device, Is.EqualTo(Device.Cpu));
                Assert.That(b.Labels.Device, Is.EqualTo(Device.Cpu));
            }
    }
}
