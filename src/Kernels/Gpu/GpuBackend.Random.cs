namespace Engine.Kernels.Gpu;

// Random fill (Philox4x32-10): the hand-written kernels of Kernels/philox.ptx, the same function of (seed, offset + i)
// as the CPU's CpuRandom.
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void FillRandom(in StridedView dst, RandomKind kind, ulong seed, ulong offset, double a, double b)
    {
        const string op = "random";
        long n = dst.NumEl;
        if (!dst.IsContiguous) throw new ShapeException(op, "the destination of a random fill must be contiguous");
        uint code = dst.DType switch
        {
            DType.Float32 => 0,
            DType.Float64 => 1,
            DType.Int64 => 2,
            DType.Int32 => 3,
            DType.UInt8 or DType.Bool => 4,
            _ => throw new DTypeException(op, $"dtype {dst.DType.Name()} is not supported on {Device}"),
        };
        if (kind is RandomKind.Uniform or RandomKind.Normal && code > 1)
            throw new DTypeException(op, $"{kind} fills need a floating-point dtype, got {dst.DType.Name()}");
        ulong addr = Addr(dst, op);
        if (n == 0) return;
        var p = new ParamBuffer().U64(addr).U64((ulong)n).U64(seed).U64(offset);
        string kernel;
        switch (kind)
        {
            case RandomKind.Uniform: kernel = "philox_uniform"; p.F64(a).F64(b); break;
            case RandomKind.Normal: kernel = "philox_normal"; p.F64(a).F64(b); break;
            case RandomKind.Integer:
                // the CPU's range, (ulong)(b - a), computed the same way on the host
                double width = b - a;
                if (!(width >= 1)) throw new ArgumentValueException(op, $"integer fills need b - a >= 1, got a={a}, b={b}");
                kernel = "philox_integer"; p.F64(a).U64((ulong)width); break;
            case RandomKind.Bernoulli: kernel = "philox_bernoulli"; p.F64(a); break;
            default: throw new ArgumentValueException(op, $"unknown random kind {kind}");
        }
        p.U32(code);
        long blocks = Math.Min((n + BlockSize - 1) / BlockSize, MaxBlocks);
        Launch(EmbeddedKernel("philox", kernel), (int)blocks, BlockSize, 0, p);
    }
}
