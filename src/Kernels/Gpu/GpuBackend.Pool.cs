using Engine.Kernels.Cuda;

namespace Engine.Kernels.Gpu;

// Pooling. Average pooling (ordinary, and adaptive when its windows are uniform) runs through cuDNN on a real GPU when
// CudnnPoolPlan maps the window tables onto a cuDNN pooling descriptor; other geometries raise a DeviceException naming
// why. Max pooling stays off cuDNN: cuDNN produces no argmax indices, and the engine's max-pool backward scatters through
// the int64 indices of the forward (the IBackend contract), so it needs its own kernel (not written yet: on a real GPU it
// raises a DeviceException, on the emulator it runs the CPU kernel on host-mapped memory).
public sealed unsafe partial class GpuBackend
{
    /// <inheritdoc/>
    public void MaxPoolForward(PoolGeometry g, in StridedView y, in StridedView indices, in StridedView x) => Cpu("max_pool").MaxPoolForward(g, y, indices, x);

    /// <inheritdoc/>
    public void MaxPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy, in StridedView indices) => Cpu("max_pool_backward").MaxPoolBackward(g, dx, dy, indices);

    /// <inheritdoc/>
    public void AvgPoolForward(PoolGeometry g, in StridedView y, in StridedView x)
    {
        if (CudaRuntimeOrNull is not { } cuda) { Cpu("avg_pool").AvgPoolForward(g, y, x); return; }
        const string op = "avg_pool";
        var (plan, xdims, ydims, cdt) = PoolSetup(g, x.DType, op);
        ulong xa = Addr(x, op), ya = Addr(y, op);
        using var pd = CudnnDescriptor.Pooling(plan.Mode, plan.Window, plan.Pad, plan.Stride);
        using var xd = CudnnDescriptor.Tensor(cdt, xdims);
        using var yd = CudnnDescriptor.Tensor(cdt, ydims);
        byte* sc = stackalloc byte[16];
        Scalars(sc, x.DType);
        using var lib = cuda.EnterCudnn();
        Cudnn.Check(Cudnn.cudnnPoolingForward(lib.Handle, pd.Handle, sc, xd.Handle, xa, sc + 8, yd.Handle, ya), nameof(Cudnn.cudnnPoolingForward));
        CountLibraryCall();
    }

    /// <inheritdoc/>
    public void AvgPoolBackward(PoolGeometry g, in StridedView dx, in StridedView dy)
    {
        if (CudaRuntimeOrNull is not { } cuda) { Cpu("avg_pool_backward").AvgPoolBackward(g, dx, dy); return; }
        const string op = "avg_pool_backward";
        var (plan, xdims, ydims, cdt) = PoolSetup(g, dy.DType, op);
        ulong dxa = Addr(dx, op), dya = Addr(dy, op);
        using var pd = CudnnDescriptor.Pooling(plan.Mode, plan.Window, plan.Pad, plan.Stride);
        using var xd = CudnnDescriptor.Tensor(cdt, xdims);
        using var yd = CudnnDescriptor.Tensor(cdt, ydims);
        byte* sc = stackalloc byte[16];
        Scalars(sc, dy.DType);
        using var lib = cuda.EnterCudnn();
        // Average pooling's gradient depends on dy only: the forward y and x that cudnnPoolingBackward takes (for max
        // pooling) are not read, so dy and dx stand in for them with the matching descriptors.
        Cudnn.Check(Cudnn.cudnnPoolingBackward(lib.Handle, pd.Handle, sc, yd.Handle, dya, yd.Handle, dya, xd.Handle, dxa, sc + 8, xd.Handle, dxa),
            nameof(Cudnn.cudnnPoolingBackward));
        CountLibraryCall();
    }

    // The cuDNN pooling and the [planes, 1, spatial...] dims of x and y (each plane pooled on its own).
    private static (CudnnPoolPlan Plan, int[] X, int[] Y, int DataType) PoolSetup(PoolGeometry g, DType dt, string op)
    {
        int cdt = CudnnDescriptor.DataType(dt, op);
        var plan = CudnnPoolPlan.For(g, out string reason) ?? throw new DeviceException(op, $"has no cuDNN equivalent on a GPU: {reason}");
        int first = 3 - plan.Spatial;
        var x = new int[plan.Spatial + 2];
        var y = new int[plan.Spatial + 2];
        x[0] = y[0] = g.Planes;
        x[1] = y[1] = 1;
        for (int i = 0; i < plan.Spatial; i++) { x[2 + i] = g.In[first + i]; y[2 + i] = g.OutSize[first + i]; }
        return (plan, x, y, cdt);
    }
}
