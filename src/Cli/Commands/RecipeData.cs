using System.Globalization;
using Engine.Models;
using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary>
/// The data of a recipe run: Fashion-MNIST (optionally some classes only), a stratified validation split held out of
/// the training set for model selection, the rest split into labelled (N per class) and unlabelled images, the test
/// set (only reported, never used to choose), the transforms and the device.
/// </summary>
internal sealed class RecipeData
{
    public required IDataset Labelled { get; init; }
    public required IDataset Unlabelled { get; init; }
    public required IDataset Validation { get; init; }
    public required IDataset Test { get; init; }
    public required int NumClasses { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    public required Transform TrainTransform { get; init; }
    public required Transform CleanTransform { get; init; }
    public required Device Device { get; init; }
    public required long[] InputShape { get; init; }

    /// <summary>Fashion-MNIST's channel statistics.</summary>
    public static Normalize Normalization => new([0.2860f], [0.3530f]);

    public static RecipeData Load(RecipeSettings s, TextWriter log)
    {
        var shape = ModelRegistry.InputShape(s.Model); // validates the model name before any work
        var device = TrainCommand.ResolveDevice(s.Device, log);
        if (!(s.ValidationFraction > 0 && s.ValidationFraction < 1)) throw new RecipeException("data", $"--val-fraction must be in (0, 1), got {s.ValidationFraction}");
        if (s.LabelsPerClass < 0) throw new RecipeException("data", $"--labels-per-class must be non-negative, got {s.LabelsPerClass}");
        var rawTrain = FashionMnist.Load(s.Data, train: true);
        IDataset train = rawTrain, test = FashionMnist.Load(s.Data, train: false);
        IReadOnlyList<string> names = FashionMnist.ClassNames;
        if (s.Classes.Length > 0)
        {
            long[] keep;
            try { keep = [.. s.Classes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(c => long.Parse(c, CultureInfo.InvariantCulture))]; }
            catch (FormatException) { throw new RecipeException("data", $"--classes must be comma-separated class numbers, got '{s.Classes}'"); }
            if (keep.Length < 2 || keep.Distinct().Count() != keep.Length || keep.Any(c => c < 0 || c >= names.Count))
                throw new RecipeException("data", $"--classes needs at least two distinct classes in 0..{names.Count - 1}, got '{s.Classes}'");
            train = new ClassSelection(train, keep);
            test = new ClassSelection(test, keep);
            names = [.. keep.Select(c => names[(int)c])];
        }
        var g = new Generator(s.Seed);
        var (validation, rest) = Datasets.StratifiedSplit(train, s.ValidationFraction, g);
        IDataset labelled = rest, unlabelled = new Subset(rest, []);
        if (s.LabelsPerClass > 0)
        {
            var perClass = Datasets.CountPerClass(rest).Values.Min();
            if (s.LabelsPerClass > perClass) throw new RecipeException("data", $"--labels-per-class {s.LabelsPerClass} exceeds the {perClass} training images of the smallest class");
            (labelled, unlabelled) = Datasets.SemiSupervisedSplit(rest, s.LabelsPerClass, g);
        }
        int h = (int)shape[1], w = (int)shape[2];
        log.WriteLine($"data: Fashion-MNIST ({rawTrain.Source}), {names.Count} classes: {labelled.Count} labelled, {unlabelled.Count} unlabelled, {validation.Count} validation, {test.Count} test images; device {device}");
        return new RecipeData
        {
            Labelled = labelled, Unlabelled = unlabelled, Validation = validation, Test = test, NumClasses = names.Count, ClassNames = names,
            TrainTransform = Augmentations.Preset(s.Augment, h, w, Normalization), CleanTransform = Augmentations.Preset("none", h, w, Normalization),
            Device = device, InputShape = shape,
        };
    }

    public Module CreateModel(string name, ulong seed, int? numClasses = null, double? dropout = null, double? stochasticDepth = null) =>
        ModelRegistry.Create(name, new ModelOptions(numClasses ?? NumClasses, (int)ModelRegistry.InputShape(name)[0], new Generator(seed))
        { Dropout = dropout, StochasticDepth = stochasticDepth }).To(Device);

    public DataLoader TrainLoader(IDataset data, RecipeSettings s, Transform? transform = null, ulong salt = 0) =>
        new(data, s.BatchSize, shuffle: true, dropLast: data.Count >= s.BatchSize, transform: transform ?? TrainTransform, numWorkers: s.Workers, seed: s.Seed + salt, device: Device);

    public DataLoader EvalLoader(IDataset data, RecipeSettings s) => new(data, 256, transform: CleanTransform, numWorkers: s.Workers, seed: 0, device: Device);
}
