using Engine.Models;
using Engine.Nn;

namespace Engine.Cli;

/// <summary>The outcome of <see cref="GpuSelfCheck.Run"/>: whether the device may train, and why not.</summary>
/// <param name="Passed">True when the device's training step matched the CPU's.</param>
/// <param name="Detail">"passed", or the first line of the exception / the first mismatch.</param>
public sealed record GpuSelfCheckResult(bool Passed, string Detail);

/// <summary>
/// A quick check that a GPU device trains correctly before <c>--device auto</c> picks it: one training step of the
/// registered LeNet-5 (forward, cross-entropy, backward, SGD with momentum and weight decay) on a small fixed batch,
/// on the CPU and on the device from identical weights; the loss, every gradient and every updated parameter must agree.
/// </summary>
/// <remarks>
/// Tolerance: a real GPU runs the float32 convolutions and matrix products on TF32 tensor cores (inputs rounded to a
/// 10-bit mantissa, relative error up to 2⁻¹¹ ≈ 4.9e-4 per operand), and cuDNN/cuBLAS sum in another order than the
/// CPU kernels. A near-tie in a max-pool window can then route one gradient term to a neighbouring position, so each
/// gradient is compared normwise (‖d − c‖₂ ≤ tol·‖c‖₂), not element by element, and so is the update SGD gave each
/// parameter (the weights before it are identical). On the CPU, rounding the images and weights to TF32 moves the
/// gradients by at most 4e-4 of their norm (a test keeps that under a third of <see cref="Tolerance"/>), while a wrong
/// kernel (a transposed operand, a missed term, a wrong index) is off by a large fraction of the norm.
/// </remarks>
public static class GpuSelfCheck
{
    /// <summary>The relative tolerance on the loss, and on each gradient and each update in norm.</summary>
    public const double Tolerance = 5e-3;

    /// <summary>The model checked.</summary>
    public const string Model = "lenet5";

    private const int Batch = 4;
    private const ulong Seed = 20241123;
    private const double Lr = 0.05, Momentum = 0.9, WeightDecay = 5e-4;

    /// <summary>
    /// Runs the check on <paramref name="device"/>. Never throws for a device that fails: an engine, CUDA or device error
    /// (or any other exception from the GPU path) gives a failed result naming its first line.
    /// </summary>
    public static GpuSelfCheckResult Run(Device device)
    {
        try
        {
            var mismatch = Compare(FixedStep(Device.Cpu), FixedStep(device), Tolerance);
            return mismatch is null ? new(true, "passed") : new(false, mismatch);
        }
        catch (Exception e)
        {
            return new(false, FirstLine(e));
        }
    }

    /// <summary>What one training step produced, copied to the host: the loss, and per parameter its gradient and its update.</summary>
    internal sealed record StepResult(double Loss, IReadOnlyList<(string Name, double[] Grad, double[] Update)> Parameters);

    /// <summary>The model (on the CPU, weights from the fixed seed) and the batch (images, labels) of the check.</summary>
    internal static (Nn.Module Model, Tensor Images, Tensor Labels) Fixture()
    {
        var shape = ModelRegistry.InputShape(Model);
        var g = new Generator(Seed);
        var model = ModelRegistry.Create(Model, new ModelOptions(10, (int)shape[0], g));
        var x = Tensor.Randn([Batch, .. shape], DType.Float32, g).DetachFromDisposeScope();
        var y = Tensor.RandInt(0, 10, [Batch], generator: g).DetachFromDisposeScope();
        return (model, x, y);
    }

    private static StepResult FixedStep(Device device)
    {
        var (model, x, y) = Fixture();
        using (model)
        using (x)
        using (y)
            return Step(device, model, x, y);
    }

    /// <summary>
    /// Moves <paramref name="model"/> to <paramref name="device"/> and runs one training step on the batch; every tensor
    /// it made (activations, gradients, optimizer state) is released before it returns. The caller disposes the model.
    /// </summary>
    internal static StepResult Step(Device device, Nn.Module model, Tensor images, Tensor labels)
    {
        using var scope = Tensor.NewDisposeScope();
        var before = model.NamedParameters().Select(p => p.Parameter.ToDoubleArray()).ToList();
        model.To(device);
        try
        {
            using var opt = new SGD(model.Parameters(), lr: Lr, momentum: Momentum, weightDecay: WeightDecay);
            var loss = Functional.CrossEntropy(model.Call(images.To(device)), labels.To(device));
            loss.Backward();
            double l = loss.Item();
            var grads = model.NamedParameters().Select(p => p.Parameter.Grad?.ToDoubleArray()
                ?? throw new DeviceException("self_check", $"parameter {p.Name} has no gradient on {device}")).ToList();
            opt.Step();
            var result = model.NamedParameters().Select((p, i) =>
            {
                var after = p.Parameter.ToDoubleArray();
                for (int j = 0; j < after.Length; j++) after[j] -= before[i][j];
                return (p.Name, grads[i], after);
            }).ToList();
            return new(l, result);
        }
        finally
        {
            model.ZeroGrad(setToNone: true); // gradients live outside the scope
        }
    }

    /// <summary>
    /// Null when <paramref name="dev"/> matches <paramref name="cpu"/>: the loss within <paramref name="tol"/> relative,
    /// each gradient and each update within <paramref name="tol"/> of its norm. Else the first mismatch, in words.
    /// </summary>
    internal static string? Compare(StepResult cpu, StepResult dev, double tol)
    {
        if (!(Math.Abs(dev.Loss - cpu.Loss) <= tol * Math.Abs(cpu.Loss)))
            return $"loss {dev.Loss:G6} on the device, {cpu.Loss:G6} on the CPU";
        if (dev.Parameters.Count != cpu.Parameters.Count)
            return $"{dev.Parameters.Count} parameters on the device, {cpu.Parameters.Count} on the CPU";
        for (int i = 0; i < cpu.Parameters.Count; i++)
        {
            var (name, cg, cu) = cpu.Parameters[i];
            var (_, dg, du) = dev.Parameters[i];
            double err = RelativeNormError(dg, cg);
            if (!(err <= tol)) return $"gradient of {name}: relative error {err:G3} (tolerance {tol:G3})";
            err = RelativeNormError(du, cu);
            if (!(err <= tol)) return $"SGD update of {name}: relative error {err:G3} (tolerance {tol:G3})";
        }
        return null;
    }

    // ‖d − c‖₂ / ‖c‖₂ (0 when both are zero); NaN when the lengths differ or anything is not finite.
    private static double RelativeNormError(double[] d, double[] c)
    {
        if (d.Length != c.Length) return double.NaN;
        double diff = 0, norm = 0;
        for (int i = 0; i < c.Length; i++)
        {
            diff += (d[i] - c[i]) * (d[i] - c[i]);
            norm += c[i] * c[i];
        }
        return diff == 0 ? 0 : Math.Sqrt(diff / norm);
    }

    private static string FirstLine(Exception e)
    {
        var msg = e.Message;
        int nl = msg.IndexOfAny(['\r', '\n']);
        var line = nl < 0 ? msg : msg[..nl];
        return e is EngineException ? line : $"{e.GetType().Name}: {line}";
    }
}
