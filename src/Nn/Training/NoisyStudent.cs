using System.Globalization;
using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>What one phase of a <see cref="NoisyStudent"/> run did.</summary>
/// <param name="Iteration">0 for the initial teacher, k for the k-th student.</param>
/// <param name="Parameters">The phase model's parameter count.</param>
/// <param name="TrainSamples">Training samples (labelled plus pseudo-labelled).</param>
/// <param name="PseudoLabelled">Pseudo-labelled samples among them (with the duplicates of balancing).</param>
/// <param name="History">The epochs trained in this call (empty when the phase was complete and loaded from its checkpoint).</param>
/// <param name="Loaded">True when the phase's final checkpoint existed and was loaded instead of training.</param>
public sealed record NoisyStudentPhase(int Iteration, long Parameters, int TrainSamples, int PseudoLabelled, IReadOnlyList<EpochStats> History, bool Loaded);

/// <summary>
/// Noisy student (Xie et al. 2020): phase 0 trains a teacher on the labelled data; each later phase lets the
/// previous model, without noise (eval mode, <see cref="NoisyStudentOptions.CleanTransform"/>), label the unlabelled
/// set (soft or hard labels, a confidence filter, class balancing: <see cref="PseudoLabels.Choose"/>), then trains a
/// new, equal-or-larger student on labelled plus pseudo-labelled data with noise (the
/// <see cref="NoisyStudentOptions.NoisyTransform"/>, e.g. RandAugment, and the model's dropout and stochastic depth),
/// which becomes the next teacher.
/// </summary>
/// <remarks>
/// Every phase k writes under <c>folder/iteration{k}/</c>: <c>last.safetensors</c> after each epoch (model,
/// optimizer, schedule, epoch: a full <see cref="Checkpoint"/>), <c>best.safetensors</c> (best validation accuracy),
/// and <c>final.safetensors</c> once the phase is complete. <see cref="Run"/> resumes: a phase with a final
/// checkpoint is loaded, not retrained; a phase with only <c>last.safetensors</c> continues after its epoch (its
/// pseudo-labels are recomputed, deterministically, from the previous phase's final model). The model handed to the
/// next phase is the one at the end of training, never one chosen on test data.
/// </remarks>
public sealed class NoisyStudent(IDataset labelled, IDataset unlabelled, IDataset? validation, Func<int, Module> createModel, NoisyStudentOptions options, string folder)
{
    /// <summary>Called for each phase's trainer before it trains (add progress or logging callbacks here).</summary>
    public Action<Trainer, int>? ConfigureTrainer { get; set; }

    /// <summary>Receives one line per phase event (labelling, loading, resuming), or null.</summary>
    public TextWriter? Log { get; set; }

    /// <summary>The folder of phase <paramref name="iteration"/>.</summary>
    public string PhaseFolder(int iteration) => Path.Combine(folder, "iteration" + iteration.ToString(CultureInfo.InvariantCulture));

    /// <summary>Runs (or resumes) every phase; returns the final student (the caller's to dispose) and what each phase did.</summary>
    public (Module Model, IReadOnlyList<NoisyStudentPhase> Phases) Run()
    {
        const string op = "noisy_student";
        if (options.Iterations < 0) throw new RecipeException(op, $"iterations must be non-negative, got {options.Iterations}");
        if (options.Epochs < 1) throw new RecipeException(op, $"epochs must be positive, got {options.Epochs}");
        if (labelled.Count == 0) throw new RecipeException(op, "the labelled set is empty");
        if (unlabelled.Count == 0 && options.Iterations > 0) throw new RecipeException(op, "the unlabelled set is empty");
        var phases = new List<NoisyStudentPhase>();
        Module? teacher = null;
        try
        {
            for (int k = 0; k <= options.Iterations; k++)
            {
                var model = createModel(k);
                try
                {
                    model.To(options.Device);
                    if (teacher is not null && model.ParameterCount() < teacher.ParameterCount())
                        throw new RecipeException(op, $"the student of iteration {k} has {model.ParameterCount():N0} parameters, fewer than its teacher's {teacher.ParameterCount():N0}: noisy student needs an equal-or-larger student");
                    phases.Add(RunPhase(k, model, teacher));
                }
                catch
                {
                    model.Dispose();
                    throw;
                }
                teacher?.Dispose();
                teacher = model;
            }
            var result = teacher!;
            teacher = null;
            return (result, phases);
        }
        finally { teacher?.Dispose(); }
    }

    private NoisyStudentPhase RunPhase(int k, Module model, Module? teacher)
    {
        string dir = PhaseFolder(k);
        Directory.CreateDirectory(dir);
        string final = Path.Combine(dir, "final.safetensors"), last = Path.Combine(dir, "last.safetensors"), best = Path.Combine(dir, "best.safetensors");
        using var data = teacher is null ? null : Label(teacher);
        IDataset train = data ?? labelled;
        int pseudo = data?.PseudoCount ?? 0;
        if (File.Exists(final))
        {
            Checkpoint.Load(final, model);
            Log?.WriteLine($"iteration {k}: complete, loaded {final}");
            return new NoisyStudentPhase(k, model.ParameterCount(), train.Count, pseudo, [], Loaded: true);
        }
        var rng = new Generator(options.Seed + (ulong)k);
        using var opt = new SGD(model.Parameters(), options.Lr, momentum: options.Momentum, weightDecay: options.WeightDecay, nesterov: options.Momentum > 0);
        var sched = new CosineAnnealingLR(opt, options.Epochs);
        using var loader = new DataLoader(train, options.BatchSize, shuffle: true, dropLast: train.Count >= options.BatchSize, transform: options.NoisyTransform,
            numWorkers: options.Workers, seed: options.Seed + (ulong)k, device: options.Device);
        using var val = validation is null ? null : new DataLoader(validation, 256, transform: options.CleanTransform, numWorkers: options.Workers, seed: 0, device: options.Device);
        var trainer = new Trainer(model, opt, options.NumClasses, sched);
        if (data is not null && options.SoftLabels)
            trainer.Objective = (t, batch) =>
            {
                var logits = t.Model.Call(batch.Images);
                return (logits, Functional.CrossEntropy(logits, data.TargetsOf(batch.Indices, batch.Images.Device)));
            };
        var extra = new Dictionary<string, string> { ["iteration"] = k.ToString(CultureInfo.InvariantCulture), ["recipe"] = "noisy-student" };
        trainer.Callbacks.Add(new BestCheckpoint(best, last, rng, extra));
        ConfigureTrainer?.Invoke(trainer, k);
        int start = 0;
        if (File.Exists(last))
        {
            start = Checkpoint.Load(last, model, opt, sched, rng).Epoch + 1;
            Log?.WriteLine($"iteration {k}: resuming from {last} after epoch {start}");
        }
        var history = trainer.Fit(loader, val, options.Epochs, start);
        Checkpoint.Save(final, model, epoch: options.Epochs - 1, extra: new Dictionary<string, string>(extra) { ["phase"] = "complete" });
        return new NoisyStudentPhase(k, model.ParameterCount(), train.Count, pseudo, history, Loaded: false);
    }

    // The teacher, without noise, labels the unlabelled set.
    private PseudoLabelledDataset Label(Module teacher)
    {
        Tensor probs;
        using (var logits = DatasetInference.Logits(teacher, unlabelled, options.CleanTransform, 256, options.Device, options.Workers))
        using (Tensor.NoGrad())
            probs = logits.Softmax(1);
        using (probs)
        {
            var (idx, cls) = PseudoLabels.Choose(probs, options.Threshold, options.Balance, options.PerClass);
            Log?.WriteLine($"teacher labelled {unlabelled.Count} images: {idx.Length} pseudo-labelled samples (threshold {options.Threshold}, {(options.SoftLabels ? "soft" : "hard")}, {(options.Balance ? "balanced" : "unbalanced")})");
            return new PseudoLabelledDataset(labelled, unlabelled, idx, cls, options.NumClasses, options.SoftLabels ? probs : null);
        }
    }
}
