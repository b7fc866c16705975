"""ResNet-DCN (resnet18_dcn, resnet50_dcn), which torchvision lacks, with the engine's parameter names (src/Models/ResNet,
src/Nn/Layers/DeformConv2dPack.cs).

torchvision's resnet18/resnet50 whose 3x3 convs in layer2..layer4 (conv3_x..conv5_x; both convs of a BasicBlock, conv2 of
a Bottleneck) are modulated deformable convs (Zhu et al. 2019): ModulatedDeformConv2dPack below, a
torchvision.ops.DeformConv2d (weight, no bias) with a child conv_offset (a Conv2d with bias to 3*3*3 channels: 18 (dy, dx)
offsets, then 9 mask logits through a sigmoid), the layout of mmcv's ModulatedDeformConv2dPack. The engine starts
conv_offset at zero; here it is randomised (weight N(0, 1/fan_in), bias N(0, 0.5^2): offsets of about a pixel and masks
spread over (0, 1)), so the reference exercises the deformable sampling and the mask, not the plain convolution.
"""
import math

import torch
import torch.nn as nn
import torchvision


class ModulatedDeformConv2dPack(torchvision.ops.DeformConv2d):
    def __init__(self, in_channels, out_channels, stride, groups):
        super().__init__(in_channels, out_channels, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.conv_offset = nn.Conv2d(in_channels, 3 * 9, 3, stride=stride, padding=1, bias=True)
        with torch.no_grad():
            self.conv_offset.weight.normal_(0, 1 / math.sqrt(in_channels * 9))
            self.conv_offset.bias.normal_(0, 0.5)

    def forward(self, x):
        out = self.conv_offset(x)
        offset, mask = out[:, :18], torch.sigmoid(out[:, 18:])
        return super().forward(x, offset, mask)


def deformable(conv):
    return ModulatedDeformConv2dPack(conv.in_channels, conv.out_channels, conv.stride, conv.groups)


def resnet_dcn(builder):
    def build(num_classes, in_channels):
        model = getattr(torchvision.models, builder)(weights=None, num_classes=num_classes)
        if in_channels != 3:
            model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        for layer in (model.layer2, model.layer3, model.layer4):
            for block in layer:
                names = ("conv1", "conv2") if isinstance(block, torchvision.models.resnet.BasicBlock) else ("conv2",)
                for name in names:  # replacing keeps the child's position, so the state_dict order is unchanged
                    setattr(block, name, deformable(getattr(block, name)))
        return model
    return build


MODELS = {"resnet18_dcn": resnet_dcn("resnet18"), "resnet50_dcn": resnet_dcn("resnet50")}
