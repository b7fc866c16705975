using Engine.Nn.Data;

namespace Engine.Nn;

/// <summary>The settings of a <see cref="NoisyStudent"/> run (each phase trains with SGD, Nesterov momentum and a cosine schedule).</summary>
public sealed record NoisyStudentOptions
{
    /// <summary>Student iterations after the initial teacher (phase 0): phases 1 … Iterations.</summary>
    public int Iterations { get; init; } = 3;
    /// <summary>Epochs of every phase.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Images per batch.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Learning rate.</summary>
    public double Lr { get; init; } = 0.05;
    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>Weight decay.</summary>
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>The teacher's confidence a pseudo-label needs (Xie et al.: 0.3 on ImageNet).</summary>
    public double Threshold { get; init; } = 0.3;
    /// <summary>Train on the teacher's probabilities (true) or its arg-max class (false).</summary>
    public bool SoftLabels { get; init; } = true;
    /// <summary>Give every class the same number of pseudo-labelled samples (see <see cref="PseudoLabels.Choose"/>).</summary>
    public bool Balance { get; init; } = true;
    /// <summary>Pseudo-labelled samples per class when balancing (0: the mean per class after filtering).</summary>
    public int PerClass { get; init; }
    /// <summary>The deterministic transform the teacher labels with and validation uses (no noise).</summary>
    public Transform? CleanTransform { get; init; }
    /// <summary>The input noise of training (e.g. RandAugment then normalisation); model noise (dropout, stochastic depth) comes with the model.</summary>
    public Transform? NoisyTransform { get; init; }
    /// <summary>Number of classes.</summary>
    public int NumClasses { get; init; } = 10;
    /// <summary>Training device.</summary>
    public Device Device { get; init; } = Device.Cpu;
    /// <summary>Seed of shuffling and augmentation (phase k uses Seed + k).</summary>
    public ulong Seed { get; init; }
    /// <summary>Background data-loading threads.</summary>
    public int Workers { get; init; }
}
