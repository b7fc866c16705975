using Engine.Kernels.Cuda;

namespace Engine.Kernels.Gpu;

// What the cuBLAS and cuDNN routes share: the TF32 switch, temporaries, scalars, and the workspace-aware run of a
// convolution algorithm.
public sealed unsafe partial class GpuBackend
{
    /// <summary>
    /// Whether float32 matrix products (cuBLAS) and convolutions (cuDNN) may use TF32 tensor cores on a real GPU (Ampere
    /// and later): about 10 bits of mantissa in the products, float32 accumulation, relative errors around 1e-3. On by
    /// default, as PyTorch does for convolutions; set false for full float32 precision (CUBLAS_COMPUTE_32F, CUDNN_FMA_MATH).
    /// float64 is never affected, nor are the emulator and the CPU.
    /// </summary>
    public static bool AllowTf32 { get; set; } = true;

    /// <summary>Calls that went to cuBLAS or cuDNN (on a real GPU).</summary>
    public long LibraryCalls => Interlocked.Read(ref _libraryCalls);

    private long _libraryCalls;

    private void CountLibraryCall() => Interlocked.Increment(ref _libraryCalls);

    /// <summary>
    /// A temporary of <paramref name="bytes"/> from the caching allocator, released by the caller (<see cref="Storage.Release"/>):
    /// the block returns to the cache at once, which is safe because all work of the device runs in issue order on one stream.
    /// </summary>
    private GpuStorage Scratch(long bytes) => new(Memory, Math.Max(bytes, 1));

    /// <summary>A zeroed temporary of <paramref name="elements"/> of <paramref name="dtype"/>.</summary>
    private GpuStorage ZeroScratch(long elements, DType dtype)
    {
        var s = Scratch(elements * dtype.ElementSize());
        _runtime.Memset(s.Address, 0, elements * dtype.ElementSize());
        return s;
    }

    /// <summary>A contiguous view of <paramref name="shape"/> at the start of <paramref name="s"/>.</summary>
    private static StridedView ViewOf(GpuStorage s, long[] shape, DType dtype) => new(s, 0, shape, ShapeUtil.ContiguousStrides(shape), dtype);

    /// <summary>
    /// Writes the 1.0 and 0.0 that cuBLAS/cuDNN read through alpha/beta pointers into <paramref name="buf"/> (16 bytes):
    /// double for float64 data, float otherwise. One is at buf, zero at buf + 8.
    /// </summary>
    private static void Scalars(byte* buf, DType t)
    {
        if (t == DType.Float64) { *(double*)buf = 1; *(double*)(buf + 8) = 0; }
        else { *(float*)buf = 1; *(float*)(buf + 8) = 0; }
    }

    /// <summary>The cudnnMathType_t for a dtype under <see cref="AllowTf32"/>.</summary>
    private static int ConvMath(DType t) => t == DType.Float32 && !AllowTf32 ? Cudnn.CUDNN_FMA_MATH : Cudnn.CUDNN_DEFAULT_MATH;

    /// <summary>
    /// Runs a convolution with the first of the cached algorithms (fastest first) whose workspace can be allocated: a
    /// failed workspace allocation moves on to the next algorithm, so under memory pressure a workspace-free one runs. The
    /// descriptor takes each algorithm's math type (TF32 or not) as cudnnFind reported it, unless TF32 is off.
    /// </summary>
    private void RunConvAlgorithm(string op, Cudnn.AlgoPerf[] algos, nint convDesc, bool forceMath,
        Func<int, nuint> workspaceSize, Func<int, ulong, nuint, int> run, string function)
    {
        DeviceOutOfMemoryException? oom = null;
        foreach (var perf in algos)
        {
            if (!forceMath) Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(convDesc, perf.MathType), nameof(Cudnn.cudnnSetConvolutionMathType));
            nuint bytes = workspaceSize(perf.Algo);
            ulong ws = 0;
            if (bytes > 0)
            {
                try { ws = Memory.Allocate((long)bytes, op); }
                catch (DeviceOutOfMemoryException e) { oom = e; continue; }
            }
            try { Cudnn.Check(run(perf.Algo, ws, bytes), function, $"{op}, algorithm {perf.Algo}"); }
            finally { if (ws != 0) Memory.Free(ws); }
            CountLibraryCall();
            return;
        }
        if (oom is not null) throw oom;
        throw new DeviceException(op, "cuDNN found no algorithm for this convolution");
    }

    /// <summary>The cudnnFind results that succeeded, fastest first (cuDNN returns them sorted).</summary>
    private static Cudnn.AlgoPerf[] Usable(Cudnn.AlgoPerf* results, int count, string op)
    {
        var list = new List<Cudnn.AlgoPerf>();
        for (int i = 0; i < count; i++)
            if (results[i].Status == Cudnn.CUDNN_STATUS_SUCCESS) list.Add(results[i]);
        if (list.Count == 0) throw new DeviceException(op, "cuDNN reports no usable algorithm for this convolution");
        return [.. list];
    }

    private CudaRuntime? CudaRuntimeOrNull => _runtime as CudaRuntime;
}
