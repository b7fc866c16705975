using Engine.Nn;

namespace Engine.Cli;

/// <summary>
/// The figure of Dai et al. 2017 (figure 5): the sampling locations of one activation unit of a net's last deformable
/// conv, traced back through every deformable conv of a <see cref="Sequential"/> to the input image. The unit's 3×3
/// sampling points (grid position plus learned offset) are points of the layer's input map; each of them is in turn a
/// position of the previous deformable layer's output, whose 3×3 points use the offsets predicted at the nearest output
/// position, and so on: 9^L points for L deformable layers, mapped onto the image through the plain convs before the
/// first one (a conv maps output u to input u·stride − padding + (k − 1)/2·dilation, the centre of its window).
/// </summary>
internal static class SamplingPlot
{
    /// <summary>
    /// The sampling points, in image pixels (row, column), of the centre unit of the last deformable layer for each of
    /// <paramref name="images"/> [n, C, H, W]: the learned ones (9^L), the regular grid's (offsets zero) and the unit's
    /// own position. The net runs once in evaluation mode (its mode is restored).
    /// </summary>
    public static List<(List<(double Y, double X)> Learned, List<(double Y, double X)> Grid, (double Y, double X) Unit)> Points(Sequential net, Tensor images)
    {
        var packs = new List<DeformConv2dPack>();
        var before = new List<Conv2d>();
        for (int i = 0; i < net.Count; i++)
        {
            if (net[i] is DeformConv2dPack p) packs.Add(p);
            else if (packs.Count == 0 && net[i] is Conv2d c) before.Add(c);
        }
        if (packs.Count == 0) throw new ArgumentValueException("sampling_plot", "the net has no deformable conv");
        var offsets = new (double[] Values, long[] Shape)[packs.Count];
        bool wasTraining = net.Training;
        net.Eval();
        var hooks = packs.Select((p, k) => p.RegisterForwardHook((_, input, _) =>
        {
            using var off = p.PredictOffsets(input).Offset;
            offsets[k] = (off.ToDoubleArray(), off.Shape.ToArray());
        })).ToList();
        try
        {
            using (Tensor.NoGrad()) net.Call(images);
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            net.Train(wasTraining);
        }
        var last = offsets[^1].Shape;
        (double Y, double X) unit = ((last[2] - 1) / 2, (last[3] - 1) / 2);
        var result = new List<(List<(double Y, double X)>, List<(double Y, double X)>, (double Y, double X))>();
        for (int img = 0; img < images.Size(0); img++)
            result.Add((ToImage(before, Trace(packs, offsets, img, unit, deformed: true)), ToImage(before, Trace(packs, offsets, img, unit, deformed: false)),
                ToImage(before, [Centre(packs, unit)])[0]));
        return result;
    }

    /// <summary>Draws <see cref="Points"/> over <paramref name="images"/> [n, 1, H, W] in a row, titled by <paramref name="titles"/>.</summary>
    public static void Write(string path, Sequential net, Tensor images, IReadOnlyList<string> titles)
    {
        var points = Points(net, images);
        int n = (int)images.Size(0), height = (int)images.Size(2), width = (int)images.Size(3), gap = width;   // room for points outside the image
        var canvas = new double[height, n * (width + gap) - gap];
        for (int r = 0; r < height; r++)
            for (int c = 0; c < canvas.GetLength(1); c++) canvas[r, c] = double.NaN;
        var pixels = images.ToDoubleArray();
        var plot = new ScottPlot.Plot();
        for (int img = 0; img < n; img++)
        {
            int x0 = img * (width + gap);
            for (int r = 0; r < height; r++)
                for (int c = 0; c < width; c++) canvas[r, x0 + c] = pixels[(img * height + r) * width + c];
            var (learned, grid, centre) = points[img];
            Markers(plot, grid, x0, height, ScottPlot.Colors.DeepSkyBlue, 4, ScottPlot.MarkerShape.OpenCircle);
            Markers(plot, learned, x0, height, ScottPlot.Colors.Red.WithAlpha(0.55), 3, ScottPlot.MarkerShape.FilledCircle);
            Markers(plot, [centre], x0, height, ScottPlot.Colors.Lime, 12, ScottPlot.MarkerShape.FilledDiamond);
            var t = plot.Add.Text(img < titles.Count ? titles[img] : "", x0 + (width - 1) / 2.0, height + 1.5);
            t.LabelAlignment = ScottPlot.Alignment.LowerCenter;
            t.LabelFontSize = 14;
        }
        var hm = plot.Add.Heatmap(canvas);
        hm.Colormap = new ScottPlot.Colormaps.Grayscale();
        hm.NaNCellColor = ScottPlot.Colors.White;
        plot.MoveToBottom(hm);
        plot.Title($"Sampling locations of the centre unit of the last deformable layer (red: {points[0].Learned.Count:N0} learned; blue: regular grid; green: the unit)");
        plot.Axes.SetLimits(-gap / 2.0, canvas.GetLength(1) + gap / 2.0, -gap / 2.0, height + gap / 2.0);
        plot.Axes.SquareUnits();
        plot.SavePng(path, 330 * n, 460);
    }

    private static void Markers(ScottPlot.Plot plot, List<(double Y, double X)> points, int x0, int height, ScottPlot.Color color, float size, ScottPlot.MarkerShape shape)
    {
        double[] xs = [.. points.Select(p => x0 + p.X)], ys = [.. points.Select(p => height - 1 - p.Y)];
        var m = plot.Add.Markers(xs, ys, shape, size, color);
        m.MarkerStyle.LineWidth = 1;
    }

    // The unit's position in the first deformable layer's input, following the grid centres (no offsets).
    private static (double Y, double X) Centre(List<DeformConv2dPack> packs, (double Y, double X) unit)
    {
        var p = unit;
        for (int l = packs.Count - 1; l >= 0; l--) p = WindowCentre(packs[l], p);
        return p;
    }

    // Where a conv's output position u sits in its input: the centre of its window, u·stride − padding + (k − 1)/2·dilation.
    private static (double Y, double X) WindowCentre(ConvNd c, (double Y, double X) p) =>
        (p.Y * c.Stride[0] - c.Padding[0] + (c.KernelSize[0] - 1) / 2.0 * c.Dilation[0],
         p.X * c.Stride[1] - c.Padding[1] + (c.KernelSize[1] - 1) / 2.0 * c.Dilation[1]);

    // The 9^L sampling points of the unit in the first deformable layer's input (offsets zero unless deformed).
    private static List<(double Y, double X)> Trace(List<DeformConv2dPack> packs, (double[] Values, long[] Shape)[] offsets, int image,
        (double Y, double X) unit, bool deformed)
    {
        var points = new List<(double Y, double X)> { unit };
        for (int l = packs.Count - 1; l >= 0; l--)
        {
            var c = packs[l];
            var (off, shape) = offsets[l];
            int oh = (int)shape[2], ow = (int)shape[3], kh = c.KernelSize[0], kw = c.KernelSize[1];
            var next = new List<(double Y, double X)>(points.Count * kh * kw);
            foreach (var (y, x) in points)
            {
                int ry = Math.Clamp((int)Math.Round(y), 0, oh - 1), rx = Math.Clamp((int)Math.Round(x), 0, ow - 1);
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                    {
                        int k = i * kw + j;
                        // offset group 0 (every layer here has one): channels 2k (dy) and 2k + 1 (dx)
                        double dy = deformed ? off[(((long)image * shape[1] + 2 * k) * oh + ry) * ow + rx] : 0;
                        double dx = deformed ? off[(((long)image * shape[1] + 2 * k + 1) * oh + ry) * ow + rx] : 0;
                        next.Add((y * c.Stride[0] - c.Padding[0] + i * c.Dilation[0] + dy, x * c.Stride[1] - c.Padding[1] + j * c.Dilation[1] + dx));
                    }
            }
            points = next;
        }
        return points;
    }

    // From the first deformable layer's input map to image pixels, through the plain convs before it (window centres).
    private static List<(double Y, double X)> ToImage(List<Conv2d> before, List<(double Y, double X)> points)
    {
        var result = new List<(double Y, double X)>(points.Count);
        foreach (var pt in points)
        {
            var p = pt;
            for (int l = before.Count - 1; l >= 0; l--) p = WindowCentre(before[l], p);
            result.Add(p);
        }
        return result;
    }
}
