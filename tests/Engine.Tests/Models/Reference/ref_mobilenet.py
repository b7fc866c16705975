"""MobileNet v1 (Howard et al. 2017, Table 1) as the engine defines it: no torchvision twin.

Names in torchvision's style: features.0 is the 3x3 stride-2 stem (Conv2dNormActivation), features.1..13 are
depthwise separable blocks with children dw (3x3 depthwise Conv2dNormActivation, carrying the stride) and pw
(1x1 pointwise Conv2dNormActivation), all with ReLU as in the paper; global average pooling; classifier is
Dropout + Linear. The 13th block has stride 1 (the paper's table says 2 but keeps the 7x7 size).
"""
import torch
import torch.nn as nn
from torchvision.ops.misc import Conv2dNormActivation

# output width and stride of each depthwise separable block
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


class DepthwiseSeparable(nn.Module):
    def __init__(self, inp, oup, stride):
        super().__init__()
        self.dw = Conv2dNormActivation(inp, inp, 3, stride, groups=inp)
        self.pw = Conv2dNormActivation(inp, oup, 1)

    def forward(self, x):
        return self.pw(self.dw(x))


class MobileNetV1(nn.Module):
    def __init__(self, num_classes, in_channels, dropout=0.2):
        super().__init__()
        layers, inp = [Conv2dNormActivation(in_channels, 32, 3, 2)], 32
        for oup, stride in BLOCKS:
            layers.append(DepthwiseSeparable(inp, oup, stride))
            inp = oup
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(inp, num_classes))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


MODELS = {"mobilenet_v1": MobileNetV1}
