using Engine.Nn;

namespace Engine.Models;

/// <summary>
/// The Inception families' unit (torchvision's <c>BasicConv2d</c>): <c>conv</c> (no bias) → <c>bn</c> (eps 0.001, as the
/// TensorFlow Inception models) → ReLU. Kernel, stride and padding are given per dimension (kh, kw), since
/// Inception v3 factorises n×n convolutions into 1×n and n×1.
/// </summary>
public sealed class BasicConv2d : Module
{
    /// <summary>The convolution (no bias: the BatchNorm's shift replaces it).</summary>
    public Conv2d Conv { get; }

    /// <summary>The BatchNorm.</summary>
    public BatchNorm2d Bn { get; }

    /// <summary>Creates the unit; <paramref name="kernel"/>, <paramref name="stride"/> and <paramref name="padding"/> are (h, w).</summary>
    public BasicConv2d(long inChannels, long outChannels, (int H, int W) kernel, int stride = 1, (int H, int W) padding = default, Generator? generator = null)
    {
        Conv = RegisterModule("conv", new Conv2d(inChannels, outChannels, [kernel.H, kernel.W], [stride, stride], [padding.H, padding.W], [1, 1],
            bias: false, generator: generator));
        Bn = RegisterModule("bn", new BatchNorm2d(outChannels, 0.001));
    }

    /// <summary>A square k×k unit with padding p on every side.</summary>
    public BasicConv2d(long inChannels, long outChannels, int kernel, int stride = 1, int padding = 0, Generator? generator = null)
        : this(inChannels, outChannels, (kernel, kernel), stride, (padding, padding), generator) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Bn.Call(Conv.Call(input)).Relu();
}
