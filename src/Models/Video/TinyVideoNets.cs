namespace Engine.Models;

/// <summary>The small video classifiers of the Moving Fashion-MNIST experiment (docs/video.md): a 3-D CNN and its single-frame 2-D twin.</summary>
public static class TinyVideoNets
{
    /// <summary>The registered variants: grey clips of 8 frames of 32×32, 8 classes (the motion directions).</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
    [
        new("c3d_tiny", ModelFamily.Video, 32, 8, "A small C3D-style 3-D CNN (Tran et al. 2015, Learning spatiotemporal features with 3D convolutional networks): 3 Conv3d-BN-ReLU stages",
            o => new C3dTiny(o.NumClasses, o.InChannels, o.Generator), DefaultChannels: 1, DefaultClasses: 8) { Frames = 8 },
        new("frame2d_tiny", ModelFamily.Video, 32, 8, "Single-frame baseline of c3d_tiny: the same 3 stages in 2-D on the middle frame only",
            o => new Frame2dTiny(o.NumClasses, o.InChannels, o.Generator), DefaultChannels: 1, DefaultClasses: 8) { Frames = 8 },
    ];
}
