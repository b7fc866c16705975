"""AlexNet as in the 2012 paper (Krizhevsky, Sutskever & Hinton): torchvision's AlexNet channels (64/192/384/256/256)
with LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2) after the ReLU of conv1 and conv2, before their max pools.
Parameter names: features.{0,4,8,10,12}.{weight,bias} (LRN has no parameters but shifts the indices),
classifier.{1,4,6}.{weight,bias}. torchvision has no such model; this is the engine's alexnet_lrn."""
import torch
import torch.nn as nn


def alexnet_lrn(num_classes, in_channels):
    return _AlexNetLrn(num_classes, in_channels)


class _AlexNetLrn(nn.Module):
    def __init__(self, num_classes, in_channels, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


MODELS = {"alexnet_lrn": alexnet_lrn}
