using System.Runtime.InteropServices;

namespace Engine.Kernels.Cuda;

/// <summary>
/// A cuDNN descriptor (tensor, filter, convolution, pooling or LRN), destroyed when disposed. Descriptors are host-side
/// objects, so they need no context; each op builds the few it needs and disposes them after the call.
/// </summary>
internal sealed unsafe class CudnnDescriptor : SafeHandle
{
    internal enum Kind { Tensor, Filter, Convolution, Pooling, Lrn }

    private readonly Kind _kind;

    private CudnnDescriptor(nint h, Kind kind) : base(0, ownsHandle: true)
    {
        SetHandle(h);
        _kind = kind;
    }

    /// <summary>The cudnn*Descriptor_t.</summary>
    public nint Handle => handle;

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        _ = _kind switch
        {
            Kind.Tensor => Cudnn.cudnnDestroyTensorDescriptor(handle),
            Kind.Filter => Cudnn.cudnnDestroyFilterDescriptor(handle),
            Kind.Convolution => Cudnn.cudnnDestroyConvolutionDescriptor(handle),
            Kind.Pooling => Cudnn.cudnnDestroyPoolingDescriptor(handle),
            _ => Cudnn.cudnnDestroyLRNDescriptor(handle),
        };
        return true;
    }

    /// <summary>The cudnnDataType_t of an engine dtype (float32 or float64; others are rejected before any call).</summary>
    /// <remarks>Every cuDNN route calls this first, so it also checks that cuDNN loads (a clear DeviceException if not).</remarks>
    internal static int DataType(DType t, string op)
    {
        int dt = t switch
        {
            DType.Float32 => Cudnn.CUDNN_DATA_FLOAT,
            DType.Float64 => Cudnn.CUDNN_DATA_DOUBLE,
            _ => throw new DTypeException(op, $"cuDNN runs float32 and float64, got {t.Name()}"),
        };
        Cudnn.Require(op);
        return dt;
    }

    /// <summary>A fully packed (row-major) tensor of the given dims (at least 4, as cudnnSetTensorNdDescriptor wants).</summary>
    internal static CudnnDescriptor Tensor(int dataType, ReadOnlySpan<int> dims)
    {
        Span<int> strides = stackalloc int[dims.Length];
        long s = 1;
        for (int d = dims.Length - 1; d >= 0; d--)
        {
            strides[d] = checked((int)s);
            s *= Math.Max(dims[d], 1);
        }
        Cudnn.Check(Cudnn.cudnnCreateTensorDescriptor(out nint h), nameof(Cudnn.cudnnCreateTensorDescriptor));
        var desc = new CudnnDescriptor(h, Kind.Tensor);
        fixed (int* pd = dims, ps = strides)
            Cudnn.Check(Cudnn.cudnnSetTensorNdDescriptor(h, dataType, dims.Length, pd, ps), nameof(Cudnn.cudnnSetTensorNdDescriptor),
                $"dims [{string.Join(", ", dims.ToArray())}]");
        return desc;
    }

    /// <summary>A filter [O, C/groups, k...] in NCHW order.</summary>
    internal static CudnnDescriptor Filter(int dataType, ReadOnlySpan<int> dims)
    {
        Cudnn.Check(Cudnn.cudnnCreateFilterDescriptor(out nint h), nameof(Cudnn.cudnnCreateFilterDescriptor));
        var desc = new CudnnDescriptor(h, Kind.Filter);
        fixed (int* pd = dims)
            Cudnn.Check(Cudnn.cudnnSetFilterNdDescriptor(h, dataType, Cudnn.CUDNN_TENSOR_NCHW, dims.Length, pd), nameof(Cudnn.cudnnSetFilterNdDescriptor),
                $"dims [{string.Join(", ", dims.ToArray())}]");
        return desc;
    }

    /// <summary>A cross-correlation over <paramref name="pads"/>.Length spatial dims with the given groups and math type.</summary>
    internal static CudnnDescriptor Convolution(ReadOnlySpan<int> pads, ReadOnlySpan<int> strides, ReadOnlySpan<int> dilations, int computeType, int groups, int mathType)
    {
        Cudnn.Check(Cudnn.cudnnCreateConvolutionDescriptor(out nint h), nameof(Cudnn.cudnnCreateConvolutionDescriptor));
        var desc = new CudnnDescriptor(h, Kind.Convolution);
        fixed (int* pp = pads, ps = strides, pdl = dilations)
            Cudnn.Check(Cudnn.cudnnSetConvolutionNdDescriptor(h, pads.Length, pp, ps, pdl, Cudnn.CUDNN_CROSS_CORRELATION, computeType),
                nameof(Cudnn.cudnnSetConvolutionNdDescriptor),
                $"pads [{string.Join(", ", pads.ToArray())}], strides [{string.Join(", ", strides.ToArray())}], dilations [{string.Join(", ", dilations.ToArray())}]");
        Cudnn.Check(Cudnn.cudnnSetConvolutionGroupCount(h, groups), nameof(Cudnn.cudnnSetConvolutionGroupCount), $"groups {groups}");
        Cudnn.Check(Cudnn.cudnnSetConvolutionMathType(h, mathType), nameof(Cudnn.cudnnSetConvolutionMathType));
        return desc;
    }

    /// <summary>A pooling window over <paramref name="window"/>.Length spatial dims.</summary>
    internal static CudnnDescriptor Pooling(int mode, ReadOnlySpan<int> window, ReadOnlySpan<int> pads, ReadOnlySpan<int> strides)
    {
        Cudnn.Check(Cudnn.cudnnCreatePoolingDescriptor(out nint h), nameof(Cudnn.cudnnCreatePoolingDescriptor));
        var desc = new CudnnDescriptor(h, Kind.Pooling);
        fixed (int* pw = window, pp = pads, ps = strides)
            Cudnn.Check(Cudnn.cudnnSetPoolingNdDescriptor(h, mode, Cudnn.CUDNN_PROPAGATE_NAN, window.Length, pw, pp, ps), nameof(Cudnn.cudnnSetPoolingNdDescriptor),
                $"window [{string.Join(", ", window.ToArray())}], pads [{string.Join(", ", pads.ToArray())}], strides [{string.Join(", ", strides.ToArray())}]");
        return desc;
    }

    /// <summary>A cross-channel LRN of window <paramref name="n"/>.</summary>
    internal static CudnnDescriptor Lrn(int n, double alpha, double beta, double k)
    {
        Cudnn.Check(Cudnn.cudnnCreateLRNDescriptor(out nint h), nameof(Cudnn.cudnnCreateLRNDescriptor));
        var desc = new CudnnDescriptor(h, Kind.Lrn);
        Cudnn.Check(Cudnn.cudnnSetLRNDescriptor(h, (uint)n, alpha, beta, k), nameof(Cudnn.cudnnSetLRNDescriptor), $"n {n}, alpha {alpha}, beta {beta}, k {k}");
        return desc;
    }
}
