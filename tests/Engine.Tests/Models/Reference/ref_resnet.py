"""ResNet variants torchvision lacks, with the engine's parameter names (src/Models/ResNet, src/Models/SENet).

CIFAR ResNets (He et al. 2015, section 4.2), depth 6n+2: conv1 3x3 to 16 channels, bn1, relu, layer1..layer3 of n
torchvision BasicBlocks (16/32/64 channels, strides 1/2/2), avgpool, fc. Shortcuts where the shape changes are
projections (option B: downsample.0 1x1 conv, downsample.1 BN), not the paper's parameter-free option A.

SE-ResNets (Hu et al. 2017): torchvision's ResNet whose Bottleneck gets a child `se` (torchvision.ops.SqueezeExcitation:
fc1/fc2 1x1 convs with bias, reduction 16, ReLU, sigmoid), registered after the block's other children (so its keys
follow downsample.*) and applied to bn3's output before the residual addition.
"""
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet, conv1x1


class CifarResNet(nn.Module):
    def __init__(self, depth, num_classes, in_channels):
        super().__init__()
        assert (depth - 2) % 6 == 0
        n = (depth - 2) // 6
        self.inplanes = 16
        self.conv1 = nn.Conv2d(in_channels, 16, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, n, 1)
        self.layer2 = self._make_layer(32, n, 2)
        self.layer3 = self._make_layer(64, n, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


class SEBottleneck(Bottleneck):
    reduction = 16

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        c = self.bn3.num_features
        self.se = torchvision.ops.SqueezeExcitation(c, c // self.reduction)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.se(self.bn3(self.conv3(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def se_resnet(groups, width_per_group):
    def build(num_classes, in_channels):
        model = ResNet(SEBottleneck, [3, 4, 6, 3], num_classes=num_classes, groups=groups, width_per_group=width_per_group)
        if in_channels != 3:
            model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
        for m in model.modules():
            if isinstance(m, SEBottleneck):  # the engine starts every conv bias at zero
                nn.init.zeros_(m.se.fc1.bias)
                nn.init.zeros_(m.se.fc2.bias)
        return model
    return build


MODELS = {f"resnet{d}": (lambda d: lambda num_classes, in_channels: CifarResNet(d, num_classes, in_channels))(d)
          for d in (20, 32, 44, 56, 110)}
MODELS["se_resnet50"] = se_resnet(1, 64)
MODELS["se_resnext50_32x4d"] = se_resnet(32, 4)
