using System.Reflection;

namespace Engine.Kernels.Gpu;

/// <summary>
/// The PTX modules kept as files: the <c>.ptx</c> files under <c>src/Kernels/Gpu/Kernels</c>, embedded in this assembly
/// as resources named <c>ptx/&lt;file&gt;.ptx</c> and loaded by file name (without the extension). Most are written by
/// hand; <c>softmax.ptx</c> is written by <see cref="Float32SoftmaxPtx"/> (a test checks the two agree). Each file
/// starts with a header comment saying what its kernels compute, the launch shape they expect and how their memory
/// traffic was counted. (The kernels generated at run time are not here: <see cref="PtxGen"/>, <see cref="ReduceGen"/>
/// and <see cref="SoftmaxGen"/> write them from C# templates.)
/// </summary>
public static class EmbeddedPtx
{
    private const string Prefix = "ptx/";
    private static readonly Assembly s_assembly = typeof(EmbeddedPtx).Assembly;
    private static readonly Lazy<string[]> s_names = new(() =>
        [.. s_assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".ptx", StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..^4])
            .Order(StringComparer.Ordinal)]);

    /// <summary>The file names (without <c>.ptx</c>) of every embedded module, sorted.</summary>
    public static IReadOnlyList<string> Names => s_names.Value;

    /// <summary>The PTX text of module <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentValueException">No such module is embedded.</exception>
    public static string Text(string name)
    {
        using var s = s_assembly.GetManifestResourceStream(Prefix + name + ".ptx")
            ?? throw new ArgumentValueException("ptx", $"no embedded PTX module '{name}' (have: {string.Join(", ", Names)})");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}
