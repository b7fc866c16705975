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
    /// <summary>The side images are given to <paramref name="info"/>: <paramref name="requested"/> when above 0, else max(dataset side, minimum input).</summary>
    public static int Side(ModelInfo info, DatasetInfo data, int requested = 0)
    {
        if (requested > 0 && requested < info.MinSize)
            throw new ArgumentValueException("image-size", $"{info.Name} needs inputs of at least {info.MinSize}x{info.MinSize}; got {requested}");
        return requested > 0 ? requested : Math.Max(Math.Max(data.Height, data.Width), info.MinSize);
    }

    /// <summary>Builds <paramref name="info"/> with the dataset's channels and classes.</summary>
    public static Module Build(ModelInfo info, DatasetInfo data, Generator? generator = null) =>
        info.Create(new ModelOptions(data.NumClasses, data.Channels, generator));

    /// <summary>The augmentation preset at <paramref name="side"/>, after a resize when the images are of another size, normalised by the dataset's statistics.</summary>
    public static Transform Transform(string preset, int side, DatasetInfo data)
    {
        var t = Augmentations.Preset(preset, side, side, data.Normalize());
        return side == data.Height && side == data.Width ? t : new Compose(new Resize(side, side), t);
    }
}
