namespace Engine.Models;

/// <summary>The MobileNet family's registered variants (v1, v2, v3 Large and Small).</summary>
public static class MobileNet
{
    /// <summary>The registered variants: torchvision's builders plus MobileNet v1.</summary>
    internal static IEnumerable<ModelInfo> Variants() =>
    [
        new("mobilenet_v1", ModelFamily.MobileNet, 224, 1,
            "Howard et al. 2017, MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications (width 1.0)",
            o => new MobileNetV1(o.NumClasses, o.InChannels, dropout: o.Dropout ?? 0.2, generator: o.Generator)),
        new("mobilenet_v2", ModelFamily.MobileNet, 224, 1, "Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks (width 1.0)",
            o => new MobileNetV2(o.NumClasses, o.InChannels, dropout: o.Dropout ?? 0.2, generator: o.Generator)),
        new("mobilenet_v3_large", ModelFamily.MobileNet, 224, 1, "Howard et al. 2019, Searching for MobileNetV3 (Large)",
            o => new MobileNetV3(MobileNetV3.Large, 1280, o.NumClasses, o.InChannels, dropout: o.Dropout ?? 0.2, generator: o.Generator)),
        new("mobilenet_v3_small", ModelFamily.MobileNet, 224, 1, "Howard et al. 2019, Searching for MobileNetV3 (Small)",
            o => new MobileNetV3(MobileNetV3.Small, 1024, o.NumClasses, o.InChannels, dropout: o.Dropout ?? 0.2, generator: o.Generator)),
    ];
}
