using System.CommandLine;
using System.Globalization;
using Engine.Kernels.Cuda;
using Engine.Models;
using Engine.Nn;
using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary>The settings of one training run (what <c>engine train</c> parses); the defaults here are the options' defaults.</summary>
internal sealed record TrainSettings
{
    public string Model { get; init; } = "lenet5";
    public string? Data { get; init; }
    public int Epochs { get; init; } = 15;
    public int BatchSize { get; init; } = 64;
    public string Optimizer { get; init; } = "sgd";
    public double Lr { get; init; } = 0.05;
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; } = true;
    public double WeightDecay { get; init; } = 5e-4;
    public string Schedule { get; init; } = "cosine";
    public int Warmup { get; init; }
    public string Augment { get; init; } = "basic";
    public string Mix { get; init; } = "none";
    public string Device { get; init; } = "auto";
    public ulong Seed { get; init; }
    public bool Deterministic { get; init; }
    public int Workers { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);
    public string Output { get; init; } = "runs/latest";
    public string? Resume { get; init; }
    public string? Weights { get; init; }
    public int ImageSize { get; init; }
    public int LimitTrain { get; init; }
    public int LimitTest { get; init; }
    public int Patience { get; init; }
    public int ClipLength { get; init; } = 16;
    public string ClipLabel { get; init; } = "direction";
    public NonFiniteLoss OnNonFinite { get; init; } = NonFiniteLoss.Stop;
}

/// <summary><c>engine train</c>: trains a registered model on Fashion-MNIST (embedded subset, installed set or a folder).</summary>
internal static class TrainCommand
{
    private static readonly TrainSettings Defaults = new();

    private static Option<T> Opt<T>(string name, string description, T defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

    public static Command Create()
    {
        var d = Defaults;
        var model = Opt("--model", $"Model (see 'engine models'): {string.Join(", ", ModelRegistry.Names)}.", d.Model);
        var data = new Option<string?>("--data") { Description = "Folder with the Fashion-MNIST IDX files (default: /usr/share/datasets/fashion-mnist if installed, else the embedded subset), "
            + $"or '{VideoData.MovingFashionMnistName}' for the synthetic video set (clips of moving garments; with a video model such as c3d_tiny)." };
        var epochs = Opt("--epochs", "Epochs to train.", d.Epochs);
        var batch = Opt("--batch-size", "Images per batch.", d.BatchSize);
        var optimizer = Opt("--optimizer", "sgd, adam, adamw or rmsprop.", d.Optimizer);
        optimizer.AcceptOnlyFromAmong("sgd", "adam", "adamw", "rmsprop");
        var lr = Opt("--lr", "Learning rate.", d.Lr);
        var momentum = Opt("--momentum", "Momentum (SGD, RMSprop).", d.Momentum);
        var nesterov = Opt("--nesterov", "Nesterov momentum for SGD when --momentum is above 0 ('--nesterov false' for plain momentum).", d.Nesterov);
        var wd = Opt("--weight-decay", "Weight decay.", d.WeightDecay);
        var schedule = Opt("--schedule", "none, step, cosine or onecycle.", d.Schedule);
        schedule.AcceptOnlyFromAmong("none", "step", "cosine", "onecycle");
        var warmup = Opt("--warmup", "Epochs of linear warm-up before the schedule.", d.Warmup);
        var augment = Opt("--augment", $"Augmentation preset: {string.Join(", ", Augmentations.PresetNames)}.", d.Augment);
        augment.AcceptOnlyFromAmong([.. Augmentations.PresetNames]);
        var mix = Opt("--mix", "Batch mixing: none, mixup or cutmix.", d.Mix);
        mix.AcceptOnlyFromAmong([.. Augmentations.BatchPresetNames]);
        var device = Opt("--device", DeviceHelp, d.Device);
        device.AcceptOnlyFromAmong(DeviceNames);
        var seed = Opt("--seed", "Seed for initialisation, shuffling and augmentation.", d.Seed);
        var deterministic = Opt("--deterministic", "Fix every seed from --seed so a run can be repeated exactly.", d.Deterministic);
        var workers = Opt("--workers", "Background data-loading threads.", d.Workers);
        var output = Opt("--output", "Folder for the checkpoints, logs and plots.", d.Output);
        var resume = new Option<string?>("--resume") { Description = "Checkpoint to resume from (model, optimizer, schedule, epoch, RNG)." };
        var weights = new Option<string?>("--weights") { Description = "Start from weights exported from PyTorch (safetensors of a state_dict, names as torchvision's); a head of another class count is skipped with a note." };
        var imageSize = Opt("--image-size", "Side the 28x28 images are resized to (bilinear) before the model (0: the larger of 28 and the model's minimum input); "
            + $"for {VideoData.MovingFashionMnistName}, the side of the generated frames (0: 64).", d.ImageSize);
        var clipLength = Opt("--clip-length", $"Frames per clip of {VideoData.MovingFashionMnistName}.", d.ClipLength);
        var clipLabel = Opt("--clip-label", $"Label of {VideoData.MovingFashionMnistName}: direction (of motion, 8 classes), rotation (sense, 2) or garment (class, 10).", d.ClipLabel);
        clipLabel.AcceptOnlyFromAmong(VideoData.LabelNames);
        var limitTrain = Opt("--limit-train", "Use only the first N training images (0: all).", d.LimitTrain);
        var limitTest = Opt("--limit-test", "Use only the first N test images (0: all).", d.LimitTest);
        var patience = Opt("--patience", "Stop after this many epochs without test-accuracy gain (0: never).", d.Patience);
        var onNonFinite = Opt("--on-nonfinite", "What a NaN or infinite training loss does: stop (keep the last epoch's checkpoint and the log, exit with an error) or skip (skip the batch with a warning).", d.OnNonFinite);

        var cmd = new Command("train", "Train a CNN and write the best checkpoint, a CSV/JSON-lines log and PNG plots to --output.");
        foreach (var o in new Option[] { model, data, epochs, batch, optimizer, lr, momentum, nesterov, wd, schedule, warmup, augment, mix, device, seed, deterministic, workers, output, resume, weights, imageSize, limitTrain, limitTest, patience, clipLength, clipLabel, onNonFinite })
            cmd.Add(o);
        cmd.SetAction(r => Run(new TrainSettings
        {
            Model = r.GetValue(model)!, Data = r.GetValue(data), Epochs = r.GetValue(epochs), BatchSize = r.GetValue(batch),
            Optimizer = r.GetValue(optimizer)!, Lr = r.GetValue(lr), Momentum = r.GetValue(momentum), Nesterov = r.GetValue(nesterov), WeightDecay = r.GetValue(wd),
            Schedule = r.GetValue(schedule)!, Warmup = r.GetValue(warmup), Augment = r.GetValue(augment)!, Mix = r.GetValue(mix)!,
            Device = r.GetValue(device)!, Seed = r.GetValue(seed), Deterministic = r.GetValue(deterministic), Workers = r.GetValue(workers),
            Output = r.GetValue(output)!, Resume = r.GetValue(resume), Weights = r.GetValue(weights), ImageSize = r.GetValue(imageSize),
            LimitTrain = r.GetValue(limitTrain), LimitTest = r.GetValue(limitTest), Patience = r.GetValue(patience),
            ClipLength = r.GetValue(clipLength), ClipLabel = r.GetValue(clipLabel)!,
            OnNonFinite = r.GetValue(onNonFinite),
        }, EngineCommand.Output));
        return cmd;
    }

    /// <summary>The values <c>--device</c> accepts (train, eval and bench).</summary>
    public static readonly string[] DeviceNames = ["auto", "cpu", "cuda", "emulated"];

    /// <summary>The help text of <c>--device</c>.</summary>
    public const string DeviceHelp = "auto (CUDA device 0 if present and its self-check passes, else the CPU), cpu, cuda (force the GPU), "
        + "or emulated (the GPU code path on the PTX emulator: very slow, for checking it on a machine without a GPU).";

    /// <summary>
    /// The device a run uses. "cpu", "cuda" (CUDA device 0, a <see cref="DeviceException"/> naming why when it is
    /// unusable) and "emulated" are taken as asked; "auto" takes CUDA device 0 when the driver reports one and
    /// <see cref="GpuSelfCheck"/> passes on it, else the CPU with a one-line note saying why.
    /// </summary>
    public static Device ResolveDevice(string name, TextWriter log)
    {
        switch (name)
        {
            case "cpu":
                return Engine.Device.Cpu;
            case "cuda":
                Kernels.Backends.For(Engine.Device.Cuda(0), "train");
                return Engine.Device.Cuda(0);
            case "emulated":
                return Engine.Device.Emulated;
            case "auto":
                if (!CudaProbe.IsAvailable)
                {
                    log.WriteLine($"note: no usable GPU ({CudaProbe.Reason}); using the CPU");
                    return Engine.Device.Cpu;
                }
                var check = GpuSelfCheck.Run(Engine.Device.Cuda(0));
                if (!check.Passed)
                {
                    log.WriteLine($"note: the GPU self-check failed on cuda:0 ({check.Detail}); using the CPU (--device cuda forces the GPU)");
                    return Engine.Device.Cpu;
                }
                return Engine.Device.Cuda(0);
            default:
                throw new ArgumentValueException("device", $"unknown device '{name}'; expected one of {string.Join(", ", DeviceNames)}");
        }
    }

    public static int Run(TrainSettings s, TextWriter log)
    {
        try
        {
            var info = ModelRegistry.Info(s.Model); // validates the model name before any work
            // Files first: a wrong path fails at once, not after the data is loaded or an epoch has run.
            OptionFiles.ReadableFile("--resume", s.Resume);
            OptionFiles.ReadableFile("--weights", s.Weights);
            OptionFiles.WritableFolder("--output", s.Output);
            var data = VideoData.IsMovingFashionMnist(s.Data) ? VideoData.Load(s, info, log) : ImageData(s, info);
            var (dataInfo, side, trainSet, testSet) = (data.Info, data.Side, data.Train, data.Test);
            var device = ResolveDevice(s.Device, log);
            var rng = new Generator(s.Seed);
            if (s.Deterministic) Generator.Default.ManualSeed(s.Seed);
            log.WriteLine($"data: {dataInfo.Name} ({data.Source}), {trainSet.Count} training and {testSet.Count} test {(dataInfo.IsVideo ? "clips" : "images")}; device {device}");
            if (!dataInfo.IsVideo)
                ImageGrid.WriteAugmentations(Path.Combine(s.Output, "augmentations.png"), trainSet, data.TrainTransform, samples: 8, variants: 8, seed: s.Seed);

            if (s.BatchSize > trainSet.Count)
                throw new OptionException("--batch-size", s.BatchSize.ToString(CultureInfo.InvariantCulture),
                    $"is larger than the {trainSet.Count} training {(dataInfo.IsVideo ? "clips" : "images")}, so no full batch would be trained (incomplete batches are dropped)");

            using var trainLoader = new DataLoader(trainSet, s.BatchSize, shuffle: true, dropLast: true, transform: data.TrainTransform,
                batchTransform: Augmentations.BatchPreset(s.Mix, dataInfo.NumClasses), numWorkers: s.Workers, seed: s.Seed, device: device);
            using var testLoader = new DataLoader(testSet, 256, transform: data.TestTransform, numWorkers: s.Workers, seed: s.Seed, device: device);

            var options = ModelInput.Options(dataInfo, rng);
            if (s.Weights is not null) options = ModelInput.FitAuxiliaryHeads(info, options, s.Weights, log);
            using var model = info.Create(options);
            if (s.Weights is not null)
            {
                foreach (var note in PretrainedWeights.Load(model, s.Weights, mismatch: ShapeMismatch.AdaptOrSkip).Notes) log.WriteLine($"note: {note}");
                log.WriteLine($"loaded weights from {s.Weights}");
            }
            model.To(device);
            string input = dataInfo.IsVideo ? $"{dataInfo.Channels}x{dataInfo.Frames}x{side}x{side}" : $"{dataInfo.Channels}x{side}x{side}";
            log.WriteLine($"model: {info.Name}, {model.ParameterCount():N0} parameters, {input} input, {dataInfo.NumClasses} classes");
            using var opt = CreateOptimizer(s, model);
            var sched = CreateSchedule(s, opt, trainLoader.Count);
            var trainer = new Trainer(model, opt, dataInfo.NumClasses, sched, stepSchedulePerBatch: s.Schedule == "onecycle");
            trainer.OnNonFiniteLoss = s.OnNonFinite;
            trainer.Callbacks.Add(new ProgressReporter(ReferenceEquals(log, Console.Out) ? null : log));
            trainer.Callbacks.Add(new CsvLogger(Path.Combine(s.Output, "log.csv")));
            trainer.Callbacks.Add(new JsonLinesLogger(Path.Combine(s.Output, "log.jsonl")));
            trainer.Callbacks.Add(new BestCheckpoint(Path.Combine(s.Output, "best.safetensors"), Path.Combine(s.Output, "last.safetensors"), rng,
                new Dictionary<string, string>
                {
                    ["model"] = info.Name, ["image_size"] = side.ToString(CultureInfo.InvariantCulture),
                    ["aux_logits"] = options.AuxLogits ? "true" : "false",
                }));
            if (s.Patience > 0) trainer.Callbacks.Add(new EarlyStopping(s.Patience));

            int start = 0;
            if (s.Resume is not null)
            {
                var resumed = Checkpoint.Load(s.Resume, model, opt, sched, rng);
                start = resumed.Epoch + 1;
                log.WriteLine($"resumed from {s.Resume} after epoch {start}");
            }
            try
            {
                trainer.Fit(trainLoader, testLoader, s.Epochs, start);
            }
            catch (NonFiniteLossException e)
            {
                // The epochs before it finished with their checkpoints and log rows; keep their plots too.
                if (trainer.History.Count > 0) Plots.Write(s.Output, trainer.History, dataInfo.ClassNames);
                string kept = trainer.History.Count > 0 || s.Resume is not null
                    ? $"the last good checkpoint is {Path.Combine(s.Output, "last.safetensors")} (epoch {(trainer.History.Count > 0 ? trainer.History[^1].Epoch + 1 : start)})"
                    : "no epoch finished, so no checkpoint was written";
                log.WriteLine($"error: {e.Message}; {kept}; '--on-nonfinite skip' skips such batches instead");
                return 3;
            }
            Plots.Write(s.Output, trainer.History, dataInfo.ClassNames);
            var best = trainer.History.Where(e => e.TestTop1 is not null).MaxBy(e => e.TestTop1!.Value);
            if (best is not null)
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"best test accuracy {100 * best.TestTop1:F2}% (epoch {best.Epoch + 1}); wrote {s.Output}/best.safetensors, log.csv, log.jsonl, loss.png, accuracy.png, confusion.png"));
            else if (trainer.History.Count > 0)
                log.WriteLine($"no test images, so no test metrics; wrote {s.Output}/best.safetensors (by training accuracy), log.csv, log.jsonl, loss.png, accuracy.png");
            return 0;
        }
        catch (Exception e) when (EngineCommand.IsUserError(e))
        {
            log.WriteLine(EngineCommand.Describe(e));
            return 2;
        }
    }

    /// <summary>Fashion-MNIST images for an image model: resized to the model's side, augmented by the preset.</summary>
    private static TrainData ImageData(TrainSettings s, ModelInfo info)
    {
        if (info.IsVideo)
            throw new ArgumentValueException("model", $"{info.Name} takes video clips; train it with --data {VideoData.MovingFashionMnistName}");
        var dataInfo = FashionMnist.Info;
        int side = ModelInput.Side(info, dataInfo, s.ImageSize);
        var fullTrain = FashionMnist.Load(s.Data, train: true);
        return new TrainData(dataInfo, side, Limit(fullTrain, s.LimitTrain), Limit(FashionMnist.Load(s.Data, train: false), s.LimitTest),
            ModelInput.Transform(s.Augment, side, dataInfo), ModelInput.Transform("none", side, dataInfo), fullTrain.Source.ToString());
    }

    /// <summary>The first <paramref name="n"/> samples of <paramref name="d"/> (all when 0).</summary>
    internal static IDataset Limit(IDataset d, int n) => n > 0 && n < d.Count ? new Subset(d, [.. Enumerable.Range(0, n)]) : d;

    private static Optimizer CreateOptimizer(TrainSettings s, Module model) => s.Optimizer switch
    {
        "adam" => new Adam(model.Parameters(), s.Lr, weightDecay: s.WeightDecay),
        "adamw" => new AdamW(model.Parameters(), s.Lr, weightDecay: s.WeightDecay),
        "rmsprop" => new RMSprop(model.Parameters(), s.Lr, weightDecay: s.WeightDecay, momentum: s.Momentum),
        _ => new SGD(model.Parameters(), s.Lr, momentum: s.Momentum, weightDecay: s.WeightDecay, nesterov: s.Nesterov && s.Momentum > 0),
    };

    private static LRScheduler? CreateSchedule(TrainSettings s, Optimizer opt, int batchesPerEpoch)
    {
        int epochsAfterWarmup = Math.Max(1, s.Epochs - s.Warmup);
        LRScheduler? main = s.Schedule switch
        {
            "step" => new StepLR(opt, Math.Max(1, s.Epochs / 3)),
            "cosine" => new CosineAnnealingLR(opt, epochsAfterWarmup),
            "onecycle" => new OneCycleLR(opt, s.Lr, Math.Max(2, s.Epochs * batchesPerEpoch)),
            _ => null,
        };
        return s.Warmup > 0 && s.Schedule != "onecycle" ? new LinearWarmup(opt, s.Warmup, after: main) : main;
    }
}
