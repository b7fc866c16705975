using Engine.Models;
using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary>
/// How a dataset's images reach a registered model, shared by train and eval: the model is built for the
/// dataset's channels and classes, and the images are resized (bilinear) to a square side of at least the model's
/// minimum input. Resizing rather than zero-padding keeps an object filling the frame, as the ImageNet models saw
/// their images, so weights from PyTorch fine-tune at the scale they learnt.
/// </summary>
internal static class ModelInput
{
    /// <summary>
    /// The model a checkpoint of 'engine train' holds, from the values training recorded in it (model, image side,
    /// auxiliary heads): <paramref name="modelName"/> when given, else the recorded one (lenet5 for checkpoints that
    /// record none); the side training used, else the rule train applies by default.
    /// </summary>
    public static (ModelInfo Info, int Side, bool AuxLogits) FromCheckpoint(string checkpoint, string? modelName, DatasetInfo data)
    {
        var recorded = Checkpoint.ReadExtra(checkpoint);
        var info = ModelRegistry.Info(modelName ?? recorded.GetValueOrDefault("model") ?? "lenet5");
        int side = Side(info, data, int.TryParse(recorded.GetValueOrDefault("image_size"), System.Globalization.CultureInfo.InvariantCulture, out int s) ? s : 0);
        return (info, side, recorded.GetValueOrDefault("aux_logits") != "false");
    }

    /// <summary>The side images are given to <paramref name="info"/>: <paramref name="requested"/> when above 0, else max(dataset side, minimum input).</summary>
    public static int Side(ModelInfo info, DatasetInfo data, int requested = 0)
    {
        if (requested > 0 && requested < info.MinSize)
            throw new ArgumentValueException("image-size", $"{info.Name} needs inputs of at least {info.MinSize}x{info.MinSize}; got {requested}");
        return requested > 0 ? requested : Math.Max(Math.Max(data.Height, data.Width), info.MinSize);
    }

    /// <summary>Options for a model on <paramref name="data"/>: its channels and classes.</summary>
    public static ModelOptions Options(DatasetInfo data, Generator? generator = null) => new(data.NumClasses, data.Channels, generator);

    /// <summary>
    /// <paramref name="options"/>, without auxiliary heads when the weights in <paramref name="weightsFile"/> have none
    /// (torchvision's pretrained GoogLeNet drops them) and the model without them matches the file's names. The
    /// names are compared on a model built on the shape-only device, which costs nothing and draws no random numbers.
    /// </summary>
    public static ModelOptions FitAuxiliaryHeads(ModelInfo info, ModelOptions options, string weightsFile, TextWriter log)
    {
        if (!options.AuxLogits) return options;
        var names = SafeTensors.ReadHeader(weightsFile).Entries.Select(e => e.Name).ToHashSet();
        bool Fits(ModelOptions o)
        {
            Module m;
            using (Tensor.OnMetaDevice()) m = info.Create(o with { Generator = new Generator(0) });
            using (m) return m.StateDict().Keys.All(names.Contains);
        }
        if (Fits(options) || !Fits(options with { AuxLogits = false })) return options;
        log.WriteLine($"note: {weightsFile} has no auxiliary heads; {info.Name} is built and trained without them");
        return options with { AuxLogits = false };
    }

    /// <summary>The augmentation preset at <paramref name="side"/>, after a resize when the images are of another size, normalised by the dataset's statistics.</summary>
    public static Transform Transform(string preset, int side, DatasetInfo data)
    {
        var t = Augmentations.Preset(preset, side, side, data.Normalize());
        return side == data.Height && side == data.Width ? t : new Compose(new Resize(side, side), t);
    }
}
