using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Engine.Cli;

/// <summary>
/// The accepted range of every numeric option of every command, in one table, attached as a parse-time validator by
/// <see cref="Apply"/>: an out-of-range value is a parse error naming the option, the value and the range, before
/// any command runs. An option not in the table must be finite and at least 0 (counts, sizes, rates).
/// </summary>
internal static class OptionRanges
{
    private readonly record struct Range(double Min, double Max = double.PositiveInfinity, bool MinExclusive = false)
    {
        public bool Contains(double v) => double.IsFinite(v) && (MinExclusive ? v > Min : v >= Min) && v <= Max;

        public override string ToString()
        {
            string lo = MinExclusive ? $"above {F(Min)}" : $"at least {F(Min)}";
            return double.IsPositiveInfinity(Max) ? $"a finite value {lo}" : $"{lo} and at most {F(Max)}";
        }

        private static string F(double x) => x.ToString(CultureInfo.InvariantCulture);
    }

    private static readonly Range Default = new(0);

    private static readonly Dictionary<string, Range> s_ranges = new(StringComparer.Ordinal)
    {
        ["--epochs"] = new(1),
        ["--batch-size"] = new(1),
        ["--repeats"] = new(1),
        ["--lr"] = new(0, MinExclusive: true),
        ["--temperature"] = new(0, MinExclusive: true),
        ["--momentum"] = new(0, 1),
        ["--alpha"] = new(0, 1),
        ["--threshold"] = new(0, 1),
        ["--val-fraction"] = new(0, 0.99),
        ["--dropout"] = new(0, 0.99),
        ["--stochastic-depth"] = new(0, 0.99),
    };

    /// <summary>Adds the range validator to every numeric option of <paramref name="command"/> and its subcommands.</summary>
    public static void Apply(Command command)
    {
        foreach (var option in command.Options) Attach(option);
        foreach (var sub in command.Subcommands) Apply(sub);
    }

    private static void Attach(Option option)
    {
        var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
        if (type != typeof(int) && type != typeof(long) && type != typeof(double) && type != typeof(float)) return;
        var range = s_ranges.GetValueOrDefault(option.Name, Default);
        option.Validators.Add(result =>
        {
            if (result.Implicit) return; // the default, not the user's
            double? value = Read(result, option.ValueType);
            if (value is double v && !range.Contains(v))
                result.AddError($"{option.Name} {v.ToString(CultureInfo.InvariantCulture)}: must be {range}");
        });
    }

    private static double? Read(OptionResult r, Type t)
    {
        try
        {
            if (t == typeof(int)) return r.GetValueOrDefault<int>();
            if (t == typeof(int?)) return r.GetValueOrDefault<int?>();
            if (t == typeof(long)) return r.GetValueOrDefault<long>();
            if (t == typeof(long?)) return r.GetValueOrDefault<long?>();
            if (t == typeof(double)) return r.GetValueOrDefault<double>();
            if (t == typeof(double?)) return r.GetValueOrDefault<double?>();
            if (t == typeof(float)) return r.GetValueOrDefault<float>();
            return r.GetValueOrDefault<float?>();
        }
        catch (InvalidOperationException) { return null; } // not a number at all: the parser reports that itself
    }
}
