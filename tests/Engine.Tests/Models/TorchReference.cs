using System.Diagnostics;
using System.Text.Json;
using Engine.Models;
using Engine.Nn;

namespace Engine.Tests.Models;

/// <summary>
/// The PyTorch side of the model checks: Debian's <c>python3-torch</c>/<c>python3-torchvision</c> (1.13 / 0.14) build a
/// model, and <c>Reference/torch_reference.py</c> writes its state_dict, an input and its outputs (eval mode, training
/// mode, running statistics after the training-mode forward). A test that needs it calls <see cref="Require"/>, which
/// reports Ignored with the reason when PyTorch cannot be run here.
/// </summary>
internal static class TorchReference
{
    /// <summary>The test category of every check against PyTorch.</summary>
    public const string Category = "TorchReference";

    private static readonly Lazy<(string? Python, string Reason)> s_python = new(Probe);

    /// <summary>The folder holding the reference script and the torchvision facts.</summary>
    public static string ReferenceDir => Path.Combine(AppContext.BaseDirectory, "Models", "Reference");

    private static (string?, string) Probe()
    {
        string reason = "no python3 found";
        foreach (var py in new[] { "/usr/bin/python3", "python3" })
        {
            var (rc, output) = RunProcess(py, ["-c", "import torch, torchvision; print(torch.__version__, torchvision.__version__)"], TimeSpan.FromMinutes(2));
            if (rc == 0) return (py, output.Trim());
            reason = $"{py}: torch/torchvision not importable ({output.Trim().Split('\n')[^1]})";
        }
        return (null, reason + "; install Debian's python3-torch and python3-torchvision (.ci/run does)");
    }

    /// <summary>Ignores the calling test unless PyTorch and torchvision can be run.</summary>
    public static string Require()
    {
        var (py, reason) = s_python.Value;
        if (py is null) Assert.Ignore(reason);
        return py!;
    }

    private static (int ExitCode, string Output) RunProcess(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); return (-1, $"timed out after {timeout}"); }
            return (p.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }

    /// <summary>
    /// Runs the reference script for <paramref name="model"/> into a fresh temporary folder and returns it; <paramref name="frames"/>
    /// &gt; 0 makes the input a clip batch [N, C, T, H, W].
    /// </summary>
    public static string Generate(string model, int size, int batch = 2, int classes = 1000, int channels = 3, int seed = 0, int frames = 0) =>
        RunScript("torch_reference.py", $"ref-{model}", "--model", model, "--size", $"{size}", "--batch", $"{batch}",
            "--classes", $"{classes}", "--channels", $"{channels}", "--seed", $"{seed}", "--frames", $"{frames}");

    /// <summary>
    /// Runs <paramref name="script"/> (a file in <see cref="ReferenceDir"/>) with <paramref name="args"/> and
    /// <c>--out</c> a fresh temporary folder named after <paramref name="tag"/>, and returns that folder; the test fails
    /// with the script's output when it exits with an error.
    /// </summary>
    public static string RunScript(string script, string tag, params string[] args)
    {
        string py = Require();
        string dir = Path.Combine(Path.GetTempPath(), $"engine-{tag}-{Guid.NewGuid():N}");
        var (rc, output) = RunProcess(py, [Path.Combine(ReferenceDir, script), .. args, "--out", dir], TimeSpan.FromMinutes(5));
        if (rc != 0) Assert.Fail($"{script} {string.Join(' ', args)} failed ({rc}):\n{output}");
        return dir;
    }

    /// <summary>
    /// The full check of a registered variant against PyTorch: the engine model loads PyTorch's state_dict strictly,
    /// and its eval-mode logits, training-mode logits (and auxiliary logits) and updated running statistics agree
    /// within <paramref name="rtol"/> of each output's scale. PyTorch builds it with the variant's
    /// <see cref="ModelInfo.TorchvisionBuilder"/>; <paramref name="frames"/> &gt; 0 feeds clips of that length.
    /// </summary>
    public static void CheckVariant(string name, int size, int batch = 2, int classes = 1000, int channels = 3, double rtol = 1e-4, int frames = 0)
    {
        int seed = TestContext.CurrentContext.Random.Next(1, 1 << 30);
        string dir = Generate(ModelRegistry.Info(name).TorchvisionBuilder, size, batch, classes, channels, seed, frames);
        try
        {
            using var scope = Tensor.NewDisposeScope();
            using var model = ModelRegistry.Create(name, new ModelOptions(classes, channels, new Generator(1)));
            model.Load(Path.Combine(dir, "weights.safetensors"), strict: true);
            foreach (var (_, m) in model.NamedModules())
            {
                if (m is Dropout d) d.P = 0;
                else if (m is Dropout2d d2) d2.P = 0;
                else if (m is StochasticDepth sd) sd.P = 0;
            }
            var io = SafeTensors.Load(Path.Combine(dir, "io.safetensors"));
            var x = io["input"];
            using (Tensor.NoGrad())
            {
                model.Eval();
                AssertScaledClose(model.Call(x), io["eval.logits"], rtol, $"{name} eval logits");
                model.Train();
                if (model is IAuxiliaryLogits withAux)
                {
                    var (logits, aux) = withAux.ForwardWithAuxiliary(x);
                    AssertScaledClose(logits, io["train.logits"], rtol, $"{name} train logits", Exact(io, "train.logits"));
                    int nAux = io.Keys.Count(k => k.StartsWith("train.aux.", StringComparison.Ordinal));
                    Assert.That(aux, Has.Count.EqualTo(nAux), $"{name}: auxiliary heads");
                    for (int i = 0; i < nAux; i++)
                        AssertScaledClose(aux[i].Logits, io[$"train.aux.{i}"], rtol, $"{name} auxiliary logits {i} ({aux[i].Name})", Exact(io, $"train.aux.{i}"));
                }
                else AssertScaledClose(model.Call(x), io["train.logits"], rtol, $"{name} train logits", Exact(io, "train.logits"));
            }
            var buffers = model.NamedBuffers().ToDictionary(b => b.Name, b => b.Buffer);
            int checkedBuffers = 0;
            foreach (var key in io.Keys.Where(k => k.StartsWith("after.", StringComparison.Ordinal)))
            {
                string bn = key["after.".Length..];
                Assert.That(buffers, Does.ContainKey(bn), $"{name}: buffer {bn}");
                if (bn.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                    Assert.That(buffers[bn].ToDoubleArray(), Is.EqualTo(io[key].ToDoubleArray()), $"{name}: {bn}");
                else AssertScaledClose(buffers[bn], io[key], rtol, $"{name}: {bn} after the training-mode forward", Exact(io, key));
                checkedBuffers++;
            }
            TestContext.Out.WriteLine($"{name} at {(frames > 0 ? $"{frames}x" : "")}{size}x{size}: logits and {checkedBuffers} running-statistics buffers match PyTorch (seed {seed})");
        }
        finally { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } }
    }

    /// <summary>PyTorch's float64 result for output <paramref name="key"/>, when the reference wrote one.</summary>
    private static Tensor? Exact(StateDict io, string key) => io.ContainsKey("f64." + key) ? io["f64." + key] : null;

    /// <summary>
    /// max |actual − expected| ≤ max(rtol · max(|expected|, 1e-3), 3 · max |expected − <paramref name="exact"/>|):
    /// closeness relative to the output's scale, widened to three times PyTorch's own float32 error when its float64
    /// result is given (training-mode BatchNorm over a batch of 2 at a 1×1 or 2×2 map divides by a standard
    /// deviation near √eps, so float32 rounding is amplified there in any implementation, PyTorch's included).
    /// </summary>
    public static void AssertScaledClose(Tensor actual, Tensor expected, double rtol, string what, Tensor? exact = null)
    {
        double allowance = 0;
        if (exact is not null)
        {
            var (f32, f64) = (expected.ToDoubleArray(), exact.ToDoubleArray());
            for (int i = 0; i < f32.Length; i++) allowance = Math.Max(allowance, 3 * Math.Abs(f32[i] - f64[i]));
        }
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        var a = actual.ToDoubleArray();
        var e = expected.ToDoubleArray();
        double scale = 1e-3, worst = 0;
        int at = -1;
        foreach (var v in e) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs(a[i] - e[i]);
            if (!(d <= worst)) { worst = d; at = i; }
        }
        Assert.That(worst <= Math.Max(rtol * scale, allowance), $"{what}: max |difference| {worst:G4} at element {at} (got {(at >= 0 ? a[at] : 0):G6}, " +
            $"expected {(at >= 0 ? e[at] : 0):G6}) exceeds {rtol:G2} x output scale {scale:G4}" +
            (exact is null ? "" : $" and 3 x PyTorch's float32 error {allowance / 3:G4}"));
    }

    // shared/ref's facts, parsed once: test discovery asks for every registered variant.
    private static readonly Lazy<Dictionary<string, (string Key, long[] Shape)[]>> s_keys = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceDir, "torchvision_state_dict_keys.json")));
        var all = new Dictionary<string, (string, long[])[]>();
        foreach (var model in doc.RootElement.EnumerateObject())
            all[model.Name] = [.. model.Value.EnumerateArray().Select(row => (row[0].GetString()!, row[1].EnumerateArray().Select(v => v.GetInt64()).ToArray()))];
        return all;
    });

    private static readonly Lazy<Dictionary<string, long>> s_counts = new(() =>
        JsonSerializer.Deserialize<Dictionary<string, long>>(File.ReadAllText(Path.Combine(ReferenceDir, "torchvision_param_counts.json")))!);

    /// <summary>torchvision's state_dict keys and shapes for builder <paramref name="name"/> ("resnet18", "video.r3d_18"; from shared/ref), or null when not listed.</summary>
    public static IReadOnlyList<(string Key, long[] Shape)>? TorchvisionKeys(string name) => s_keys.Value.GetValueOrDefault(name);

    /// <summary>torchvision's parameter count for builder <paramref name="name"/> (from shared/ref), or null when not listed.</summary>
    public static long? TorchvisionParamCount(string name) => s_counts.Value.TryGetValue(name, out var v) ? v : null;
}
