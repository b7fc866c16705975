using Engine.Models;
using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary>
/// <c>engine train --data moving-fashion-mnist</c>: the synthetic video set (<see cref="MovingFashionMnist"/>) for a
/// video model. Clips are generated at the requested side (no resize) and only normalised: a flip or crop would
/// change the direction label, and the motion, position and spin of every clip are already random.
/// </summary>
internal static class VideoData
{
    /// <summary>The <c>--data</c> value that selects the synthetic video set.</summary>
    public const string MovingFashionMnistName = "moving-fashion-mnist";

    /// <summary>The values <c>--clip-label</c> accepts, in <see cref="MovingFashionMnistLabel"/> order.</summary>
    public static readonly string[] LabelNames = ["direction", "rotation", "garment"];

    /// <summary>Whether <c>--data</c> asks for the synthetic video set.</summary>
    public static bool IsMovingFashionMnist(string? data) => string.Equals(data, MovingFashionMnistName, StringComparison.OrdinalIgnoreCase);

    /// <summary>Both splits for <paramref name="info"/>, a video model; the garments come from the installed Fashion-MNIST or the embedded subset.</summary>
    public static TrainData Load(TrainSettings s, ModelInfo info, TextWriter log)
    {
        if (!info.IsVideo)
            throw new ArgumentValueException("model", $"{info.Name} is an image model; {MovingFashionMnistName} gives clips [N, C, T, H, W] (video models: {string.Join(", ", VideoModels())})");
        if (s.Mix != "none") throw new ArgumentValueException("mix", $"--mix {s.Mix} mixes images; it is not available for {MovingFashionMnistName}");
        int side = s.ImageSize > 0 ? s.ImageSize : 64;
        if (side < info.MinSize) throw new ArgumentValueException("image-size", $"{info.Name} needs inputs of at least {info.MinSize}x{info.MinSize}; got {side}");
        int label = Array.IndexOf(LabelNames, s.ClipLabel);
        if (label < 0) throw new ArgumentValueException("clip-label", $"unknown label '{s.ClipLabel}'; expected one of {string.Join(", ", LabelNames)}");
        var options = new MovingFashionMnistOptions { Frames = s.ClipLength, Size = side, Label = (MovingFashionMnistLabel)label };
        var train = MovingFashionMnist.Load(null, train: true, s.Seed, options);
        var test = MovingFashionMnist.Load(null, train: false, s.Seed, options);
        if (s.Augment != "none") log.WriteLine($"note: --augment {s.Augment} is not applied to {MovingFashionMnistName} (a flip or crop would change the motion label); clips are only normalised");
        var normalize = train.Info.Normalize();
        string source = FashionMnist.IsInstalled() ? "garments from the installed Fashion-MNIST" : "garments from the embedded Fashion-MNIST subset";
        return new TrainData(train.Info, side, TrainCommand.Limit(train, s.LimitTrain), TrainCommand.Limit(test, s.LimitTest), normalize, normalize,
            $"{source}, {options.Frames} frames of {side}x{side}, label {s.ClipLabel}, seed {s.Seed}");
    }

    private static IEnumerable<string> VideoModels() => ModelRegistry.All.Where(m => m.IsVideo).Select(m => m.Name);
}
