using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Engine.Nn.Data;

/// <summary>
/// Batches a dataset: [N, C, H, W] float32 images (clips: [N, C, T, H, W]) and [N] int64 labels, in a seeded random order per epoch
/// (or in order), optionally dropping the last incomplete batch, with per-sample <see cref="Transform"/>s and a
/// per-batch <see cref="BatchTransform"/>.
/// <para>
/// With <c>numWorkers</c> &gt; 0, background threads read, decode, augment and collate the next batches while the
/// consumer trains on the current one: worker w builds batches w, w + W, w + 2W, … into its own bounded queue
/// (capacity <c>prefetch</c>), and the consumer takes them in order. Every random draw comes from a generator
/// seeded by (seed, epoch, sample index) — the dataset's own draws when read (a clip's start frame) first, then the
/// sample's transform; or (seed, epoch, batch index) for the batch transform — so the
/// batches are identical for any number of workers, and an epoch can be replayed on its own.
/// </para>
/// <para>
/// Each <c>foreach</c> over the loader is one epoch (<see cref="Epoch"/> counts them); <see cref="GetEpoch"/>
/// runs a given one. Leaving the loop early, or disposing the loader, stops the workers and frees the batches
/// they had prepared; batches already handed over are the consumer's (see <see cref="Batch"/>).
/// </para>
/// <para>
/// Batch memory is recycled: once a batch's images (and every view of them) have been disposed, a later batch
/// reuses the memory, so a training loop that disposes its batches allocates nothing per batch. A batch that is
/// kept stays intact. The loader's pool is freed by <see cref="Dispose"/>.
/// </para>
/// </summary>
public sealed class DataLoader : IEnumerable<Batch>, IDisposable
{
    private const ulong SaltShuffle = 0x53485546464C45, SaltSample = 0x53414D504C45, SaltBatch = 0x4241544348;
    private readonly List<EpochRun> _runs = [];
    private readonly BatchPool _pool;
    private readonly Lock _lock = new();
    private int _activeWorkers;
    private bool _disposed;

    /// <summary>The dataset.</summary>
    public IDataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the samples in a fresh random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether the last, incomplete batch of an epoch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>The per-sample transform, or null.</summary>
    public Transform? Transform { get; }

    /// <summary>The per-batch transform (MixUp, CutMix), or null.</summary>
    public BatchTransform? BatchTransform { get; }

    /// <summary>Background worker threads (0: batches are built on the consuming thread).</summary>
    public int NumWorkers { get; }

    /// <summary>Batches each worker may prepare ahead (its queue's capacity).</summary>
    public int Prefetch { get; }

    /// <summary>The seed of every random draw (order, augmentation, mixing).</summary>
    public ulong Seed { get; }

    /// <summary>The device batches are delivered on.</summary>
    public Device Device { get; }

    /// <summary>The epoch the next <c>foreach</c> runs (0 first); set it to resume.</summary>
    public int Epoch { get; set; }

    /// <summary>Worker threads currently running (0 once every epoch in progress has ended or been disposed).</summary>
    public int ActiveWorkers => Volatile.Read(ref _activeWorkers);

    /// <summary>Creates the loader. Without <paramref name="seed"/>, one is drawn from <see cref="Generator.Default"/>.</summary>
    public DataLoader(IDataset dataset, int batchSize, bool shuffle = false, bool dropLast = false, Transform? transform = null,
        BatchTransform? batchTransform = null, int numWorkers = 0, int prefetch = 2, ulong? seed = null, Device? device = null)
    {
        const string op = "data_loader";
        if (batchSize < 1) throw new ArgumentValueException(op, $"batch size must be positive, got {batchSize}");
        if (numWorkers < 0) throw new ArgumentValueException(op, $"number of workers must be non-negative, got {numWorkers}");
        if (prefetch < 1) throw new ArgumentValueException(op, $"prefetch must be positive, got {prefetch}");
        (Dataset, BatchSize, Shuffle, DropLast, Transform, BatchTransform, NumWorkers, Prefetch) =
            (dataset, batchSize, shuffle, dropLast, transform, batchTransform, numWorkers, prefetch);
        Seed = seed ?? (ulong)Generator.Default.NextLong(long.MaxValue);
        Device = device ?? Device.Cpu;
        // Enough for every batch in flight: queued, being built, and held by the consumer (current and previous).
        _pool = new BatchPool(Math.Max(numWorkers, 1) * (prefetch + 1) + 2);
    }

    /// <summary>Bytes of batch memory the loader keeps for reuse (freed by <see cref="Dispose"/>).</summary>
    internal long PooledBytes => _pool.Bytes;

    /// <summary>Batches per epoch.</summary>
    public int Count => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the samples (dataset indices).</summary>
    public int[] Order(int epoch)
    {
        var order = new int[Dataset.Count];
        if (!Shuffle)
        {
            for (int i = 0; i < order.Length; i++) order[i] = i;
            return order;
        }
        var perm = new Generator(Mix(Mix(Seed, SaltShuffle), (ulong)epoch)).Permutation(order.Length);
        for (int i = 0; i < order.Length; i++) order[i] = (int)perm[i];
        return order;
    }

    /// <summary>The seed of the generator that augments sample <paramref name="index"/> in <paramref name="epoch"/>.</summary>
    public static ulong SampleSeed(ulong seed, int epoch, int index) => Mix(Mix(Mix(seed, SaltSample), (ulong)epoch), (ulong)index);

    /// <summary>The seed of the generator of the batch transform for batch <paramref name="batchIndex"/> in <paramref name="epoch"/>.</summary>
    public static ulong BatchSeed(ulong seed, int epoch, int batchIndex) => Mix(Mix(Mix(seed, SaltBatch), (ulong)epoch), (ulong)batchIndex);

    /// <summary>One epoch, the next (<see cref="Epoch"/>, which then advances).</summary>
    public IEnumerator<Batch> GetEnumerator() => Start(Epoch++);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Epoch <paramref name="epoch"/> exactly (does not change <see cref="Epoch"/>).</summary>
    public IEnumerable<Batch> GetEpoch(int epoch)
    {
        using var run = Start(epoch);
        while (run.MoveNext()) yield return run.Current;
    }

    /// <summary>Builds batch <paramref name="batchIndex"/> of <paramref name="epoch"/> on the calling thread (the same batch the workers would build).</summary>
    public Batch LoadBatch(int epoch, int batchIndex)
    {
        if (batchIndex < 0 || batchIndex >= Count) throw new IndexException("data_loader", $"batch {batchIndex} is out of range for {Count} batches");
        var b = Build(epoch, batchIndex, Order(epoch), new WorkerState(), CancellationToken.None);
        b.MoveTo(Device);
        return b;
    }

    private EpochRun Start(int epoch)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var run = new EpochRun(this, epoch);
            _runs.Add(run);
            run.StartWorkers();
            return run;
        }
    }

    /// <summary>Stops every epoch in progress: workers end, prepared batches are freed. Safe to call twice.</summary>
    public void Dispose()
    {
        EpochRun[] runs;
        lock (_lock)
        {
            _disposed = true;
            runs = [.. _runs];
        }
        foreach (var r in runs) r.Dispose();
        _pool.Dispose();
    }

    private sealed class WorkerState
    {
        public readonly ImageBuffer Image = new();
        public readonly Generator Generator = new(0);
    }

    private Batch Build(int epoch, int batchIndex, int[] order, WorkerState st, CancellationToken ct)
    {
        const string op = "data_loader";
        int start = batchIndex * BatchSize, n = Math.Min(BatchSize, order.Length - start);
        var indices = order.AsSpan(start, n).ToArray();
        var labels = new long[n];
        // Everything made here, including a batch transform's temporaries, is collected by this scope (on a worker
        // thread there is no other); the batch's own tensors move out to the caller's scope, or to none.
        using var scope = Tensor.NewDisposeScope();
        Tensor? images = null;
        int c = 0, t = 0, h = 0, w = 0;
        for (int k = 0; k < n; k++)
        {
            ct.ThrowIfCancellationRequested();
            var img = st.Image;
            st.Generator.ManualSeed(SampleSeed(Seed, epoch, indices[k]));
            labels[k] = Dataset.ReadInto(indices[k], img, st.Generator);
            Transform?.Apply(img, st.Generator);
            if (images is null)
            {
                (c, t, h, w) = (img.FrameChannels, img.Frames, img.Height, img.Width);
                images = _pool.Rent(t > 1 ? [n, c, t, h, w] : [n, c, h, w], op);
            }
            else if (img.FrameChannels != c || img.Frames != t || img.Height != h || img.Width != w)
                throw new DataException(op, null, $"sample {indices[k]} is {Describe(img.FrameChannels, img.Frames, img.Height, img.Width)} but sample {indices[0]} "
                    + $"of the same batch is {Describe(c, t, h, w)}; add a Resize or crop transform");
            int len = img.Length;
            img.CopyClipTo(TensorMemory.Floats(images, op).Slice(k * len, len));
        }
        if (images is null) throw new DataException(op, null, "empty batch");
        var labelTensor = Tensor.FromArray(labels);
        if (BatchTransform is null)
            return new Batch(images.MoveToOuterDisposeScope(), labelTensor.MoveToOuterDisposeScope(), null, null, indices, epoch, batchIndex);
        st.Generator.ManualSeed(BatchSeed(Seed, epoch, batchIndex));
        var mix = BatchTransform.Apply(images, labelTensor, st.Generator);
        return new Batch(mix.Images.MoveToOuterDisposeScope(), labelTensor.MoveToOuterDisposeScope(), mix.SoftLabels.MoveToOuterDisposeScope(),
            mix.Lambda, indices, epoch, batchIndex);
    }

    private static string Describe(int c, int t, int h, int w) => t > 1 ? $"{c}x{t}x{h}x{w} (C x T x H x W)" : $"{c}x{h}x{w}";

    /// <summary>Combines two 64-bit values into a well-spread seed (the loader's seeds are chains of it).</summary>
    internal static ulong Mix(ulong a, ulong b)
    {
        // SplitMix64's finaliser over a combination of the two: well spread, cheap, and the same everywhere.
        ulong z = a * 0x9E3779B97F4A7C15 + b + 0x632BE59BD9B4E019;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    private readonly record struct Item(Batch? Batch, ExceptionDispatchInfo? Error);

    /// <summary>One epoch in progress: its order, its workers and their queues.</summary>
    private sealed class EpochRun : IEnumerator<Batch>
    {
        private readonly DataLoader _loader;
        private readonly int _epoch, _count;
        private readonly int[] _order;
        private readonly CancellationTokenSource _cts = new();
        private readonly BlockingCollection<Item>[] _queues;
        private readonly Thread[] _threads;
        private readonly WorkerState? _inline;
        private Batch? _current;
        private int _next;
        private int _disposed;

        public EpochRun(DataLoader loader, int epoch)
        {
            (_loader, _epoch, _count, _order) = (loader, epoch, loader.Count, loader.Order(epoch));
            int workers = Math.Min(loader.NumWorkers, _count);
            _queues = new BlockingCollection<Item>[workers];
            _threads = new Thread[workers];
            if (workers == 0) _inline = new WorkerState();
            for (int w = 0; w < workers; w++)
            {
                _queues[w] = new BlockingCollection<Item>(loader.Prefetch);
                int id = w;
                _threads[w] = new Thread(() => Work(id)) { IsBackground = true, Name = $"DataLoader worker {id}" };
            }
        }

        public void StartWorkers()
        {
            foreach (var t in _threads)
            {
                Interlocked.Increment(ref _loader._activeWorkers);
                t.Start();
            }
        }

        private void Work(int w)
        {
            var ct = _cts.Token;
            var state = new WorkerState();
            var queue = _queues[w];
            try
            {
                for (int b = w; b < _count && !ct.IsCancellationRequested; b += _threads.Length)
                {
                    Item item;
                    try { item = new Item(_loader.Build(_epoch, b, _order, state, ct), null); }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
                    catch (Exception e) { item = new Item(null, ExceptionDispatchInfo.Capture(e)); }
                    try { queue.Add(item, ct); }
                    catch (OperationCanceledException)
                    {
                        item.Batch?.Dispose();
                        break;
                    }
                    if (item.Error is not null) break;
                }
            }
            finally
            {
                Interlocked.Decrement(ref _loader._activeWorkers);
            }
        }

        public Batch Current => _current ?? throw new InvalidOperationException("MoveNext has not been called, or the epoch is over");

        object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (Volatile.Read(ref _disposed) != 0 || _next >= _count) return false;
            Batch batch;
            if (_inline is not null) batch = _loader.Build(_epoch, _next, _order, _inline, CancellationToken.None);
            else
            {
                Item item;
                try { item = _queues[_next % _queues.Length].Take(_cts.Token); }
                catch (OperationCanceledException) { return false; }
                catch (ObjectDisposedException) { return false; }
                if (item.Error is not null)
                {
                    Dispose();
                    item.Error.Throw();
                }
                batch = item.Batch!;
                batch.AdoptIntoCurrentScope();
            }
            try { batch.MoveTo(_loader.Device); }
            catch
            {
                batch.Dispose();
                throw;
            }
            _next++;
            _current = batch;
            return true;
        }

        public void Reset() => throw new NotSupportedException("start a new epoch instead");

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _cts.Cancel();
            foreach (var t in _threads)
                if (t.IsAlive || t.ThreadState != ThreadState.Unstarted) t.Join();
            foreach (var q in _queues)
            {
                while (q.TryTake(out var item)) item.Batch?.Dispose();
                q.Dispose();
            }
            _cts.Dispose();
            lock (_loader._lock) _loader._runs.Remove(this);
        }
    }
}
