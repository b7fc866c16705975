using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Engine.Kernels.Ptx;

/// <summary>
/// A GPU emulated on the CPU: device memory is host memory at 64-bit device addresses (each device has its own
/// range, from <see cref="AddressBase"/>, so a buffer of one device used on another is reported rather than
/// aliasing its memory; allocations separated by unmapped guard gaps, addresses never reused), and kernels
/// are PTX run by the interpreter with bounds, alignment, barrier, shared-memory race and initialisation checks.
/// A failed check raises <see cref="PtxRuntimeException"/>. Launches are deterministic: blocks are independent and
/// each block's threads run in a fixed order; blocks run in parallel on <see cref="MaxParallelBlocks"/> threads
/// unless the kernel uses global atomics, in which case they run one after another in block order.
/// Host-side calls are not thread-safe.
/// </summary>
public sealed class EmulatedDevice : IDisposable
{
    /// <summary>Lowest device address of any emulated device (the first allocation of the first device).</summary>
    public const ulong BaseAddress = 0x7F00_0000_0000;

    /// <summary>Bytes of address space each device owns (16 TiB): room for hundreds of millions of allocations.</summary>
    public const ulong AddressRangeBytes = 1UL << 44;

    // Ranges above BaseAddress that fit below 2^64; device ids beyond it reuse ranges (after a million devices).
    private const ulong RangeCount = (ulong.MaxValue - BaseAddress) / AddressRangeBytes;
    private static int s_devices;

    private const ulong Guard = 64 * 1024, AllocAlign = 256;
    private const long MaxRegisterSlots = 1L << 26;   // 512 MiB of registers per block runner

    private readonly List<DeviceAllocation> _allocs = [];
    private readonly List<(ulong Base, ulong Length, string Label)> _freed = [];
    private readonly Dictionary<PtxModule, DeviceAllocation[]> _moduleGlobals = [];
    private ulong _next;
    private int _count;
    private bool _disposed;

    /// <summary>Creates a device with its own address range.</summary>
    public EmulatedDevice()
    {
        Id = Interlocked.Increment(ref s_devices) - 1;
        AddressBase = BaseAddress + (ulong)Id % RangeCount * AddressRangeBytes;
        _next = AddressBase;
    }

    /// <summary>This device's number (0 for the first created in the process); names it in errors.</summary>
    public int Id { get; }

    /// <summary>Device address of this device's first allocation; its addresses lie in [AddressBase, AddressBase + <see cref="AddressRangeBytes"/>).</summary>
    public ulong AddressBase { get; }

    /// <summary>The engine device this emulator stands for.</summary>
    public Device Device => Device.Emulated;

    /// <summary>Most instructions one thread may execute in a launch before it is stopped as an endless loop.</summary>
    public long InstructionLimitPerThread { get; set; } = 100_000_000;

    /// <summary>How many blocks may run at once (on separate threads). 1 runs blocks one after another.</summary>
    public int MaxParallelBlocks { get; set; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Shared memory (static plus dynamic) one block may use; 163 KiB as on sm_80 with the opt-in.</summary>
    public long MaxSharedBytesPerBlock { get; set; } = 163 * 1024;

    /// <summary>Bytes in live allocations made with <see cref="Alloc"/>.</summary>
    public long LiveBytes => _allocs.Where(a => a.Label.StartsWith("buffer", StringComparison.Ordinal)).Sum(a => (long)a.Length);

    /// <summary>Allocates <paramref name="bytes"/> bytes of zeroed device memory.</summary>
    public DeviceBuffer Alloc(long bytes)
    {
        const string op = "EmulatedDevice.Alloc";
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (bytes < 0 || bytes > Array.MaxLength) throw new ArgumentValueException(op, $"cannot allocate {bytes} bytes (0 to {Array.MaxLength})");
        // Pinned (on the pinned object heap) so the memory has a stable host address: see HostPointer.
        var a = AddAllocation(GC.AllocateArray<byte>((int)bytes, pinned: true), readOnly: false, $"buffer #{++_count} ({bytes} bytes)");
        return new DeviceBuffer(a.Base, bytes);
    }

    /// <summary>Allocates device memory holding a copy of <paramref name="data"/>.</summary>
    public DeviceBuffer Alloc<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        var b = Alloc((long)data.Length * Marshal.SizeOf<T>());
        Upload(b, data);
        return b;
    }

    /// <summary>Allocates device memory holding a copy of <paramref name="data"/>.</summary>
    public DeviceBuffer Alloc<T>(T[] data) where T : unmanaged => Alloc((ReadOnlySpan<T>)data);

    private DeviceAllocation AddAllocation(byte[] data, bool readOnly, string label)
    {
        if (AddressBase + AddressRangeBytes - _next < (ulong)data.LongLength + Guard + AllocAlign)
            throw new ArgumentValueException("EmulatedDevice.Alloc", $"emulated device #{Id} has used its whole address range ({AddressRangeBytes} bytes; addresses are never reused)");
        var a = new DeviceAllocation(_next, data, readOnly, label);
        _next = (_next + (ulong)data.LongLength + Guard + AllocAlign - 1) / AllocAlign * AllocAlign;
        _allocs.Add(a);      // addresses only grow, so the list stays sorted
        return a;
    }

    /// <summary>Frees a buffer. Its addresses are never reused, so a later access to it is reported.</summary>
    public void Free(DeviceBuffer buffer)
    {
        var a = Find(buffer, "EmulatedDevice.Free");
        _allocs.Remove(a);
        _freed.Add((a.Base, a.Length, a.Label));
    }

    private DeviceAllocation Find(DeviceBuffer b, string op)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var a in _allocs)
            if (a.Base == b.Address && (long)a.Length == b.Bytes) return a;
        foreach (var (fb, _, label) in _freed)
            if (fb == b.Address) throw new ArgumentValueException(op, $"{label} has been freed");
        throw new ArgumentValueException(op, $"{b} is not a live allocation of this device{DescribeOwner(b.Address)}");
    }

    /// <summary>Empty for an address in this device's range; otherwise says which device's range it is in (both named).</summary>
    internal string DescribeOwner(ulong address) => DescribeOwner(address, Id, AddressBase);

    internal static string DescribeOwner(ulong address, int id, ulong rangeBase)
    {
        if (address - rangeBase < AddressRangeBytes) return "";
        string self = $"emulated device #{id} [0x{rangeBase:X}, 0x{rangeBase + AddressRangeBytes:X})";
        if (address < BaseAddress) return $"; 0x{address:X} is below every emulated device's addresses (this is {self})";
        ulong other = (address - BaseAddress) / AddressRangeBytes;
        return $"; 0x{address:X} is in the address range of emulated device #{other}, not of {self}: a buffer of another device?";
    }

    /// <summary>Copies host data into a buffer, starting <paramref name="byteOffset"/> bytes in.</summary>
    public void Upload<T>(DeviceBuffer dst, ReadOnlySpan<T> src, long byteOffset = 0) where T : unmanaged
    {
        const string op = "EmulatedDevice.Upload";
        var a = Find(dst, op);
        var bytes = MemoryMarshal.AsBytes(src);
        if (byteOffset < 0 || byteOffset > (long)a.Length - bytes.Length)
            throw new ArgumentValueException(op, $"{bytes.Length} bytes at offset {byteOffset} do not fit in {a.Label}");
        bytes.CopyTo(a.Data.AsSpan((int)byteOffset));
    }

    /// <summary>Copies host data into a buffer.</summary>
    public void Upload<T>(DeviceBuffer dst, T[] src) where T : unmanaged => Upload(dst, (ReadOnlySpan<T>)src);

    /// <summary>Copies a whole buffer back to the host as elements of <typeparamref name="T"/>.</summary>
    public T[] Download<T>(DeviceBuffer src) where T : unmanaged
    {
        const string op = "EmulatedDevice.Download";
        var a = Find(src, op);
        int es = Marshal.SizeOf<T>();
        if ((long)a.Length % es != 0) throw new ArgumentValueException(op, $"{a.Label} is not a whole number of {es}-byte elements");
        var r = new T[(long)a.Length / es];
        a.Data.AsSpan().CopyTo(MemoryMarshal.AsBytes(r.AsSpan()));
        return r;
    }

    /// <summary>
    /// The host address of a live buffer's first byte. Buffers from <see cref="Alloc(long)"/> are pinned, so the address
    /// stays valid until the buffer is freed; host code (CPU fallback kernels) may read and write the memory in place.
    /// </summary>
    public unsafe byte* HostPointer(DeviceBuffer buffer)
    {
        var a = Find(buffer, "EmulatedDevice.HostPointer");
        return (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a.Data));
    }

    /// <summary>Sets every byte of a buffer to <paramref name="value"/>.</summary>
    public void Memset(DeviceBuffer dst, byte value) => Find(dst, "EmulatedDevice.Memset").Data.AsSpan().Fill(value);

    /// <summary>The device memory of a module's .global or .const variable (as cuModuleGetGlobal).</summary>
    public DeviceBuffer GetGlobal(PtxModule module, string name)
    {
        ArgumentNullException.ThrowIfNull(module);
        var allocs = ModuleGlobals(module);
        for (int i = 0; i < module.Globals.Length; i++)
            if (module.Globals[i].Name == name) return new DeviceBuffer(allocs[i].Base, (long)allocs[i].Length);
        throw new ArgumentValueException("EmulatedDevice.GetGlobal", $"the module has no .global or .const variable '{name}'");
    }

    private DeviceAllocation[] ModuleGlobals(PtxModule m)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_moduleGlobals.TryGetValue(m, out var a)) return a;
        a = new DeviceAllocation[m.Globals.Length];
        for (int i = 0; i < a.Length; i++)
        {
            var g = m.Globals[i];
            bool isConst = g.Space == StateSpace.Const;
            a[i] = AddAllocation((byte[])m.GlobalInit[i].Clone(), isConst, $"{(isConst ? ".const" : ".global")} variable '{g.Name}'");
        }
        _moduleGlobals[m] = a;
        return a;
    }

    /// <summary>
    /// Runs kernel <paramref name="kernel"/> of <paramref name="module"/> on a grid of blocks, packing
    /// <paramref name="args"/> as <see cref="PtxKernel.PackArguments"/> does. <paramref name="sharedBytes"/> is the
    /// dynamic shared memory per block (the size of an <c>.extern .shared</c> array).
    /// </summary>
    /// <exception cref="PtxRuntimeException">A check failed while the kernel ran.</exception>
    public LaunchResult Launch(PtxModule module, string kernel, Dim3 grid, Dim3 block, int sharedBytes, params object[] args)
    {
        ArgumentNullException.ThrowIfNull(module);
        var k = module.GetKernel(kernel);
        return LaunchPacked(k, grid, block, sharedBytes, k.PackArguments(args), null);
    }

    /// <summary>
    /// As <see cref="Launch"/>, and records a per-instruction trace (<see cref="LaunchResult.Trace"/>) of thread
    /// <paramref name="traceThread"/> (its %tid) of block <paramref name="traceBlock"/> (its %ctaid).
    /// </summary>
    public LaunchResult LaunchTraced(PtxModule module, string kernel, Dim3 grid, Dim3 block, int sharedBytes,
        (int X, int Y, int Z) traceBlock, (int X, int Y, int Z) traceThread, params object[] args)
    {
        ArgumentNullException.ThrowIfNull(module);
        var k = module.GetKernel(kernel);
        return LaunchPacked(k, grid, block, sharedBytes, k.PackArguments(args), (traceBlock, traceThread));
    }

    /// <summary>
    /// Runs a kernel with an already packed parameter buffer (the layout of <see cref="PtxKernel.Parameters"/>), as
    /// cuLaunchKernel does with CU_LAUNCH_PARAM_BUFFER_POINTER. Optionally traces one thread.
    /// </summary>
    public LaunchResult LaunchPacked(PtxKernel kernel, Dim3 grid, Dim3 block, int sharedBytes, ReadOnlySpan<byte> parameters,
        ((int X, int Y, int Z) Block, (int X, int Y, int Z) Thread)? trace = null)
    {
        const string op = "EmulatedDevice.Launch";
        ArgumentNullException.ThrowIfNull(kernel);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var p = kernel.Program;
        if (grid.X < 1 || grid.Y < 1 || grid.Z < 1 || grid.Y > 65535 || grid.Z > 65535)
            throw new ArgumentValueException(op, $"grid {grid} is invalid (each dimension at least 1; y and z at most 65535)");
        if (block.X < 1 || block.Y < 1 || block.Z < 1 || block.X > 1024 || block.Y > 1024 || block.Z > 64 || block.Count > 1024)
            throw new ArgumentValueException(op, $"block {block} is invalid (at most 1024 threads; x, y ≤ 1024, z ≤ 64)");
        if (grid.Count > int.MaxValue) throw new ArgumentValueException(op, $"grid {grid} has more than {int.MaxValue} blocks");
        if (sharedBytes < 0) throw new ArgumentValueException(op, $"dynamic shared memory {sharedBytes} is negative");
        long shared = p.DynamicSharedOffset + sharedBytes;
        if (sharedBytes == 0) shared = p.StaticSharedBytes;
        if (shared > MaxSharedBytesPerBlock)
            throw new ArgumentValueException(op, $"kernel '{kernel.Name}' needs {shared} bytes of shared memory per block; the limit is {MaxSharedBytesPerBlock}");
        if (block.Count * p.SlotCount > MaxRegisterSlots)
            throw new ArgumentValueException(op, $"kernel '{kernel.Name}' has {p.SlotCount} register slots per thread; {block.Count} threads need more than the emulator's {MaxRegisterSlots}");
        if (parameters.Length != p.ParamBytes)
            throw new ArgumentValueException(op, $"kernel '{kernel.Name}' takes {p.ParamBytes} parameter bytes, not {parameters.Length}");

        var moduleGlobals = ModuleGlobals(kernel.Module);
        var consts = new ulong[p.Consts.Length];
        for (int i = 0; i < consts.Length; i++)
            consts[i] = p.Consts[i].Kind == ConstKind.GlobalVar ? moduleGlobals[p.Consts[i].Var].Base : p.Consts[i].Value;
        var launch = new PtxLaunch
        {
            Program = p,
            Grid = grid,
            Block = block,
            SharedBytes = shared,
            Params = parameters.ToArray(),
            Allocations = [new DeviceAllocation(0, [], false, "nothing"), .. _allocs],
            Freed = [.. _freed],
            ConstValues = consts,
            InstructionLimit = InstructionLimitPerThread,
            DeviceId = Id,
            AddressBase = AddressBase,
        };
        if (trace is var (tb, tt))
        {
            if (tb.X >= grid.X || tb.Y >= grid.Y || tb.Z >= grid.Z || tb.X < 0 || tb.Y < 0 || tb.Z < 0)
                throw new ArgumentValueException(op, $"traced block {tb} is outside grid {grid}");
            if (tt.X >= block.X || tt.Y >= block.Y || tt.Z >= block.Z || tt.X < 0 || tt.Y < 0 || tt.Z < 0)
                throw new ArgumentValueException(op, $"traced thread {tt} is outside block {block}");
            launch.TraceBlock = tb.X + grid.X * (tb.Y + grid.Y * tb.Z);
            launch.TraceThread = tt.X + block.X * (tt.Y + block.Y * tt.Z);
        }

        var sw = Stopwatch.StartNew();
        int blocks = (int)grid.Count;
        int workers = p.UsesGlobalAtomics ? 1 : Math.Clamp(Math.Min(MaxParallelBlocks, blocks), 1, 64);
        var runners = new PtxBlockRunner?[workers];
        int nextBlock = 0, failedBlock = int.MaxValue;
        PtxRuntimeException? failure = null;
        var gate = new object();

        void Work(int w)
        {
            var runner = runners[w] = new PtxBlockRunner(launch);
            while (true)
            {
                int b = Interlocked.Increment(ref nextBlock) - 1;
                if (b >= blocks || b > Volatile.Read(ref failedBlock)) return;
                try
                {
                    runner.RunBlock(b);
                }
                catch (PtxRuntimeException e)
                {
                    lock (gate)
                    {
                        if (b < failedBlock)
                        {
                            failedBlock = b;
                            failure = e;
                        }
                    }
                    return;
                }
            }
        }

        if (workers == 1) Work(0);
        else
        {
            try
            {
                Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, Work);
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            }
        }
        // The lowest failing block is reported: every block below it ran to completion, so the choice is deterministic.
        if (failure != null) throw failure;
        return new LaunchResult
        {
            InstructionsExecuted = runners.Sum(r => r?.Instructions ?? 0),
            Trace = runners.Select(r => r?.Trace).FirstOrDefault(t => t != null) ?? [],
            Elapsed = sw.Elapsed,
        };
    }

    /// <summary>Frees all device memory.</summary>
    public void Dispose()
    {
        _allocs.Clear();
        _moduleGlobals.Clear();
        _disposed = true;
    }
}
