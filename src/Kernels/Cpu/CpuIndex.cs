using System.Numerics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Gather, scatter-add, index-select and index-add. Index values are validated by the tensor layer before
/// these run; the kernels still check and throw rather than touch memory out of bounds.
/// </summary>
public static unsafe class CpuIndex
{
    private static long Check(long i, long size, string op)
    {
        if ((ulong)i >= (ulong)size) throw new IndexException(op, $"index {i} is out of bounds for size {size}");
        return i;
    }

    private readonly struct GatherRow<T>(nint d, nint ix, nint s, long size, long stride) : IRowOp where T : unmanaged
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            T* pd = (T*)d + off[0];
            long* pi = (long*)ix + off[1];
            T* ps = (T*)s + off[2];
            for (long i = 0; i < n; i++)
                pd[i * st[0]] = ps[i * st[2] + Check(pi[i * st[1]], size, "gather") * stride];
        }
    }

    /// <summary>dst[..i..] = src[..index[..i..]..] along dim.</summary>
    public static void Gather<T>(in StridedView dst, in StridedView src, in StridedView index, int dim) where T : unmanaged
    {
        var ss = (long[])src.Strides.Clone();
        ss[dim] = 0;
        var plan = RowPlan.Create(dst.Shape, dst.Strides, index.Strides, ss);
        plan.Run(new GatherRow<T>((nint)dst.Ptr<T>(), (nint)index.Ptr<long>(), (nint)src.Ptr<T>(), src.Shape[dim], src.Strides[dim]));
    }

    private readonly struct ScatterAddRow<T>(nint d, nint ix, nint s, long size, long stride) : IRowOp where T : unmanaged, INumber<T>
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Row(ReadOnlySpan<long> off, long n, ReadOnlySpan<long> st)
        {
            T* pd = (T*)d + off[0];
            long* pi = (long*)ix + off[1];
            T* ps = (T*)s + off[2];
            for (long i = 0; i < n; i++)
                pd[i * st[0] + Check(pi[i * st[1]], size, "scatter_add") * stride] += ps[i * st[2]];
        }
    }

    /// <summary>dst[..index[..i..]..] += src[..i..] along dim. Runs serially: indices may repeat.</summary>
    public static void ScatterAdd<T>(in StridedView dst, in StridedView index, in StridedView src, int dim) where T : unmanaged, INumber<T>
    {
        var ds = (long[])dst.Strides.Clone();
        ds[dim] = 0;
        var plan = RowPlan.Create(src.Shape, ds, index.Strides, src.Strides);
        plan.Run(new ScatterAddRow<T>((nint)dst.Ptr<T>(), (nint)index.Ptr<long>(), (nint)src.Ptr<T>(), dst.Shape[dim], dst.Strides[dim]), allowParallel: false);
    }

    /// <summary>dst = src with positions along dim picked by the 1-D index: one strided copy per picked slice.</summary>
    public static void IndexSelect<T>(in StridedView dst, in StridedView src, in StridedView index, int dim) where T : unmanaged, INumber<T>
    {
        long n = index.Shape[0], size = src.Shape[dim];
        long* pi = index.Ptr<long>();
        var dShape = (long[])dst.Shape.Clone(); dShape[dim] = 1;
        for (long i = 0; i < n; i++)
        {
            long k = Check(pi[i * index.Strides[0]], size, "index_select");
            var d = dst.With(dShape, dst.Strides, dst.Offset + i * dst.Strides[dim]);
            var s = src.With(dShape, src.Strides, src.Offset + k * src.Strides[dim]);
            CpuElementwise.Cast<T, T>(d, s);
        }
    }

    /// <summary>dst[.., index[i], ..] += src[.., i, ..]; serial over i since indices may repeat.</summary>
    public static void IndexAdd<T>(in StridedView dst, in StridedView index, in StridedView src, int dim) where T : unmanaged, INumber<T>
    {
        long n = index.Shape[0], size = dst.Shape[dim];
        long* pi = index.Ptr<long>();
        var sShape = (long[])src.Shape.Clone(); sShape[dim] = 1;
        for (long i = 0; i < n; i++)
        {
            long k = Check(pi[i * index.Strides[0]], size, "index_add");
            var d = dst.With(sShape, dst.Strides, dst.Offset + k * dst.Strides[dim]);
            var s = src.With(sShape, src.Strides, src.Offset + i * src.Strides[dim]);
            CpuElementwise.Binary<T, T, AddFn<T>>(d, d, s, default, BinaryOp.Add);
        }
    }
}
