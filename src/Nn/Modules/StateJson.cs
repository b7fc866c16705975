using System.Text.Json;
using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// Typed reads of the JSON values of a saved state (<see cref="IStateful"/>): a missing key or a value of the wrong
/// kind raises <see cref="ArgumentValueException"/> naming the owner and the key, never the
/// InvalidOperationException, FormatException or NullReferenceException that System.Text.Json.Nodes gives.
/// </summary>
internal static class StateJson
{
    private static JsonNode Node(JsonObject o, string key, string owner) =>
        o[key] ?? throw new ArgumentValueException(owner, $"the state has no '{key}'");

    private static ArgumentValueException Wrong(string owner, string key, JsonNode? node, string expected) =>
        new(owner, $"the state's '{key}' is {Describe(node)}, not {expected}");

    private static string Describe(JsonNode? node) => node?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {node.ToJsonString()}",
        _ => node.ToJsonString(),
    };

    /// <summary>The value of <paramref name="key"/> as <typeparamref name="T"/> (string, bool, int, long, double).</summary>
    public static T Value<T>(JsonObject o, string key, string owner, string expected) => Value<T>(Node(o, key, owner), key, owner, expected);

    /// <summary><paramref name="node"/> (found under <paramref name="key"/>) as <typeparamref name="T"/>.</summary>
    public static T Value<T>(JsonNode? node, string key, string owner, string expected)
    {
        if (node is JsonValue v && v.TryGetValue<T>(out var result) && result is not null) return result;
        throw Wrong(owner, key, node, expected);
    }

    /// <summary>A finite number.</summary>
    public static double Double(JsonObject o, string key, string owner) => Finite(Value<double>(o, key, owner, "a number"), key, owner);

    /// <summary>A finite number held by <paramref name="node"/>.</summary>
    public static double Double(JsonNode? node, string key, string owner) => Finite(Value<double>(node, key, owner, "a number"), key, owner);

    private static double Finite(double x, string key, string owner) =>
        double.IsFinite(x) ? x : throw new ArgumentValueException(owner, $"the state's '{key}' is {x}, not a finite number");

    /// <summary>A 32-bit integer.</summary>
    public static int Int(JsonObject o, string key, string owner) => Value<int>(o, key, owner, "a 32-bit integer");

    /// <summary>An object.</summary>
    public static JsonObject Object(JsonObject o, string key, string owner)
    {
        var node = Node(o, key, owner);
        return node as JsonObject ?? throw Wrong(owner, key, node, "an object");
    }

    /// <summary>An array.</summary>
    public static JsonArray Array(JsonObject o, string key, string owner)
    {
        var node = Node(o, key, owner);
        return node as JsonArray ?? throw Wrong(owner, key, node, "an array");
    }

    /// <summary>An array of finite numbers.</summary>
    public static double[] Doubles(JsonObject o, string key, string owner)
    {
        var a = Array(o, key, owner);
        var result = new double[a.Count];
        for (int i = 0; i < result.Length; i++) result[i] = Double(a[i], $"{key}[{i}]", owner);
        return result;
    }
}
