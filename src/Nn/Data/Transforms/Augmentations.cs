namespace Engine.Nn.Data;

/// <summary>Named augmentation recipes, for the command line and quick experiments.</summary>
public static class Augmentations
{
    /// <summary>The per-sample presets: "none", "basic" (crop + flip), "strong" (crop + flip + RandAugment + erasing).</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["none", "basic", "strong"];

    /// <summary>The batch presets: "none", "mixup", "cutmix".</summary>
    public static IReadOnlyList<string> BatchPresetNames { get; } = ["none", "mixup", "cutmix"];

    /// <summary>
    /// The per-sample preset <paramref name="name"/> for images of <paramref name="height"/> × <paramref name="width"/>
    /// (the output size too). "basic" is a random crop and a horizontal flip: for small images (shorter side under
    /// 64) a crop with padding of an eighth of the shorter side, as for MNIST and CIFAR; for larger ones a
    /// <see cref="RandomResizedCrop"/>, as for ImageNet. "strong" adds RandAugment (2 ops, magnitude 9) and random
    /// erasing (p = 0.25). <paramref name="normalize"/>, when given, goes last before erasing.
    /// </summary>
    public static Transform Preset(string name, int height, int width, Normalize? normalize = null)
    {
        var steps = new List<Transform>();
        switch (name.ToLowerInvariant())
        {
            case "none":
                break;
            case "basic":
            case "strong":
                int side = Math.Min(height, width);
                if (side < 64) steps.Add(new RandomCrop(height, width, padding: Math.Max(1, (side + 7) / 8)));
                else steps.Add(new RandomResizedCrop(height, width));
                steps.Add(new RandomHorizontalFlip());
                if (name.Equals("strong", StringComparison.OrdinalIgnoreCase)) steps.Add(new RandAugment());
                break;
            default:
                throw new ArgumentValueException("augmentation", $"unknown preset '{name}'; choose one of {string.Join(", ", PresetNames)}");
        }
        if (normalize is not null) steps.Add(normalize);
        if (name.Equals("strong", StringComparison.OrdinalIgnoreCase)) steps.Add(new RandomErasing(p: 0.25));
        return new Compose([.. steps]);
    }

    /// <summary>The batch preset <paramref name="name"/>: null for "none", MixUp (α = 0.2) or CutMix (α = 1).</summary>
    public static BatchTransform? BatchPreset(string name, int numClasses) => name.ToLowerInvariant() switch
    {
        "none" => null,
        "mixup" => new MixUp(numClasses, 0.2),
        "cutmix" => new CutMix(numClasses, 1.0),
        _ => throw new ArgumentValueException("augmentation", $"unknown batch preset '{name}'; choose one of {string.Join(", ", BatchPresetNames)}"),
    };
}
