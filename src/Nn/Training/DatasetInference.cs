using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>
/// Runs a model over a whole dataset in evaluation mode without gradients, in order and without shuffling, and
/// gathers one row per sample: logits for teacher predictions and pseudo-labels, or any other per-batch map
/// (penultimate features for k-NN). The model's mode is restored afterwards.
/// </summary>
public static class DatasetInference
{
    /// <summary>
    /// Concatenates <paramref name="map"/>(model, images) over the batches of <paramref name="data"/> (images through
    /// <paramref name="transform"/>, which should be deterministic, e.g. only normalisation) into one [N, …] tensor
    /// on <paramref name="device"/>, row i belonging to sample i. The map must return new memory, not a view of the batch
    /// images (the loader reuses their memory).
    /// </summary>
    public static Tensor Map(Module model, IDataset data, Func<Module, Tensor, Tensor> map, Transform? transform = null, int batchSize = 256,
        Device? device = null, int workers = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) throw new RecipeException("inference", "the dataset is empty");
        bool wasTraining = model.Training;
        model.Eval();
        var parts = new List<Tensor>();
        try
        {
            using var noGrad = Tensor.NoGrad();
            using var loader = new DataLoader(data, batchSize, transform: transform, numWorkers: workers, seed: 0, device: device);
            foreach (var batch in loader.GetEpoch(0))
            {
                using var scope = Tensor.NewDisposeScope();
                using (batch) parts.Add(map(model, batch.Images).Contiguous().MoveToOuterDisposeScope());
            }
            return Tensor.Cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
            model.Train(wasTraining);
        }
    }

    /// <summary>The model's logits for every sample, [N, classes].</summary>
    public static Tensor Logits(Module model, IDataset data, Transform? transform = null, int batchSize = 256, Device? device = null, int workers = 0) =>
        Map(model, data, (m, x) => m.Call(x), transform, batchSize, device, workers);
}
