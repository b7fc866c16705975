using System.Numerics;
using Engine.Kernels.Fused;

namespace Engine.Kernels.Cpu;

/// <summary>
/// The deformable-convolution kernels on the CPU (torchvision's csrc/ops/cpu/deform_conv2d_kernel.cpp semantics,
/// including its edge cases: bilinear reads are 0 outside (-1, H) × (-1, W), and the offset gradient uses
/// get_coordinate_weight, one-sided at integer positions). Work is split over (image, channel) planes, or
/// (image, offset group, tap) for the coordinate gradient, so no two threads write the same element.
/// </summary>
public static unsafe class CpuDeformConv
{
    /// <summary>columns ← deformable im2col of the input (see <see cref="DeformIm2ColArgs"/>).</summary>
    public static void Im2Col<T>(DeformIm2ColArgs a) where T : unmanaged, IFloatingPointIeee754<T> =>
        Columns<T>(a.Geometry, (nint)a.Columns.Ptr<T>(), (nint)a.Input.Ptr<T>(), (nint)a.Offset.Ptr<T>(), a.Mask is { } m ? (nint)m.Ptr<T>() : 0, transpose: false);

    /// <summary>gradInput += the transpose of <see cref="Im2Col{T}"/> applied to gradColumns (see <see cref="DeformCol2ImArgs"/>).</summary>
    public static void Col2Im<T>(DeformCol2ImArgs a) where T : unmanaged, IFloatingPointIeee754<T> =>
        Columns<T>(a.Geometry, (nint)a.GradColumns.Ptr<T>(), (nint)a.GradInput.Ptr<T>(), (nint)a.Offset.Ptr<T>(), a.Mask is { } m ? (nint)m.Ptr<T>() : 0, transpose: true);

    // One pass over every (image, channel, tap, output position): columns ← mask · bilinear(image) (im2col), or the
    // image += the transpose of that applied to the columns (col2im). A thread owns one (image, channel) plane of the
    // image and the matching column segments, so the scatter of col2im needs no atomics.
    private static void Columns<T>(DeformGeometry g, nint cols, nint image, nint offset, nint mask, bool transpose) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int kk = g.KH * g.KW, plane = g.OutH * g.OutW, cpg = g.C / g.OffsetGroups;
        long ncols = (long)g.N * plane;
        Parallel.For(0, g.N * g.C, nc =>
        {
            int n = nc / g.C, c = nc % g.C, grp = c / cpg;
            T* im = (T*)image + ((long)n * g.C + c) * g.H * g.W;
            T* off = (T*)offset + ((long)n * g.OffsetGroups + grp) * 2 * kk * plane;
            T* msk = mask == 0 ? null : (T*)mask + ((long)n * g.OffsetGroups + grp) * kk * plane;
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                {
                    int k = i * g.KW + j;
                    T* col = (T*)cols + ((long)c * kk + k) * ncols + (long)n * plane;
                    for (int y = 0; y < g.OutH; y++)
                        for (int x = 0; x < g.OutW; x++)
                        {
                            int p = y * g.OutW + x;
                            T py = T.CreateTruncating(y * g.StrideH - g.PadH + i * g.DilationH) + off[2 * k * plane + p];
                            T px = T.CreateTruncating(x * g.StrideW - g.PadW + j * g.DilationW) + off[(2 * k + 1) * plane + p];
                            if (transpose) Scatter(im, g.H, g.W, py, px, msk == null ? col[p] : msk[k * plane + p] * col[p]);
                            else
                            {
                                T v = Bilinear(im, g.H, g.W, py, px);
                                col[p] = msk == null ? v : msk[k * plane + p] * v;
                            }
                        }
                }
        });
    }

    /// <summary>gradOffset (and gradMask) ← the coordinate gradients of <see cref="Im2Col{T}"/> (see <see cref="DeformCol2ImCoordArgs"/>).</summary>
    public static void Col2ImCoord<T>(DeformCol2ImCoordArgs a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = a.Geometry;
        nint goff = (nint)a.GradOffset.Ptr<T>(), gcols = (nint)a.GradColumns.Ptr<T>(), input = (nint)a.Input.Ptr<T>(), offset = (nint)a.Offset.Ptr<T>();
        nint mask = a.Mask is { } m ? (nint)m.Ptr<T>() : 0;
        nint gmask = a.GradMask is { } gm ? (nint)gm.Ptr<T>() : 0;
        int kk = g.KH * g.KW, plane = g.OutH * g.OutW, cpg = g.C / g.OffsetGroups;
        long ncols = (long)g.N * plane;
        Parallel.For(0, g.N * g.OffsetGroups * kk, ngk =>
        {
            int k = ngk % kk, ng = ngk / kk, grp = ng % g.OffsetGroups, n = ng / g.OffsetGroups;
            int i = k / g.KW, j = k % g.KW;
            T* off = (T*)offset + (long)ng * 2 * kk * plane;
            T* msk = mask == 0 ? null : (T*)mask + (long)ng * kk * plane;
            var gy = new Span<T>((T*)goff + ((long)ng * kk + k) * 2 * plane, plane);
            var gx = new Span<T>((T*)goff + (((long)ng * kk + k) * 2 + 1) * plane, plane);
            var gmk = gmask == 0 ? Span<T>.Empty : new Span<T>((T*)gmask + ((long)ng * kk + k) * plane, plane);
            gy.Clear(); gx.Clear(); gmk.Clear();
            for (int cc = 0; cc < cpg; cc++)
            {
                int c = grp * cpg + cc;
                T* im = (T*)input + ((long)n * g.C + c) * g.H * g.W;
                T* src = (T*)gcols + ((long)c * kk + k) * ncols + (long)n * plane;
                for (int y = 0; y < g.OutH; y++)
                    for (int x = 0; x < g.OutW; x++)
                    {
                        int p = y * g.OutW + x;
                        T py = T.CreateTruncating(y * g.StrideH - g.PadH + i * g.DilationH) + off[2 * k * plane + p];
                        T px = T.CreateTruncating(x * g.StrideW - g.PadW + j * g.DilationW) + off[(2 * k + 1) * plane + p];
                        T mv = msk == null ? T.One : msk[k * plane + p];
                        CoordinateWeights(im, g.H, g.W, py, px, out T wy, out T wx);
                        gy[p] += mv * wy * src[p];
                        gx[p] += mv * wx * src[p];
                        if (!gmk.IsEmpty) gmk[p] += src[p] * Bilinear(im, g.H, g.W, py, px);
                    }
            }
        });
    }

    // torchvision's bilinear_interpolate: 0 when (y, x) is outside (-1, H) × (-1, W), else the in-image corners weighted.
    private static T Bilinear<T>(T* im, int h, int w, T y, T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(y > -T.One && y < T.CreateTruncating(h) && x > -T.One && x < T.CreateTruncating(w))) return T.Zero;
        T fy = T.Floor(y), fx = T.Floor(x);
        int yl = int.CreateTruncating(fy), xl = int.CreateTruncating(fx), yh = yl + 1, xh = xl + 1;
        T ly = y - fy, lx = x - fx, hy = T.One - ly, hx = T.One - lx;
        T v1 = yl >= 0 && xl >= 0 ? im[yl * w + xl] : T.Zero;
        T v2 = yl >= 0 && xh <= w - 1 ? im[yl * w + xh] : T.Zero;
        T v3 = yh <= h - 1 && xl >= 0 ? im[yh * w + xl] : T.Zero;
        T v4 = yh <= h - 1 && xh <= w - 1 ? im[yh * w + xh] : T.Zero;
        return hy * hx * v1 + hy * lx * v2 + ly * hx * v3 + ly * lx * v4;
    }

    // The transpose of Bilinear (torchvision's deformable_col2im: the in-image pixels within distance < 1 on both axes).
    private static void Scatter<T>(T* dim, int h, int w, T y, T x, T v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(y > -T.One && y < T.CreateTruncating(h) && x > -T.One && x < T.CreateTruncating(w))) return;
        T fy = T.Floor(y), fx = T.Floor(x);
        int yl = int.CreateTruncating(fy), xl = int.CreateTruncating(fx);
        for (int yp = yl; yp <= yl + 1; yp++)
        {
            if (yp < 0 || yp >= h) continue;
            T wy = T.One - T.Abs(y - T.CreateTruncating(yp));
            if (wy <= T.Zero) continue;
            for (int xp = xl; xp <= xl + 1; xp++)
            {
                if (xp < 0 || xp >= w) continue;
                T wx = T.One - T.Abs(x - T.CreateTruncating(xp));
                if (wx <= T.Zero) continue;
                dim[yp * w + xp] += wy * wx * v;
            }
        }
    }

    // torchvision's get_coordinate_weight for both directions: d bilinear / dy and d bilinear / dx with the corners of
    // floor(y), floor(x) (so one-sided, from above, at integer positions), each corner 0 when outside the image.
    // Unlike Bilinear it has no (-1, H) cut: y = -1 exactly still sees row 0, as in torchvision.
    private static void CoordinateWeights<T>(T* im, int h, int w, T y, T x, out T wy, out T wx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        wy = T.Zero; wx = T.Zero;
        // outside [-1, H) × [-1, W) every corner is outside; also keeps the int conversion below in range (and NaN out)
        if (!(y >= -T.One && y < T.CreateTruncating(h) && x >= -T.One && x < T.CreateTruncating(w))) return;
        T fy = T.Floor(y), fx = T.Floor(x);
        int yl = int.CreateTruncating(fy), xl = int.CreateTruncating(fx), yh = yl + 1, xh = xl + 1;
        bool vyl = yl >= 0, vyh = yh < h, vxl = xl >= 0, vxh = xh < w;
        T v_yx = vyl && vxl ? im[yl * w + xl] : T.Zero;
        T v_yX = vyl && vxh ? im[yl * w + xh] : T.Zero;
        T v_Yx = vyh && vxl ? im[yh * w + xl] : T.Zero;
        T v_YX = vyh && vxh ? im[yh * w + xh] : T.Zero;
        T dx = x - fx, dy = y - fy;
        wy = dx * (v_YX - v_yX) + (T.One - dx) * (v_Yx - v_yx);
        wx = dy * (v_YX - v_Yx) + (T.One - dy) * (v_yX - v_yx);
    }
}
