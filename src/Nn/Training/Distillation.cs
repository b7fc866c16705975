using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>
/// Knowledge distillation (Hinton, Vinyals and Dean 2015): a trained teacher, in evaluation mode and without
/// gradients, gives soft targets at temperature T; the student minimises
/// α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·CE(student, labels), the fused
/// <see cref="Functional.DistillationLoss"/> (the T² keeps the soft term's gradient scale independent of T).
/// Plug <see cref="Objective"/> into a <see cref="Trainer"/> of the student.
/// </summary>
/// <example>
/// <code>
/// using var kd = new Distillation(teacher, temperature: 4, alpha: 0.7);
/// var trainer = new Trainer(student, new SGD(student.Parameters(), 0.05, momentum: 0.9), numClasses: 10) { Objective = kd.Objective };
/// trainer.Fit(trainLoader, valLoader, epochs: 10);
/// </code>
/// </example>
public sealed class Distillation : IDisposable
{
    /// <summary>The teacher: kept in eval mode with every parameter frozen.</summary>
    public Module Teacher { get; }
    /// <summary>The softmax temperature T (&gt; 0).</summary>
    public double Temperature { get; }
    /// <summary>The weight α ∈ [0, 1] of the soft (teacher) term; 1 − α weighs the cross-entropy with the labels.</summary>
    public double Alpha { get; }
    /// <summary>The teacher's cached logits (see <see cref="TeacherLogitCache"/>), or null to run the teacher on every batch.</summary>
    public TeacherLogitCache? Cache { get; private set; }

    /// <summary>Freezes <paramref name="teacher"/> (no gradients, eval mode, also when its owner calls Train).</summary>
    public Distillation(Module teacher, double temperature = 4, double alpha = 0.7)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        if (!(temperature > 0) || double.IsInfinity(temperature)) throw new RecipeException("distillation", $"temperature must be positive and finite, got {temperature}");
        if (!(alpha >= 0 && alpha <= 1)) throw new RecipeException("distillation", $"alpha must be in [0, 1], got {alpha}");
        (Teacher, Temperature, Alpha) = (teacher, temperature, alpha);
        Freezing.Freeze(teacher);
        foreach (var (_, m) in teacher.NamedModules()) m.KeepEval = true;
    }

    /// <summary>Computes the teacher's logits for <paramref name="data"/> once (see <see cref="TeacherLogitCache"/> for when that is exact).</summary>
    public void CacheTeacher(IDataset data, Transform? transform = null, int batchSize = 256, Device? device = null, int workers = 0)
    {
        Cache?.Dispose();
        Cache = TeacherLogitCache.Build(Teacher, data, transform, batchSize, device, workers);
    }

    /// <summary>The teacher's logits for a batch: from the cache when there is one, else a gradient-free forward pass.</summary>
    public Tensor TeacherLogits(Batch batch)
    {
        if (Cache is not null) return Cache.Lookup(batch.Indices);
        using var noGrad = Tensor.NoGrad();
        return Teacher.Call(batch.Images);
    }

    /// <summary>The objective for <see cref="Trainer.Objective"/>: the student's logits and the distillation loss.</summary>
    public (Tensor Logits, Tensor Loss) Objective(Trainer trainer, Batch batch)
    {
        var teacher = TeacherLogits(batch);
        var student = trainer.Model.Call(batch.Images);
        return (student, Functional.DistillationLoss(student, teacher, batch.SoftLabels ?? batch.Labels, Temperature, Alpha));
    }

    /// <summary>Releases the cache (the teacher stays the caller's).</summary>
    public void Dispose()
    {
        Cache?.Dispose();
        Cache = null;
    }
}
