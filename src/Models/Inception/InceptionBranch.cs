using Engine.Nn;

namespace Engine.Models;

/// <summary>One step of an Inception branch (a row of the block tables).</summary>
public abstract record InceptionStep;

/// <summary>
/// A <see cref="BasicConv2d"/> to <paramref name="Out"/> channels. <paramref name="Name"/> is its child name when the
/// block registers its convolutions flat (Inception v3's <c>branch5x5_1</c>); unused inside a named branch.
/// </summary>
public sealed record ConvStep(string? Name, int Out, (int H, int W) Kernel, int Stride = 1, (int H, int W) Padding = default) : InceptionStep
{
    /// <summary>A square k×k convolution with padding p on every side.</summary>
    public ConvStep(string? name, int outChannels, int kernel, int stride = 1, int padding = 0)
        : this(name, outChannels, (kernel, kernel), stride, (padding, padding)) { }
}

/// <summary>Max or average pooling (average counts the zero padding, as <c>F.avg_pool2d</c>'s default).</summary>
public sealed record PoolStep(bool Max, int Kernel, int Stride, int Padding = 0, bool CeilMode = false) : InceptionStep;

/// <summary>Convolutions applied side by side to the same input, their outputs concatenated (Inception v3's E block).</summary>
public sealed record ForkStep(params ConvStep[] Parts) : InceptionStep;

/// <summary>
/// A branch of an Inception block: its steps in order. A named branch is registered as one child under
/// <paramref name="Name"/> (a single <see cref="BasicConv2d"/>, or a <see cref="Sequential"/> "0", "1", ... of its
/// steps, as GoogLeNet's <c>branch2</c>); an unnamed branch registers each convolution under its own name directly
/// on the block and applies its pooling functionally, as Inception v3's blocks do.
/// </summary>
public sealed record InceptionBranch(string? Name, params InceptionStep[] Steps);
