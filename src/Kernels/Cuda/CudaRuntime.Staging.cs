using static Engine.Kernels.Cuda.CudaDriver;

namespace Engine.Kernels.Cuda;

// Host↔device copies through two page-locked staging buffers (cuMemHostAlloc). Managed memory, even pinned by the GC,
// is pageable to CUDA: the driver would stage it through its own small buffer with a synchronous copy. Here each chunk
// is copied into a page-locked buffer and transferred asynchronously on the runtime's stream while the next chunk is
// being filled (double buffering), so the host copy and the DMA overlap.
public sealed unsafe partial class CudaRuntime
{
    /// <summary>Bytes per staging buffer (two are used alternately).</summary>
    internal const int StagingBytes = 4 << 20;

    private readonly Lock _stagingLock = new();
    private readonly void*[] _staging = new void*[2];
    private readonly nint[] _stagingDone = new nint[2];   // event recorded after the transfer out of / into each buffer
    private readonly bool[] _stagingBusy = new bool[2];
    private bool _stagingFailed;

    // Allocates the staging buffers and their events on first use; false when page-locked memory is not available
    // (then copies go directly from pageable memory, which is correct, only slower). Called under _stagingLock with the context current.
    private bool EnsureStaging()
    {
        if (_staging[0] != null) return true;
        if (_stagingFailed) return false;
        for (int i = 0; i < 2; i++)
        {
            if (cuMemHostAlloc(out void* p, StagingBytes, 0) != CUDA_SUCCESS || cuEventCreate(out nint ev, 2 /* CU_EVENT_DISABLE_TIMING */) != CUDA_SUCCESS)
            {
                ReleaseStagingLocked();
                _stagingFailed = true;
                return false;
            }
            _staging[i] = p;
            _stagingDone[i] = ev;
        }
        return true;
    }

    // Waits until buffer i is no longer read or written by an earlier transfer.
    private void WaitStaging(int i)
    {
        if (!_stagingBusy[i]) return;
        Check(cuEventSynchronize(_stagingDone[i]), nameof(cuEventSynchronize));
        _stagingBusy[i] = false;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Returns once the data is in page-locked memory; the transfer itself completes in stream order (any later kernel,
    /// copy or read-back on this device sees it).
    /// </remarks>
    public void CopyHostToDevice(ulong dst, ReadOnlySpan<byte> src)
    {
        if (src.IsEmpty) return;
        using var _ = Enter();
        lock (_stagingLock)
        {
            if (!EnsureStaging())
            {
                fixed (byte* p = src) Check(cuMemcpyHtoD_v2(dst, p, (nuint)src.Length), nameof(cuMemcpyHtoD_v2));
                return;
            }
            int buf = 0;
            for (int off = 0; off < src.Length; off += StagingBytes, buf ^= 1)
            {
                int n = Math.Min(StagingBytes, src.Length - off);
                WaitStaging(buf);
                src.Slice(off, n).CopyTo(new Span<byte>(_staging[buf], n));
                Check(cuMemcpyHtoDAsync_v2(dst + (ulong)off, _staging[buf], (nuint)n, Stream), nameof(cuMemcpyHtoDAsync_v2));
                Check(cuEventRecord(_stagingDone[buf], Stream), nameof(cuEventRecord));
                _stagingBusy[buf] = true;
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>Waits for the work issued before it on the stream (reading a value back synchronises).</remarks>
    public void CopyDeviceToHost(Span<byte> dst, ulong src)
    {
        if (dst.IsEmpty) return;
        using var _ = Enter();
        lock (_stagingLock)
        {
            if (!EnsureStaging())
            {
                fixed (byte* p = dst) Check(cuMemcpyDtoH_v2(p, src, (nuint)dst.Length), nameof(cuMemcpyDtoH_v2));
                return;
            }
            WaitStaging(0);
            WaitStaging(1);
            int total = dst.Length, chunks = (int)((total + (long)StagingBytes - 1) / StagingBytes);
            Issue(0);
            for (int c = 0; c < chunks; c++)
            {
                if (c + 1 < chunks) Issue(c + 1);   // the next chunk's DMA overlaps this chunk's host copy
                int buf = c & 1, off = c * StagingBytes, n = Math.Min(StagingBytes, dst.Length - off);
                WaitStaging(buf);
                new ReadOnlySpan<byte>(_staging[buf], n).CopyTo(dst.Slice(off, n));
            }

            void Issue(int c)
            {
                int buf = c & 1, off = c * StagingBytes, n = Math.Min(StagingBytes, total - off);
                Check(cuMemcpyDtoHAsync_v2(_staging[buf], src + (ulong)off, (nuint)n, Stream), nameof(cuMemcpyDtoHAsync_v2));
                Check(cuEventRecord(_stagingDone[buf], Stream), nameof(cuEventRecord));
                _stagingBusy[buf] = true;
            }
        }
    }

    // Frees the staging buffers (Dispose).
    private void ReleaseStaging()
    {
        lock (_stagingLock)
        {
            if (_staging[0] == null && _staging[1] == null) return;
            if (_context.IsClosed || cuCtxPushCurrent_v2(_context.Context) != CUDA_SUCCESS) return;
            try
            {
                cuCtxSynchronize();
                ReleaseStagingLocked();
            }
            finally { cuCtxPopCurrent_v2(out _); }
        }
    }

    private void ReleaseStagingLocked()
    {
        for (int i = 0; i < 2; i++)
        {
            if (_staging[i] != null) cuMemFreeHost(_staging[i]);
            if (_stagingDone[i] != 0) cuEventDestroy_v2(_stagingDone[i]);
            _staging[i] = null;
            _stagingDone[i] = 0;
            _stagingBusy[i] = false;
        }
    }
}
