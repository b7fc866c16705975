using Engine.Kernels;

namespace Engine.Nn;

/// <summary>Saving and loading a module's state dict as a safetensors file.</summary>
public static class ModuleSerialization
{
    /// <summary>
    /// Writes <paramref name="model"/>'s state dict (parameters and persistent buffers, PyTorch names and layouts) to
    /// <paramref name="path"/> as safetensors, atomically. PyTorch reads it with
    /// <c>model.load_state_dict(safetensors.torch.load_file(path))</c>.
    /// </summary>
    public static void Save(this Module model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        SafeTensors.Save(path, model.StateDict(), metadata);
    }

    /// <summary>
    /// Loads a safetensors state dict (e.g. written by <c>safetensors.torch.save_file(model.state_dict(), path)</c>)
    /// into <paramref name="model"/>, converting dtypes where they differ. The file is validated completely and
    /// matched against the model before anything is copied: a bad file raises <see cref="CheckpointException"/>, and
    /// shape mismatches (and, with <paramref name="strict"/>, missing or unexpected names) raise
    /// <see cref="StateDictException"/>; either way the model is unchanged.
    /// </summary>
    public static LoadResult Load(this Module model, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = Tensor.NewDisposeScope(); // the loaded tensors are copied into the model, then released
        var source = SafeTensors.Load(path);
        return model.LoadStateDict(ConvertForModel(source, model.StateDict()), strict);
    }

    /// <summary>
    /// <paramref name="source"/> with each tensor whose conversion to the model's dtype involves float16/bfloat16
    /// (which the CPU backend cannot convert) converted on the host, so that <see cref="Module.LoadStateDict"/> cannot
    /// fail half-way on a dtype. New tensors join the current dispose scope.
    /// </summary>
    internal static StateDict ConvertForModel(StateDict source, StateDict own)
    {
        var result = new StateDict();
        foreach (var (k, t) in source)
        {
            var tensor = t;
            if (own.ContainsKey(k) && own[k] is var dst && dst.DType != t.DType && t.Shape.SequenceEqual(dst.Shape)
                && (TensorBytes.IsHalf(t.DType) || TensorBytes.IsHalf(dst.DType)))
                tensor = TensorBytes.ConvertOnHost(t, dst.DType, "load_state_dict");
            result.Add(k, tensor);
        }
        return result;
    }

    /// <summary>What a strict <see cref="Module.LoadStateDict"/> of <paramref name="source"/> would find, without loading.</summary>
    internal static LoadResult Match(StateDict own, StateDict source)
    {
        var missing = own.Keys.Where(k => !source.ContainsKey(k)).ToList();
        var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = own.Keys.Where(k => source.ContainsKey(k) && !source[k].Shape.SequenceEqual(own[k].Shape))
            .Select(k => $"{k}: expected {ShapeUtil.Format(own[k].Shape)}, got {ShapeUtil.Format(source[k].Shape)}").ToList();
        return new LoadResult(missing, unexpected, mismatched);
    }
}
