namespace Engine.Cli;

/// <summary>PNG plots of the recipe commands' own results (accuracy against k, or per noisy-student iteration), through ScottPlot.</summary>
internal static class RecipePlots
{
    /// <summary>One or more accuracy curves (in %) against <paramref name="x"/>, labelled by <paramref name="xLabel"/>.</summary>
    public static void Accuracy(string path, string title, string xLabel, double[] x, params (string Name, double[] Values)[] series)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (name, values) in series)
            plot.Add.Scatter(x, [.. values.Select(v => 100 * v)]).LegendText = name;
        plot.Title(title); plot.XLabel(xLabel); plot.YLabel("accuracy (%)"); plot.ShowLegend();
        plot.SavePng(path, 640, 420);
    }
}
