using System.Runtime.InteropServices;

namespace Engine.Kernels.Cuda;

/// <summary>
/// Finds the NVIDIA libraries the way a user's machine has them: the directories in
/// <c>ENGINE_CUDA_LIBRARY_PATH</c> (an override, ':'-separated), the loader's own search (LD_LIBRARY_PATH, ld.so.cache),
/// then <c>$CUDA_PATH</c>/<c>$CUDA_HOME</c> (lib64 and targets/x86_64-linux/lib), /usr/local/cuda/lib64,
/// /usr/local/cuda/targets/x86_64-linux/lib, every /usr/local/cuda-*/targets/x86_64-linux/lib, and /usr/lib/x86_64-linux-gnu.
/// </summary>
public static class NativeLibraries
{
    /// <summary>The directories searched after the loader, in order.</summary>
    public static IReadOnlyList<string> SearchDirectories()
    {
        var dirs = new List<string>();
        if (Environment.GetEnvironmentVariable("ENGINE_CUDA_LIBRARY_PATH") is { Length: > 0 } over)
            dirs.AddRange(over.Split(':', StringSplitOptions.RemoveEmptyEntries));
        foreach (var v in new[] { "CUDA_PATH", "CUDA_HOME" })
            if (Environment.GetEnvironmentVariable(v) is { Length: > 0 } root)
            {
                dirs.Add(Path.Combine(root, "lib64"));
                dirs.Add(Path.Combine(root, "targets", "x86_64-linux", "lib"));
            }
        dirs.Add("/usr/local/cuda/lib64");
        dirs.Add("/usr/local/cuda/targets/x86_64-linux/lib");
        try
        {
            if (Directory.Exists("/usr/local"))
                foreach (var d in Directory.GetDirectories("/usr/local", "cuda-*").OrderDescending())
                    dirs.Add(Path.Combine(d, "targets", "x86_64-linux", "lib"));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        dirs.Add("/usr/lib/x86_64-linux-gnu");
        return dirs;
    }

    /// <summary>
    /// Loads the first of <paramref name="names"/> (e.g. libcublas.so.13 then .so.12) found by the override, the
    /// loader or the search directories. Returns false with the places tried when none loads. A library found by path
    /// first has its <paramref name="companions"/> (file names, given the library's file name) loaded from the same
    /// directory, so its own dependencies resolve even when that directory is not on the loader's path.
    /// </summary>
    public static bool TryLoad(string[] names, out nint handle, out string detail, Func<string, string[]>? companions = null)
    {
        var tried = new List<string>();
        var overrideDirs = Environment.GetEnvironmentVariable("ENGINE_CUDA_LIBRARY_PATH") is { Length: > 0 } o
            ? o.Split(':', StringSplitOptions.RemoveEmptyEntries) : [];
        foreach (var name in names)
        {
            foreach (var d in overrideDirs)
                if (TryPath(Path.Combine(d, name), tried, companions, out handle)) { detail = Path.Combine(d, name); return true; }
            if (NativeLibrary.TryLoad(name, out handle)) { detail = name; return true; }
            tried.Add($"{name} (loader)");
            foreach (var d in SearchDirectories())
                if (TryPath(Path.Combine(d, name), tried, companions, out handle)) { detail = Path.Combine(d, name); return true; }
        }
        handle = 0;
        detail = $"not found; tried {string.Join(", ", tried.Distinct())}";
        return false;
    }

    private static bool TryPath(string path, List<string> tried, Func<string, string[]>? companions, out nint handle)
    {
        handle = 0;
        if (!File.Exists(path)) return false;
        tried.Add(path);
        if (companions is not null && Path.GetDirectoryName(path) is { } dir)
            foreach (var c in companions(Path.GetFileName(path)))
                if (File.Exists(Path.Combine(dir, c))) NativeLibrary.TryLoad(Path.Combine(dir, c), out _);
        return NativeLibrary.TryLoad(path, out handle);
    }
}
