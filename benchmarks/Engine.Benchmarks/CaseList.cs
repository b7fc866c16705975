namespace Engine.Benchmarks;

/// <summary>
/// A case list shared with a python peer script: comma-separated items of colon-separated fields ("lenet5:28:128,…"),
/// from an environment variable (so the shell script gives both sides the same list) or a default.
/// </summary>
internal static class CaseList
{
    /// <summary>Each item of <paramref name="variable"/>'s value (or <paramref name="defaults"/> when unset or empty), with its fields.</summary>
    public static IEnumerable<(string Item, string[] Fields)> Read(string variable, string defaults)
    {
        string spec = Environment.GetEnvironmentVariable(variable) is { Length: > 0 } e ? e : defaults;
        foreach (var item in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            yield return (item, item.Split(':'));
    }
}
