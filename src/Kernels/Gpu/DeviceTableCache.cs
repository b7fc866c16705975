namespace Engine.Kernels.Gpu;

/// <summary>
/// Small read-only int32 tables on the device (pooling window tables), uploaded once per distinct content and kept by
/// the backend: a bounded least-recently-used cache whose evicted tables go back to the caching allocator at once, so
/// their memory is released deterministically, not when the garbage collector finds the geometry object unreachable.
/// Reuse of an evicted block by later work is ordered by the one stream, like every other freed block.
/// </summary>
internal sealed class DeviceTableCache(GpuBackend backend, int capacity = 256)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, GpuStorage[] Tables)>> _map = [];
    private readonly LinkedList<(string Key, GpuStorage[] Tables)> _order = [];

    /// <summary>Tables currently held.</summary>
    public int Count
    {
        get { lock (_lock) return _map.Count; }
    }

    /// <summary>
    /// The device copies of the tables <paramref name="build"/> makes (called on a miss only), found by
    /// <paramref name="key"/>, which must identify the content.
    /// </summary>
    public GpuStorage[] Get(string key, Func<int[][]> build)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                return node.Value.Tables;
            }
            var host = build();
            var dev = new GpuStorage[host.Length];
            for (int i = 0; i < host.Length; i++) dev[i] = backend.Upload(host[i]);
            _map[key] = _order.AddFirst((key, dev));
            while (_map.Count > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
                foreach (var s in last.Value.Tables) s.Release();
            }
            return dev;
        }
    }

    /// <summary>Returns every table to the allocator.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            foreach (var (_, tables) in _order)
                foreach (var s in tables) s.Release();
            _order.Clear();
            _map.Clear();
        }
    }
}
