using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Nn.Data;

/// <summary>How a geometric transform samples the source image.</summary>
public enum Interpolation
{
    /// <summary>The nearest source pixel (torchvision's default for rotation, affine and RandAugment).</summary>
    Nearest,
    /// <summary>Bilinear between the four nearest source pixels.</summary>
    Bilinear,
}

/// <summary>
/// The pixel loops behind the transforms, on planar float images [C, H, W]. Geometry follows torchvision's
/// tensor backend: pixel centres at integer + 0.5, bilinear resize with <c>align_corners=False</c>, and warps
/// (affine, perspective) that sample the source like <c>grid_sample</c>, with a fill value outside the image.
/// </summary>
internal static class ImageOps
{
    /// <summary>ITU-R 601-2 luma weights, as torchvision's <c>rgb_to_grayscale</c>.</summary>
    public const float LumaR = 0.2989f, LumaG = 0.587f, LumaB = 0.114f;

    /// <summary>dst[i] = src[i] / 255 (exactly that float division, vectorised).</summary>
    public static void BytesToUnit(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int i = 0, n = src.Length;
        if (Vector256.IsHardwareAccelerated && n >= 32)
        {
            var div = Vector256.Create(255f);
            ref byte s0 = ref MemoryMarshal.GetReference(src);
            ref float d0 = ref MemoryMarshal.GetReference(dst);
            for (; i <= n - 32; i += 32)
            {
                var b = Vector256.LoadUnsafe(ref s0, (nuint)i);
                var (lo, hi) = Vector256.Widen(b);
                var (q0, q1) = Vector256.Widen(lo);
                var (q2, q3) = Vector256.Widen(hi);
                Vector256.StoreUnsafe(Vector256.ConvertToSingle(q0.AsInt32()) / div, ref d0, (nuint)i);
                Vector256.StoreUnsafe(Vector256.ConvertToSingle(q1.AsInt32()) / div, ref d0, (nuint)(i + 8));
                Vector256.StoreUnsafe(Vector256.ConvertToSingle(q2.AsInt32()) / div, ref d0, (nuint)(i + 16));
                Vector256.StoreUnsafe(Vector256.ConvertToSingle(q3.AsInt32()) / div, ref d0, (nuint)(i + 24));
            }
        }
        for (; i < n; i++) dst[i] = src[i] / 255f;
    }

    /// <summary>Interleaved 8-bit pixels [H, W, C] to planar floats [C, H, W] in [0, 1].</summary>
    public static void InterleavedToPlanar(ReadOnlySpan<byte> hwc, int channels, Span<float> chw)
    {
        if (channels == 1) { BytesToUnit(hwc, chw); return; }
        int plane = hwc.Length / channels;
        for (int c = 0; c < channels; c++)
        {
            var dst = chw.Slice(c * plane, plane);
            for (int i = 0, j = c; i < plane; i++, j += channels) dst[i] = hwc[j] / 255f;
        }
    }

    /// <summary>Interleaved 8-bit pixels [H, W, C] to a new planar array [C, H, W].</summary>
    public static byte[] InterleavedToPlanarBytes(ReadOnlySpan<byte> hwc, int channels)
    {
        var chw = new byte[hwc.Length];
        if (channels == 1) { hwc.CopyTo(chw); return chw; }
        int plane = hwc.Length / channels;
        for (int c = 0; c < channels; c++)
            for (int i = 0, j = c; i < plane; i++, j += channels) chw[c * plane + i] = hwc[j];
        return chw;
    }

    /// <summary>
    /// Copies the window [top, top + outH) × [left, left + outW) of the source, which may reach outside the image:
    /// those pixels get <paramref name="fill"/> (constant padding). The source is <paramref name="srcBytes"/> / 255
    /// when that is not empty, else <paramref name="src"/>.
    /// </summary>
    public static void CropPadded(ReadOnlySpan<float> src, ReadOnlySpan<byte> srcBytes, int channels, int h, int w, int top, int left,
        int outH, int outW, float fill, Span<float> dst)
    {
        bool bytes = !srcBytes.IsEmpty;
        int x0 = Math.Clamp(-left, 0, outW), x1 = Math.Clamp(w - left, x0, outW); // output columns that read the image
        for (int c = 0; c < channels; c++)
        {
            for (int y = 0; y < outH; y++)
            {
                var row = dst.Slice((c * outH + y) * outW, outW);
                int sy = top + y;
                if (sy < 0 || sy >= h || x1 <= x0) { row.Fill(fill); continue; }
                row[..x0].Fill(fill);
                int at = (c * h + sy) * w + left + x0;
                if (bytes) BytesToUnit(srcBytes.Slice(at, x1 - x0), row[x0..x1]);
                else src.Slice(at, x1 - x0).CopyTo(row[x0..x1]);
                row[x1..].Fill(fill);
            }
        }
    }

    /// <summary>Mirrors each row in place (horizontal flip).</summary>
    public static void FlipHorizontal(Span<float> img, int channels, int h, int w)
    {
        for (int r = 0; r < channels * h; r++) img.Slice(r * w, w).Reverse();
    }

    /// <summary>Reverses the row order of each plane in place (vertical flip).</summary>
    public static void FlipVertical(Span<float> img, int channels, int h, int w)
    {
        Span<float> tmp = w <= 1024 ? stackalloc float[w] : new float[w];
        for (int c = 0; c < channels; c++)
        {
            var plane = img.Slice(c * h * w, h * w);
            for (int y = 0, z = h - 1; y < z; y++, z--)
            {
                var a = plane.Slice(y * w, w);
                var b = plane.Slice(z * w, w);
                a.CopyTo(tmp);
                b.CopyTo(a);
                tmp.CopyTo(b);
            }
        }
    }

    /// <summary>
    /// Bilinear resize (<c>align_corners=False</c>, no antialiasing, as PyTorch's <c>interpolate</c>) of the crop
    /// [top, top + cropH) × [left, left + cropW) to outH × outW. Separable: each output row blends two source rows
    /// resized horizontally, which are cached, so each source row is resized at most once per plane. The source
    /// is <paramref name="srcBytes"/> / 255 when that is not empty (each row used is converted in a small buffer),
    /// else <paramref name="src"/>; both give the same values.
    /// </summary>
    public static void ResizeBilinear(ReadOnlySpan<float> src, ReadOnlySpan<byte> srcBytes, int channels, int h, int w, int top, int left,
        int cropH, int cropW, Span<float> dst, int outH, int outW)
    {
        const int stackLimit = 1024;
        Span<int> xa = outW <= stackLimit ? stackalloc int[outW] : new int[outW];
        Span<int> xb = outW <= stackLimit ? stackalloc int[outW] : new int[outW];
        Span<float> fx = outW <= stackLimit ? stackalloc float[outW] : new float[outW];
        Span<int> ya = outH <= stackLimit ? stackalloc int[outH] : new int[outH];
        Span<int> yb = outH <= stackLimit ? stackalloc int[outH] : new int[outH];
        Span<float> fy = outH <= stackLimit ? stackalloc float[outH] : new float[outH];
        Table(cropW, outW, 0, xa, xb, fx); // columns relative to the crop's left edge
        Table(cropH, outH, top, ya, yb, fy);
        Span<float> rows = outW <= stackLimit ? stackalloc float[2 * outW] : new float[2 * outW];
        bool bytes = !srcBytes.IsEmpty;
        Span<float> converted = bytes ? (cropW <= 4 * stackLimit ? stackalloc float[cropW] : new float[cropW]) : default;
        for (int c = 0; c < channels; c++)
        {
            int plane = c * h * w;
            var outPlane = dst.Slice(c * outH * outW, outH * outW);
            Span<float> rowA = rows[..outW], rowB = rows[outW..];
            int cachedA = -1, cachedB = -1;
            for (int y = 0; y < outH; y++)
            {
                int a = ya[y], b = yb[y];
                var o = outPlane.Slice(y * outW, outW);
                if (cachedA != a)
                {
                    if (cachedB == a)
                    {
                        var t = rowA; rowA = rowB; rowB = t;
                        (cachedA, cachedB) = (cachedB, cachedA);
                    }
                    else
                    {
                        ResizeRow(SourceRow(src, srcBytes, plane + a * w + left, cropW, converted), xa, xb, fx, rowA);
                        cachedA = a;
                    }
                }
                if (fy[y] == 0 || b == a) { rowA.CopyTo(o); continue; }
                if (cachedB != b)
                {
                    ResizeRow(SourceRow(src, srcBytes, plane + b * w + left, cropW, converted), xa, xb, fx, rowB);
                    cachedB = b;
                }
                TensorPrimitives.Lerp(rowA, rowB, fy[y], o);
            }
        }
    }

    private static ReadOnlySpan<float> SourceRow(ReadOnlySpan<float> src, ReadOnlySpan<byte> srcBytes, int at, int length, Span<float> converted)
    {
        if (srcBytes.IsEmpty) return src.Slice(at, length);
        BytesToUnit(srcBytes.Slice(at, length), converted);
        return converted;
    }

    private static void Table(int inSize, int outSize, int start, Span<int> lo, Span<int> hi, Span<float> frac)
    {
        double scale = (double)inSize / outSize;
        for (int i = 0; i < outSize; i++)
        {
            double s = Math.Max((i + 0.5) * scale - 0.5, 0);
            int k = Math.Min((int)s, inSize - 1);
            lo[i] = start + k;
            hi[i] = start + Math.Min(k + 1, inSize - 1);
            frac[i] = (float)(s - k);
        }
    }

    /// <summary>dst[x] = a + f·(b − a) with a = row[xa[x]], b = row[xb[x]] (AVX2 gathers when available; no FMA, so bit-identical).</summary>
    private static unsafe void ResizeRow(ReadOnlySpan<float> row, ReadOnlySpan<int> xa, ReadOnlySpan<int> xb, ReadOnlySpan<float> fx, Span<float> dst)
    {
        int x = 0, n = dst.Length;
        if (Avx2.IsSupported && n >= 8)
        {
            fixed (float* r = row, pf = fx, pd = dst)
            fixed (int* pa = xa, pb = xb)
            {
                for (; x <= n - 8; x += 8)
                {
                    var a = Avx2.GatherVector256(r, Avx.LoadVector256(pa + x), 4);
                    var b = Avx2.GatherVector256(r, Avx.LoadVector256(pb + x), 4);
                    Avx.Store(pd + x, Avx.Add(a, Avx.Multiply(Avx.LoadVector256(pf + x), Avx.Subtract(b, a))));
                }
            }
        }
        for (; x < n; x++)
        {
            float a = row[xa[x]];
            dst[x] = a + fx[x] * (row[xb[x]] - a);
        }
    }

    /// <summary>
    /// Warps by an inverse affine map given in centred pixel coordinates (torchvision's convention): the output
    /// pixel with centre (x + 0.5 − W/2, y + 0.5 − H/2) reads the source at M · (that, 1), and source (u, v)
    /// relative to the centre is pixel (u + W/2 − 0.5, v + H/2 − 0.5). Outside the image reads <paramref name="fill"/>.
    /// </summary>
    public static void WarpAffine(ReadOnlySpan<float> src, int channels, int h, int w, ReadOnlySpan<double> m, Interpolation mode, float fill, Span<float> dst)
    {
        double hw = w * 0.5, hh = h * 0.5;
        for (int y = 0; y < h; y++)
        {
            double yc = y + 0.5 - hh;
            double u = m[0] * (0.5 - hw) + m[1] * yc + m[2] + hw - 0.5;
            double v = m[3] * (0.5 - hw) + m[4] * yc + m[5] + hh - 0.5;
            for (int x = 0; x < w; x++, u += m[0], v += m[3])
                Sample(src, channels, h, w, u, v, mode, fill, dst, y * w + x);
        }
    }

    /// <summary>
    /// Warps by a projective map (a … h) from output to input, as torchvision's <c>perspective</c>: output
    /// pixel (x, y) reads the source at ((a·X + b·Y + c) / (g·X + h·Y + 1), (d·X + e·Y + f) / (…)) − 0.5 with
    /// X = x + 0.5 and Y = y + 0.5.
    /// </summary>
    public static void WarpPerspective(ReadOnlySpan<float> src, int channels, int h, int w, ReadOnlySpan<double> k, Interpolation mode, float fill, Span<float> dst)
    {
        for (int y = 0; y < h; y++)
        {
            double Y = y + 0.5;
            for (int x = 0; x < w; x++)
            {
                double X = x + 0.5;
                double den = k[6] * X + k[7] * Y + 1;
                double u = (k[0] * X + k[1] * Y + k[2]) / den - 0.5;
                double v = (k[3] * X + k[4] * Y + k[5]) / den - 0.5;
                Sample(src, channels, h, w, u, v, mode, fill, dst, y * w + x);
            }
        }
    }

    private static void Sample(ReadOnlySpan<float> src, int channels, int h, int w, double u, double v, Interpolation mode, float fill, Span<float> dst, int at)
    {
        int plane = h * w;
        if (mode == Interpolation.Nearest)
        {
            double ru = Math.Round(u), rv = Math.Round(v);
            bool inside = ru >= 0 && ru < w && rv >= 0 && rv < h;
            int idx = inside ? (int)rv * w + (int)ru : 0;
            for (int c = 0; c < channels; c++) dst[c * plane + at] = inside ? src[c * plane + idx] : fill;
            return;
        }
        double fu = Math.Floor(u), fv = Math.Floor(v);
        if (fu < -1 || fv < -1 || fu >= w || fv >= h)
        {
            for (int c = 0; c < channels; c++) dst[c * plane + at] = fill;
            return;
        }
        int x0 = (int)fu, y0 = (int)fv;
        float ax = (float)(u - fu), ay = (float)(v - fv);
        float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
        bool inX0 = x0 >= 0, inX1 = x0 + 1 < w, inY0 = y0 >= 0, inY1 = y0 + 1 < h;
        if (inX0 && inX1 && inY0 && inY1)
        {
            int i = y0 * w + x0;
            for (int c = 0; c < channels; c++)
            {
                var p = src.Slice(c * plane, plane);
                dst[c * plane + at] = w00 * p[i] + w01 * p[i + 1] + w10 * p[i + w] + w11 * p[i + w + 1];
            }
            return;
        }
        for (int c = 0; c < channels; c++)
        {
            var p = src.Slice(c * plane, plane);
            float s = 0;
            s += w00 * (inX0 && inY0 ? p[y0 * w + x0] : fill);
            s += w01 * (inX1 && inY0 ? p[y0 * w + x0 + 1] : fill);
            s += w10 * (inX0 && inY1 ? p[(y0 + 1) * w + x0] : fill);
            s += w11 * (inX1 && inY1 ? p[(y0 + 1) * w + x0 + 1] : fill);
            dst[c * plane + at] = s;
        }
    }

    /// <summary>
    /// torchvision's <c>_get_inverse_affine_matrix</c>: the inverse of "rotate by <paramref name="angle"/> degrees
    /// (clockwise on screen), shear by (<paramref name="shearX"/>, <paramref name="shearY"/>) degrees, scale, then
    /// translate", about <paramref name="centerX"/>, <paramref name="centerY"/> given relative to the image centre.
    /// </summary>
    public static double[] InverseAffine(double centerX, double centerY, double angle, double tx, double ty, double scale, double shearX, double shearY)
    {
        double rot = angle * Math.PI / 180, sx = shearX * Math.PI / 180, sy = shearY * Math.PI / 180;
        double a = Math.Cos(rot - sy) / Math.Cos(sy);
        double b = -Math.Cos(rot - sy) * Math.Tan(sx) / Math.Cos(sy) - Math.Sin(rot);
        double c = Math.Sin(rot - sy) / Math.Cos(sy);
        double d = -Math.Sin(rot - sy) * Math.Tan(sx) / Math.Cos(sy) + Math.Cos(rot);
        var m = new[] { d / scale, -b / scale, 0, -c / scale, a / scale, 0 };
        m[2] += m[0] * (-centerX - tx) + m[1] * (-centerY - ty);
        m[5] += m[3] * (-centerX - tx) + m[4] * (-centerY - ty);
        m[2] += centerX;
        m[5] += centerY;
        return m;
    }

    /// <summary>True when the inverse affine map is the identity (the warp would copy the image).</summary>
    public static bool IsIdentity(ReadOnlySpan<double> m) => m[0] == 1 && m[1] == 0 && m[2] == 0 && m[3] == 0 && m[4] == 1 && m[5] == 0;

    /// <summary>
    /// The projective coefficients (a … h) mapping <paramref name="end"/> points to <paramref name="start"/>
    /// points (torchvision's <c>_get_perspective_coeffs</c>), by solving the 8×8 system exactly.
    /// </summary>
    public static double[] PerspectiveCoefficients(ReadOnlySpan<(double X, double Y)> start, ReadOnlySpan<(double X, double Y)> end)
    {
        var a = new double[8, 9];
        for (int i = 0; i < 4; i++)
        {
            var (ex, ey) = end[i];
            var (sx, sy) = start[i];
            double[] r0 = [ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey, sx];
            double[] r1 = [0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey, sy];
            for (int j = 0; j < 9; j++) { a[2 * i, j] = r0[j]; a[2 * i + 1, j] = r1[j]; }
        }
        for (int col = 0; col < 8; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < 8; r++) if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col])) pivot = r;
            if (Math.Abs(a[pivot, col]) < 1e-12) throw new ArgumentValueException("perspective", "the corner points are degenerate");
            if (pivot != col) for (int j = 0; j < 9; j++) (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
            for (int r = 0; r < 8; r++)
            {
                if (r == col || a[r, col] == 0) continue;
                double f = a[r, col] / a[col, col];
                for (int j = col; j < 9; j++) a[r, j] -= f * a[col, j];
            }
        }
        var k = new double[8];
        for (int i = 0; i < 8; i++) k[i] = a[i, 8] / a[i, i];
        return k;
    }

    /// <summary>The grey plane (luma) of an RGB image, or the single plane of a grey one.</summary>
    public static void Grayscale(ReadOnlySpan<float> img, int channels, int plane, Span<float> grey)
    {
        if (channels != 3) { img[..plane].CopyTo(grey); return; }
        var r = img[..plane];
        var g = img.Slice(plane, plane);
        var b = img.Slice(2 * plane, plane);
        for (int i = 0; i < plane; i++) grey[i] = LumaR * r[i] + LumaG * g[i] + LumaB * b[i];
    }

    /// <summary>x ← clamp(f·x + (1 − f)·other, 0, 1) in place, <paramref name="other"/> a constant.</summary>
    public static void BlendConstant(Span<float> img, float factor, float other)
    {
        TensorPrimitives.Multiply(img, factor, img);
        if (other != 0 && factor != 1) TensorPrimitives.Add(img, (1 - factor) * other, img);
        TensorPrimitives.Clamp(img, 0f, 1f, img);
    }

    /// <summary>x ← clamp(f·x + (1 − f)·other, 0, 1) in place, <paramref name="other"/> an image of the same size.</summary>
    public static void Blend(Span<float> img, ReadOnlySpan<float> other, float factor)
    {
        // f·x + (1 − f)·o = o + f·(x − o)
        for (int i = 0; i < img.Length; i++) img[i] = Math.Clamp(other[i] + factor * (img[i] - other[i]), 0f, 1f);
    }

    /// <summary>Brightness: blend with black.</summary>
    public static void AdjustBrightness(Span<float> img, float factor) => BlendConstant(img, factor, 0);

    /// <summary>Contrast: blend with the mean grey level of the image.</summary>
    public static void AdjustContrast(Span<float> img, int channels, int plane, float factor)
    {
        float mean;
        if (channels == 3)
        {
            double s = 0;
            for (int i = 0; i < plane; i++) s += LumaR * img[i] + LumaG * img[plane + i] + LumaB * img[2 * plane + i];
            mean = (float)(s / plane);
        }
        else mean = TensorPrimitives.Sum(img[..plane]) / plane;
        BlendConstant(img, factor, mean);
    }

    /// <summary>Saturation: blend with the grey image (no effect on a grey image).</summary>
    public static void AdjustSaturation(Span<float> img, int channels, int plane, float factor)
    {
        if (channels != 3) return;
        Span<float> grey = plane <= 4096 ? stackalloc float[plane] : new float[plane];
        Grayscale(img, 3, plane, grey);
        for (int c = 0; c < 3; c++) Blend(img.Slice(c * plane, plane), grey, factor);
    }

    /// <summary>Sharpness: blend with the image smoothed by [[1,1,1],[1,5,1],[1,1,1]]/13 (border pixels unchanged).</summary>
    public static void AdjustSharpness(Span<float> img, int channels, int h, int w, float factor)
    {
        if (h <= 2 || w <= 2) return;
        int plane = h * w;
        Span<float> soft = plane <= 4096 ? stackalloc float[plane] : new float[plane];
        for (int c = 0; c < channels; c++)
        {
            var p = img.Slice(c * plane, plane);
            p.CopyTo(soft);
            for (int y = 1; y < h - 1; y++)
                for (int x = 1; x < w - 1; x++)
                {
                    int i = y * w + x;
                    float s = p[i - w - 1] + p[i - w] + p[i - w + 1] + p[i - 1] + 5 * p[i] + p[i + 1] + p[i + w - 1] + p[i + w] + p[i + w + 1];
                    soft[i] = s / 13f;
                }
            Blend(p, soft, factor);
        }
    }

    /// <summary>Keeps <paramref name="bits"/> bits of each value's 8-bit level (torchvision's float posterize).</summary>
    public static void Posterize(Span<float> img, int bits)
    {
        if (bits >= 8) return;
        float levels = 1 << Math.Max(bits, 0);
        for (int i = 0; i < img.Length; i++) img[i] = Math.Clamp(MathF.Floor(img[i] * levels), 0, levels - 1) / levels;
    }

    /// <summary>Inverts (1 − x) every value at or above <paramref name="threshold"/>.</summary>
    public static void Solarize(Span<float> img, float threshold)
    {
        for (int i = 0; i < img.Length; i++) if (img[i] >= threshold) img[i] = 1 - img[i];
    }

    /// <summary>Stretches each channel to span [0, 1] (channels that are constant stay as they are).</summary>
    public static void AutoContrast(Span<float> img, int channels, int plane)
    {
        for (int c = 0; c < channels; c++)
        {
            var p = img.Slice(c * plane, plane);
            float lo = TensorPrimitives.Min(p), hi = TensorPrimitives.Max(p);
            if (!(hi > lo)) continue;
            TensorPrimitives.Subtract(p, lo, p);
            TensorPrimitives.Divide(p, hi - lo, p);
            TensorPrimitives.Clamp(p, 0f, 1f, p);
        }
    }

    /// <summary>Histogram equalisation of each channel on its 8-bit levels (torchvision's <c>equalize</c>).</summary>
    public static void Equalize(Span<float> img, int channels, int plane)
    {
        Span<int> hist = stackalloc int[256];
        Span<float> lut = stackalloc float[256];
        for (int c = 0; c < channels; c++)
        {
            var p = img.Slice(c * plane, plane);
            hist.Clear();
            foreach (float v in p) hist[Level(v)]++;
            int last = 255;
            while (last > 0 && hist[last] == 0) last--;
            long nonLast = 0;
            for (int i = 0; i < 256; i++) if (i != last) nonLast += hist[i];
            long step = nonLast / 255;
            if (step == 0) continue;
            long cum = step / 2;
            for (int i = 0; i < 256; i++)
            {
                lut[i] = Math.Clamp(cum / step, 0, 255) / 255f;
                cum += hist[i];
            }
            for (int i = 0; i < p.Length; i++) p[i] = lut[Level(p[i])];
        }
    }

    private static int Level(float v) => Math.Clamp((int)(v * 255f + 0.5f), 0, 255);
}
