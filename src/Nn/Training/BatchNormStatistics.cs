using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>
/// Recomputes batch-norm running statistics for the final weights (PyTorch's <c>torch.optim.swa_utils.update_bn</c>).
/// Running statistics are an exponential average over the whole run, so after a fast-moving training (a high learning
/// rate, weight averaging, a few epochs) they describe earlier weights, and eval-mode accuracy suffers; one pass over
/// training data in training mode, with a cumulative average, makes them the statistics of the weights as they are.
/// </summary>
public static class BatchNormStatistics
{
    /// <summary>
    /// Resets the running statistics of every batch norm of <paramref name="model"/> that tracks them (except those kept
    /// in eval mode, <see cref="Module.KeepEval"/>, such as a frozen backbone's), then runs the model in training mode
    /// without gradients over <paramref name="loader"/> (at most <paramref name="maxBatches"/> batches) with a cumulative
    /// average (momentum null); restores each momentum and the model's mode. Returns the number of batches seen.
    /// </summary>
    /// <exception cref="ArgumentValueException">The loader has no batch (checked before anything changes).</exception>
    public static int Update(Module model, DataLoader loader, int? maxBatches = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        const string op = "update_bn";
        if (maxBatches is < 1) throw new ArgumentValueException(op, $"maxBatches must be at least 1, got {maxBatches}");
        if (loader.Count == 0) throw new ArgumentValueException(op, "the loader has no batch, so no statistics could be computed (nothing was changed)");
        var norms = new List<(BatchNormBase Bn, double? Momentum)>();
        foreach (var (_, m) in model.NamedModules())
            if (m is BatchNormBase { TrackRunningStats: true, KeepEval: false } bn) norms.Add((bn, bn.Momentum));
        if (norms.Count == 0) return 0;
        bool wasTraining = model.Training;
        int seen = 0;
        try
        {
            foreach (var (bn, _) in norms) { bn.ResetRunningStats(); bn.Momentum = null; }
            model.Train();
            using var noGrad = Tensor.NoGrad();
            foreach (var batch in loader)
            {
                using var owned = batch;
                using var scope = Tensor.NewDisposeScope();
                model.Call(batch.Images);
                if (++seen == maxBatches) break;
            }
        }
        finally
        {
            foreach (var (bn, momentum) in norms) bn.Momentum = momentum;
            if (!wasTraining) model.Eval();
        }
        return seen;
    }
}
