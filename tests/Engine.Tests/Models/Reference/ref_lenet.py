"""LeNet-5 as the engine defines it (features/classifier Sequentials, 28x28 input padded by 2): no torchvision twin."""
import torch.nn as nn


def lenet5(num_classes, in_channels):
    return _LeNet5(num_classes, in_channels)


class _LeNet5(nn.Module):
    def __init__(self, num_classes, in_channels):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                        nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


MODELS = {"lenet5": lenet5}
