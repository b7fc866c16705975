using Engine.Kernels.Ptx;

namespace Engine.Kernels.Gpu;

/// <summary>
/// The driver-level operations the GPU backend needs, and nothing more: device memory, copies, memset, PTX modules
/// and kernel launches with a packed parameter buffer. <see cref="EmulatedRuntime"/> implements it over the PTX
/// interpreter; a CUDA runtime (cuMemAlloc, cuMemcpy*, cuMemsetD8, cuModuleLoadDataEx, cuLaunchKernel with
/// CU_LAUNCH_PARAM_BUFFER_POINTER) implements the same calls, so <see cref="GpuBackend"/> runs unchanged on both.
/// Device memory is named by 64-bit device addresses. Every method may be called from any thread.
/// </summary>
public interface IGpuRuntime
{
    /// <summary>The engine device this runtime drives.</summary>
    Device Device { get; }

    /// <summary>Allocates <paramref name="bytes"/> bytes of zeroed device memory; returns its device address.</summary>
    ulong Allocate(long bytes);

    /// <summary>
    /// Like <see cref="Allocate"/>, but returns 0 instead of throwing when the device is out of memory (other failures
    /// still throw), so the caching allocator can release its cache and retry.
    /// </summary>
    ulong TryAllocate(long bytes);

    /// <summary>(free, total) bytes of device memory (cuMemGetInfo).</summary>
    (long Free, long Total) MemoryInfo();

    /// <summary>Frees memory from <see cref="Allocate"/>. May be called from the finalizer thread.</summary>
    void Free(ulong address);

    /// <summary>Device ← host.</summary>
    void CopyHostToDevice(ulong dst, ReadOnlySpan<byte> src);

    /// <summary>Host ← device.</summary>
    void CopyDeviceToHost(Span<byte> dst, ulong src);

    /// <summary>Device ← device, <paramref name="bytes"/> bytes (the ranges must not overlap).</summary>
    void CopyDeviceToDevice(ulong dst, ulong src, long bytes);

    /// <summary>Sets <paramref name="bytes"/> bytes at <paramref name="dst"/> to <paramref name="value"/>.</summary>
    void Memset(ulong dst, byte value, long bytes);

    /// <summary>
    /// The module <paramref name="name"/>, loaded from <paramref name="ptx"/> on first use and cached per runtime by
    /// name (later calls with the same name return the cached module and do not look at the text).
    /// </summary>
    GpuModule LoadModule(string name, string ptx);

    /// <summary>
    /// Launches <paramref name="function"/> on <paramref name="grid"/> blocks of <paramref name="block"/> threads with
    /// <paramref name="sharedBytes"/> of dynamic shared memory. <paramref name="parameters"/> is the parameter buffer
    /// laid out as CUDA does (see <see cref="ParamBuffer"/>).
    /// </summary>
    void Launch(GpuFunction function, Dim3 grid, Dim3 block, int sharedBytes, ReadOnlySpan<byte> parameters);

    /// <summary>Bytes of device memory currently allocated through <see cref="Allocate"/>.</summary>
    long LiveBytes { get; }

    /// <summary>Waits until all work issued to the device has finished; raises errors of earlier launches.</summary>
    void Synchronize();

    /// <summary>A timing event (cuEventCreate on a GPU). Dispose it when done.</summary>
    GpuEvent CreateEvent();

    /// <summary>Records <paramref name="e"/> after the work issued so far (cuEventRecord on the stream the backend launches on).</summary>
    void RecordEvent(GpuEvent e);

    /// <summary>
    /// Milliseconds of device time between two recorded events (cuEventElapsedTime), waiting for <paramref name="end"/>
    /// first. The emulator, which runs launches synchronously, reports the host time between the two records.
    /// </summary>
    float ElapsedMilliseconds(GpuEvent start, GpuEvent end);
}

/// <summary>A timing event of an <see cref="IGpuRuntime"/> (a CUevent on a real GPU).</summary>
public abstract class GpuEvent : IDisposable
{
    /// <summary>Releases the event.</summary>
    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the native event, if any (called once by <see cref="Dispose"/>).</summary>
    protected abstract void Release();
}

/// <summary>A runtime whose device memory is also host memory (the emulator; later perhaps unified memory).</summary>
public unsafe interface IHostMappedRuntime : IGpuRuntime
{
    /// <summary>The host address of the device memory at <paramref name="address"/> (the start of an allocation).</summary>
    byte* HostPointer(ulong address);
}

/// <summary>A loaded PTX module (a CUmodule on a real GPU).</summary>
public abstract class GpuModule
{
    /// <summary>The name it was loaded under.</summary>
    public string Name { get; }

    /// <summary>Creates the handle.</summary>
    protected GpuModule(string name) => Name = name;

    /// <summary>The kernel (.entry) called <paramref name="kernel"/> (cuModuleGetFunction).</summary>
    public abstract GpuFunction GetFunction(string kernel);
}

/// <summary>A kernel of a loaded module (a CUfunction on a real GPU).</summary>
public abstract class GpuFunction
{
    /// <summary>The kernel's name.</summary>
    public string Name { get; }

    /// <summary>Creates the handle.</summary>
    protected GpuFunction(string name) => Name = name;
}
