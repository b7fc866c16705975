using Engine.Nn;

namespace Engine.Cli;

/// <summary>PNG plots of a run through ScottPlot: loss and accuracy per epoch, and the last epoch's confusion matrix.</summary>
internal static class Plots
{
    public static void Write(string folder, IReadOnlyList<EpochStats> history, IReadOnlyList<string> classNames)
    {
        if (history.Count == 0) return;
        var loss = new ScottPlot.Plot();
        Series(loss, history, h => h.TrainLoss, "train");
        Series(loss, history, h => h.TestLoss, "test");
        loss.Title("Loss"); loss.XLabel("epoch"); loss.YLabel("cross-entropy"); loss.ShowLegend();
        loss.SavePng(Path.Combine(folder, "loss.png"), 640, 420);

        var acc = new ScottPlot.Plot();
        Series(acc, history, h => 100 * h.TrainTop1, "train");
        Series(acc, history, h => 100 * h.TestTop1, "test");
        acc.Title("Top-1 accuracy"); acc.XLabel("epoch"); acc.YLabel("%"); acc.ShowLegend();
        acc.SavePng(Path.Combine(folder, "accuracy.png"), 640, 420);

        if (history[^1].Confusion is { } cm) WriteConfusion(Path.Combine(folder, "confusion.png"), cm, classNames);
    }

    /// <summary>One line of the epochs where <paramref name="value"/> is present and finite (a NaN loss, or no test set, leaves gaps).</summary>
    private static void Series(ScottPlot.Plot plot, IReadOnlyList<EpochStats> history, Func<EpochStats, double?> value, string label)
    {
        var points = history.Select(h => (X: (double)(h.Epoch + 1), Y: value(h))).Where(p => p.Y is double y && double.IsFinite(y)).ToArray();
        if (points.Length == 0) return;
        plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y!.Value).ToArray()).LegendText = label;
    }

    /// <summary>A heat map of the confusion matrix (rows: true class, columns: predicted) with the counts written in.</summary>
    public static void WriteConfusion(string path, long[,] cm, IReadOnlyList<string> classNames)
    {
        int n = cm.GetLength(0);
        var values = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            long row = 0;
            for (int j = 0; j < n; j++) row += cm[i, j];
            for (int j = 0; j < n; j++) values[i, j] = row == 0 ? 0 : (double)cm[i, j] / row;
        }
        var plot = new ScottPlot.Plot();
        var hm = plot.Add.Heatmap(values);
        plot.Add.ColorBar(hm);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                var t = plot.Add.Text(cm[i, j].ToString(System.Globalization.CultureInfo.InvariantCulture), j, n - 1 - i);
                t.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                t.LabelFontColor = values[i, j] > 0.5 ? ScottPlot.Colors.Black : ScottPlot.Colors.White;
            }
        var ticks = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        var names = Enumerable.Range(0, n).Select(i => i < classNames.Count ? classNames[i] : i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        plot.Axes.Bottom.SetTicks(ticks, names);
        plot.Axes.Left.SetTicks(ticks, [.. names.Reverse()]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 90; // room for the rotated class names
        plot.Title("Confusion matrix (rows: true, columns: predicted)");
        plot.SavePng(path, 760, 680);
    }
}
