namespace Engine.Nn;

/// <summary>
/// Batch normalisation over channel dim 1 (PyTorch's _BatchNorm): affine weight (ones) and bias (zeros),
/// buffers running_mean (zeros), running_var (ones) and num_batches_tracked. With momentum null the running
/// statistics are a cumulative average (factor 1/num_batches_tracked), as PyTorch.
/// </summary>
public abstract class BatchNormBase : Module
{
    private readonly int[] _ranks;
    private readonly string _dims;

    /// <summary>Number of channels.</summary>
    public long NumFeatures { get; }
    /// <summary>Added to the variance.</summary>
    public double Eps { get; }
    /// <summary>Running-average factor, or null for a cumulative average (settable, as PyTorch's attribute: <see cref="BatchNormStatistics"/> uses it).</summary>
    public double? Momentum { get; set; }
    /// <summary>Whether running statistics are kept (otherwise batch statistics are used in eval too).</summary>
    public bool TrackRunningStats { get; }

    /// <summary>Scale [C], or null without affine.</summary>
    public Tensor? Weight => Param("weight");
    /// <summary>Shift [C], or null without affine.</summary>
    public Tensor? Bias => Param("bias");
    /// <summary>Running mean [C].</summary>
    public Tensor? RunningMean => Buffer("running_mean");
    /// <summary>Running variance [C].</summary>
    public Tensor? RunningVar => Buffer("running_var");
    /// <summary>Batches seen in training (int64 scalar).</summary>
    public Tensor? NumBatchesTracked => Buffer("num_batches_tracked");

    private protected BatchNormBase(long numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats, DType dtype, int[] ranks, string dims)
    {
        NumFeatures = numFeatures; Eps = eps; Momentum = momentum; TrackRunningStats = trackRunningStats;
        _ranks = ranks; _dims = dims;
        if (affine)
        {
            RegisterParameter("weight", Tensor.Ones([numFeatures], dtype));
            RegisterParameter("bias", Tensor.Zeros([numFeatures], dtype));
        }
        if (trackRunningStats)
        {
            RegisterBuffer("running_mean", Tensor.Zeros([numFeatures], dtype));
            RegisterBuffer("running_var", Tensor.Ones([numFeatures], dtype));
            RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int64));
        }
    }

    /// <summary>Running statistics back to their initial values (mean 0, variance 1, no batches tracked), as PyTorch's reset_running_stats.</summary>
    public void ResetRunningStats()
    {
        using var _ = Tensor.NoGrad();
        RunningMean?.FillInPlace(0);
        RunningVar?.FillInPlace(1);
        NumBatchesTracked?.FillInPlace(0);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (!_ranks.Contains(input.Rank))
            throw new ShapeException(GetType().Name, $"expected {_dims} input, got shape {Kernels.ShapeUtil.Format(input.Shape)}");
        double factor = Momentum ?? 0;
        if (Training && NumBatchesTracked is { } n)
        {
            using (Tensor.NoGrad()) using (var next = n.Add(1.0)) n.CopyFromUnchecked(next);
            if (Momentum is null) factor = 1.0 / n.Item(); // cumulative moving average
        }
        // Batch statistics in training (updating the running ones when kept), or always when none are kept.
        return Functional.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, training: Training || RunningMean is null, factor, Eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{NumFeatures}, eps={Eps}, momentum={(Momentum is null ? "None" : Momentum.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))}, affine={(Weight is null ? "False" : "True")}, track_running_stats={(TrackRunningStats ? "True" : "False")}";
}

/// <summary>Batch norm over (N, C) or (N, C, L).</summary>
public sealed class BatchNorm1d(long numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType dtype = DType.Float32)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, dtype, [2, 3], "2-D or 3-D (N, C[, L])");

/// <summary>Batch norm over (N, C, H, W).</summary>
public sealed class BatchNorm2d(long numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType dtype = DType.Float32)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, dtype, [4], "4-D (N, C, H, W)");

/// <summary>Batch norm over (N, C, D, H, W).</summary>
public sealed class BatchNorm3d(long numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true, DType dtype = DType.Float32)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, dtype, [5], "5-D (N, C, D, H, W)");
