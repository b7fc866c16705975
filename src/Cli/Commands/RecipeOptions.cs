using System.CommandLine;

namespace Engine.Cli;

/// <summary>The settings every recipe command shares (what <see cref="RecipeOptions"/> parses).</summary>
internal sealed record RecipeSettings
{
    public string Model { get; init; } = "lenet5";
    public string? Data { get; init; }
    public int LabelsPerClass { get; init; } = 100;
    public double ValidationFraction { get; init; } = 0.1;
    public string Classes { get; init; } = "";
    public int Epochs { get; init; } = 15;
    public int BatchSize { get; init; } = 64;
    public double Lr { get; init; } = 0.05;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    public string Augment { get; init; } = "basic";
    public string Device { get; init; } = "auto";
    public ulong Seed { get; init; }
    public int Workers { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);
    public string Output { get; init; } = "runs/recipe";
}

/// <summary>
/// The options every recipe command (finetune, distill, pseudo-label, noisy-student, knn) shares: model, data and its
/// labelled/validation split, the optimiser, augmentation, device, seed and output folder.
/// </summary>
internal sealed class RecipeOptions
{
    private readonly Option<string> _model = new("--model") { Description = "The model (for distill: the student).", DefaultValueFactory = _ => "lenet5" };
    private readonly Option<string?> _data = new("--data") { Description = "Folder with the Fashion-MNIST IDX files (default: installed set, else the embedded subset)." };
    private readonly Option<int> _labels = new("--labels-per-class") { Description = "Labelled training images per class; the rest of the training split is unlabelled (0: all labelled).", DefaultValueFactory = _ => 100 };
    private readonly Option<double> _val = new("--val-fraction") { Description = "Fraction of the training set held out (stratified) for validation and model selection.", DefaultValueFactory = _ => 0.1 };
    private readonly Option<string> _classes = new("--classes") { Description = "Comma-separated classes to keep, relabelled 0..k-1 in this order (e.g. 5,6,7,8,9; default: all).", DefaultValueFactory = _ => "" };
    private readonly Option<int> _epochs;
    private readonly Option<int> _batch = new("--batch-size") { Description = "Images per batch.", DefaultValueFactory = _ => 64 };
    private readonly Option<double> _lr;
    private readonly Option<double> _momentum = new("--momentum") { Description = "SGD momentum (Nesterov).", DefaultValueFactory = _ => 0.9 };
    private readonly Option<double> _wd = new("--weight-decay") { Description = "Weight decay.", DefaultValueFactory = _ => 5e-4 };
    private readonly Option<string> _augment;
    private readonly Option<string> _device = new("--device") { Description = TrainCommand.DeviceHelp, DefaultValueFactory = _ => "auto" };
    private readonly Option<ulong> _seed = new("--seed") { Description = "Seed of the split, initialisation, shuffling and augmentation.", DefaultValueFactory = _ => 0UL };
    private readonly Option<int> _workers = new("--workers") { Description = "Background data-loading threads.", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount - 1) };
    private readonly Option<string> _output;

    public RecipeOptions(string output, int epochs = 15, double lr = 0.05, string augment = "basic")
    {
        _epochs = new("--epochs") { Description = "Epochs to train.", DefaultValueFactory = _ => epochs };
        _lr = new("--lr") { Description = "Learning rate (for finetune --approach full: the head's).", DefaultValueFactory = _ => lr };
        _augment = new("--augment") { Description = $"Augmentation preset: {string.Join(", ", Engine.Nn.Data.Augmentations.PresetNames)}.", DefaultValueFactory = _ => augment };
        _augment.AcceptOnlyFromAmong([.. Engine.Nn.Data.Augmentations.PresetNames]);
        _device.AcceptOnlyFromAmong(TrainCommand.DeviceNames);
        _output = new("--output") { Description = "Folder for the checkpoints, logs and plots.", DefaultValueFactory = _ => output };
    }

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { _model, _data, _labels, _val, _classes, _epochs, _batch, _lr, _momentum, _wd, _augment, _device, _seed, _workers, _output })
            cmd.Add(o);
    }

    public RecipeSettings Read(ParseResult r) => new()
    {
        Model = r.GetValue(_model)!, Data = r.GetValue(_data), LabelsPerClass = r.GetValue(_labels), ValidationFraction = r.GetValue(_val),
        Classes = r.GetValue(_classes)!, Epochs = r.GetValue(_epochs), BatchSize = r.GetValue(_batch), Lr = r.GetValue(_lr),
        Momentum = r.GetValue(_momentum), WeightDecay = r.GetValue(_wd), Augment = r.GetValue(_augment)!, Device = r.GetValue(_device)!,
        Seed = r.GetValue(_seed), Workers = r.GetValue(_workers), Output = r.GetValue(_output)!,
    };
}
