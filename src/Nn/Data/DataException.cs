namespace Engine.Nn.Data;

/// <summary>
/// Input data that cannot be read: a truncated or mislabelled IDX file, a wrong magic number, an image that will
/// not decode, labels that do not match the images. The message names the file and what is wrong; a dataset is
/// never returned half-loaded.
/// </summary>
public class DataException : EngineException
{
    /// <summary>The file (or resource) that is wrong, when there is one.</summary>
    public string? FileName { get; }

    /// <summary>Creates the exception; the message reads "<paramref name="op"/>: <paramref name="fileName"/>: <paramref name="message"/>".</summary>
    public DataException(string op, string? fileName, string message)
        : base(op, fileName is null ? message : $"{fileName}: {message}") => FileName = fileName;
}
