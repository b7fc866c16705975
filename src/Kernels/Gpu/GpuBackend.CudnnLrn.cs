using Engine.Kernels.Cuda;

namespace Engine.Kernels.Gpu;

// cuDNN's cross-channel LRN, beside the engine's own LRN kernel (GpuBackend.Lrn.cs, which IBackend routes to): used by the
// Cuda tests and the GPU benchmarks to compare the two. cuDNN's window is [c − ⌊(n−1)/2⌋, c + n − 1 − ⌊(n−1)/2⌋] and it
// divides alpha by n, so it is PyTorch's LRN exactly for odd n; it takes 1 ≤ n ≤ 16, k ≥ 1e-5 and beta ≥ 0.01.
public sealed unsafe partial class GpuBackend
{
    /// <summary>y = LRN(x) over x seen as [N, C, S] through cudnnLRNCrossChannelForward (real GPU only).</summary>
    internal void CudnnLrnForward(LrnParams args, in StridedView y, in StridedView x)
    {
        var (n, c, s, size, alpha, beta, k) = args;
        const string op = "cudnn_lrn";
        var (cuda, cdt) = LrnChecks(op, x.DType, size, beta, k);
        ulong xa = Addr(x, op), ya = Addr(y, op);
        using var ld = CudnnDescriptor.Lrn(size, alpha, beta, k);
        using var xd = CudnnDescriptor.Tensor(cdt, [n, c, s, 1]);
        byte* sc = stackalloc byte[16];
        Scalars(sc, x.DType);
        using var lib = cuda.EnterCudnn();
        Cudnn.Check(Cudnn.cudnnLRNCrossChannelForward(lib.Handle, ld.Handle, Cudnn.CUDNN_LRN_CROSS_CHANNEL_DIM1, sc, xd.Handle, xa, sc + 8, xd.Handle, ya),
            nameof(Cudnn.cudnnLRNCrossChannelForward));
        CountLibraryCall();
    }

    /// <summary>dx from dy, x and the forward output y through cudnnLRNCrossChannelBackward (real GPU only).</summary>
    internal void CudnnLrnBackward(LrnParams args, in StridedView dx, in StridedView dy, in StridedView x, in StridedView y)
    {
        var (n, c, s, size, alpha, beta, k) = args;
        const string op = "cudnn_lrn_backward";
        var (cuda, cdt) = LrnChecks(op, x.DType, size, beta, k);
        ulong xa = Addr(x, op), ya = Addr(y, op), dya = Addr(dy, op), dxa = Addr(dx, op);
        using var ld = CudnnDescriptor.Lrn(size, alpha, beta, k);
        using var xd = CudnnDescriptor.Tensor(cdt, [n, c, s, 1]);
        byte* sc = stackalloc byte[16];
        Scalars(sc, x.DType);
        using var lib = cuda.EnterCudnn();
        Cudnn.Check(Cudnn.cudnnLRNCrossChannelBackward(lib.Handle, ld.Handle, Cudnn.CUDNN_LRN_CROSS_CHANNEL_DIM1, sc, xd.Handle, ya, xd.Handle, dya,
            xd.Handle, xa, sc + 8, xd.Handle, dxa), nameof(Cudnn.cudnnLRNCrossChannelBackward));
        CountLibraryCall();
    }

    private (CudaRuntime, int) LrnChecks(string op, DType dt, int size, double beta, double k)
    {
        if (CudaRuntimeOrNull is not { } cuda) throw new DeviceException(op, $"cuDNN needs a real GPU, not {Device}");
        if (size < Cudnn.CUDNN_LRN_MIN_N || size > Cudnn.CUDNN_LRN_MAX_N || size % 2 == 0)
            throw new ArgumentValueException(op, $"cuDNN's LRN matches PyTorch's for odd sizes 1..{Cudnn.CUDNN_LRN_MAX_N}, got {size}");
        if (!(k >= Cudnn.CUDNN_LRN_MIN_K)) throw new ArgumentValueException(op, $"cuDNN needs k ≥ {Cudnn.CUDNN_LRN_MIN_K}, got {k}");
        if (!(beta >= Cudnn.CUDNN_LRN_MIN_BETA)) throw new ArgumentValueException(op, $"cuDNN needs beta ≥ {Cudnn.CUDNN_LRN_MIN_BETA}, got {beta}");
        return (cuda, CudnnDescriptor.DataType(dt, op));
    }
}
