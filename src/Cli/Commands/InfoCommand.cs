using System.CommandLine;
using System.Runtime.Intrinsics.X86;
using Engine.Kernels.Cuda;

namespace Engine.Cli;

/// <summary><c>engine info</c>: the devices this machine offers and the library versions found.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var cmd = new Command("info", "Show the CPU, CUDA driver, GPUs, cuBLAS/cuDNN libraries and memory.");
        cmd.SetAction(_ =>
        {
            Console.Write(Describe());
            return 0;
        });
        return cmd;
    }

    /// <summary>The report printed by <c>engine info</c>.</summary>
    public static string Describe()
    {
        var w = new StringWriter();
        w.WriteLine($"Engine {typeof(Tensor).Assembly.GetName().Version} on .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        w.WriteLine($"CPU: {CpuName()}, {Environment.ProcessorCount} logical cores, SIMD: {Simd()}");
        var gc = GC.GetGCMemoryInfo();
        w.WriteLine($"Host memory: {gc.TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB available to the process");
        if (CudaProbe.IsAvailable)
        {
            int v = CudaProbe.DriverVersion;
            w.WriteLine($"CUDA driver: CUDA {v / 1000}.{v % 1000 / 10}");
            foreach (var d in CudaProbe.Devices)
                w.WriteLine($"  cuda:{d.Index}: {d.Name}, compute capability {d.ComputeMajor}.{d.ComputeMinor}, {d.TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB");
            w.WriteLine($"cuBLAS: {CudaProbe.CublasLibrary}");
            long dnn = CudaProbe.CudnnVersion;
            w.WriteLine($"cuDNN: {CudaProbe.CudnnLibrary}{(dnn > 0 ? $" (version {dnn / 10000}.{dnn % 10000 / 100}.{dnn % 100})" : "")}");
        }
        else w.WriteLine($"CUDA: not available ({CudaProbe.Reason}); training runs on the CPU");
        return w.ToString();
    }

    private static string CpuName()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static string Simd()
    {
        var s = new List<string>();
        if (Avx512F.IsSupported) s.Add("AVX-512");
        if (Avx2.IsSupported) s.Add("AVX2");
        if (Fma.IsSupported) s.Add("FMA");
        if (System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported) s.Add("NEON");
        return s.Count == 0 ? "none" : string.Join(", ", s);
    }
}
