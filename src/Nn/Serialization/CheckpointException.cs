namespace Engine.Nn;

/// <summary>
/// A safetensors file or checkpoint that cannot be read or written: a malformed or truncated file, a header that
/// breaks the safetensors format, or a checkpoint that lacks a part the caller asked to restore. The message names
/// the file and the problem. When it is raised, nothing was returned and nothing was loaded.
/// </summary>
public sealed class CheckpointException(string op, string path, string problem, Exception? cause = null)
    : EngineException(op, $"'{path}': {problem}")
{
    /// <summary>The file concerned, as the caller named it.</summary>
    public string FilePath { get; } = path;

    /// <summary>The problem, without the file name.</summary>
    public string Problem { get; } = problem;

    /// <summary>The lower-level error (JSON, UTF-8, end of stream) that revealed the problem, if any.</summary>
    public Exception? Cause { get; } = cause;
}
