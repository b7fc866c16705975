namespace Engine.Kernels;

/// <summary>
/// Batch norm over contiguous x seen as [N, C, S]: the shape, the mode and the hyper-parameters (the backward reads
/// only the shape and <see cref="Training"/>).
/// </summary>
/// <param name="N">Batch size.</param>
/// <param name="C">Channels (one mean, variance, weight and bias each).</param>
/// <param name="S">Elements per channel and sample (the product of the spatial dims).</param>
/// <param name="Training">Batch statistics (and running-stat updates) rather than the running ones.</param>
/// <param name="Momentum">PyTorch's momentum: running = (1 − m)·running + m·batch.</param>
/// <param name="Eps">Added to the variance before the square root.</param>
public sealed record BatchNormParams(int N, int C, int S, bool Training, double Momentum = 0.1, double Eps = 1e-5);

/// <summary>Batch norm's per-channel operands; any may be null (the running stats are required in eval mode).</summary>
public readonly record struct BatchNormChannels(StridedView? Weight, StridedView? Bias, StridedView? RunningMean, StridedView? RunningVar);

/// <summary>The per-channel mean and inverse standard deviation the forward used, which the backward reads.</summary>
public readonly record struct BatchNormSaved(StridedView Mean, StridedView InvStd);

/// <summary>Batch norm's gradients; any may be null (not wanted).</summary>
public readonly record struct BatchNormGrads(StridedView? Dx, StridedView? Dw, StridedView? Db);

/// <summary>
/// Local response normalisation across channels of contiguous x seen as [N, C, S]:
/// y = x / (k + α/size · Σ x²)^β over the <see cref="Size"/> neighbouring channels.
/// </summary>
public sealed record LrnParams(int N, int C, int S, int Size, double Alpha, double Beta, double K);
