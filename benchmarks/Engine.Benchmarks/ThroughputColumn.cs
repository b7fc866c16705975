using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Engine.Benchmarks;

/// <summary>
/// A column showing work per second from the <b>median</b> time of a case: GFLOP/s when the work is counted in
/// floating-point operations, GB/s when it is counted in bytes (both are "units per nanosecond").
/// </summary>
public sealed class ThroughputColumn(string columnName, string legend, Func<BenchmarkCase, double?> workPerOperation) : IColumn
{
    /// <summary>GFLOP/s of a square matmul: 2·N³ flops for the case's parameter N.</summary>
    public static readonly IColumn GemmGflops = new ThroughputColumn("GFLOP/s",
        "2*N^3 floating-point operations / median time (10^9 per second)",
        c => ParamN(c) is double n ? 2 * n * n * n : null);

    /// <summary>GB/s: N × the method's <see cref="BytesPerElementAttribute"/> bytes moved per operation.</summary>
    public static readonly IColumn Bandwidth = new ThroughputColumn("GB/s",
        "bytes read + written (N * BytesPerElement) / median time (10^9 bytes per second)",
        c => ParamN(c) is double n && c.Descriptor.WorkloadMethod.GetCustomAttribute<BytesPerElementAttribute>() is { } b
            ? n * b.Bytes : null);

    private static double? ParamN(BenchmarkCase c) =>
        c.Parameters.Items.FirstOrDefault(p => p.Name == "N")?.Value is { } v ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : null;

    public string Id => $"{nameof(ThroughputColumn)}.{ColumnName}";
    public string ColumnName { get; } = columnName;
    public string Legend { get; } = legend;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? work = workPerOperation(benchmarkCase);
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (work is null || stats is null || !(stats.Median > 0)) return "-";
        return (work.Value / stats.Median).ToString("F2", CultureInfo.InvariantCulture); // units per ns = 10^9 per s
    }

    public override string ToString() => ColumnName;
}

/// <summary>Bytes a benchmark method reads plus writes per element of its N-element operands.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BytesPerElementAttribute(int bytes) : Attribute
{
    public int Bytes { get; } = bytes;
}
