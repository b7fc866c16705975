namespace Engine.Cli;

/// <summary>Up-front checks of the files and folders options name, so a run fails at once with one line, not after setup or mid-training.</summary>
internal static class OptionFiles
{
    /// <summary>Raises <see cref="OptionException"/> unless <paramref name="path"/> (when given) is a readable file.</summary>
    public static void ReadableFile(string option, string? path)
    {
        if (path is null) return;
        if (Directory.Exists(path)) throw new OptionException(option, path, "is a folder, not a file");
        if (!File.Exists(path)) throw new OptionException(option, path, "no such file");
        try
        {
            using var _ = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        }
        catch (UnauthorizedAccessException) { throw new OptionException(option, path, "cannot be read: permission denied"); }
        catch (IOException e) { throw new OptionException(option, path, $"cannot be read: {e.Message}"); }
    }

    /// <summary>Creates <paramref name="path"/> if needed and raises <see cref="OptionException"/> unless a file can be written in it.</summary>
    public static void WritableFolder(string option, string path)
    {
        if (File.Exists(path)) throw new OptionException(option, path, "is a file, not a folder");
        try
        {
            Directory.CreateDirectory(path);
            var probe = Path.Combine(path, $".engine-write-check-{Environment.ProcessId}");
            using var _ = new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (UnauthorizedAccessException) { throw new OptionException(option, path, "cannot be written: permission denied"); }
        catch (IOException e) { throw new OptionException(option, path, $"cannot be written: {e.Message}"); }
    }
}
