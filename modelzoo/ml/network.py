"""The paper's classifier: the encoding side of U-Net, pooled to two classes.

Five levels of (3x3 conv, ReLU) x 2 followed by a 2x2 max-pool, channel width
doubling per level, then global average pooling and one linear layer. Because
the head is linear on the pooled features, the class activation map (CAM) of a
class is just the head's weights applied at every position of the last
feature maps: its spatial mean plus the bias is exactly that class's logit.
"""

from __future__ import annotations

import torch
from torch import nn

NUM_CLASSES = 2
CORROSION = 1  # index of the corrosion class in the logits
LEVELS = 5


def conv_block(in_channels: int, out_channels: int, batch_norm: bool) -> nn.Sequential:
    """One U-Net level: two 3x3 convs with ReLU, then halve the resolution."""
    layers: list[nn.Module] = []
    for channels_in in (in_channels, out_channels):
        # With batch norm the conv bias is redundant (BN re-centres), so drop it.
        layers.append(nn.Conv2d(channels_in, out_channels, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class CorrosionNet(nn.Module):
    def __init__(self, width: int = 16, levels: int = LEVELS, batch_norm: bool = True, num_classes: int = NUM_CLASSES):
        super().__init__()
        widths = [width * 2**level for level in range(levels)]
        blocks = []
        in_channels = 3
        for out_channels in widths:
            blocks.append(conv_block(in_channels, out_channels, batch_norm))
            in_channels = out_channels
        self.levels = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(in_channels, num_classes)
        self.feature_channels = in_channels
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        # Kaiming-uniform as in the paper: keeps activation variance stable
        # through the ReLU stack when training from scratch.
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(module.weight, nonlinearity="relu", generator=generator)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()  # weight 1, bias 0 and fresh running statistics

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Last feature maps, the input of the global average pool: (N, C, h, w)."""
        return self.levels(x)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        features = self.forward_features(x)
        logits = self.head(torch.flatten(self.pool(features), 1))
        if return_features:
            return logits, features
        return logits

    def class_activation_map(self, features: torch.Tensor) -> torch.Tensor:
        """(N, h, w) map of where the evidence for corrosion over no corrosion sits.

        Uses the difference of the two head rows: with two classes the softmax
        depends only on the logit difference, and the spatial mean of this map
        plus (b_corrosion - b_no_corrosion) is exactly that difference.
        """
        weight = self.head.weight[CORROSION] - self.head.weight[1 - CORROSION]
        # Broadcast-multiply-sum rather than einsum: exports to plain Mul/ReduceSum.
        return (features * weight.view(1, -1, 1, 1)).sum(dim=1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: CorrosionNet, input_size: int) -> int:
    """Forward multiply-adds x 2 for one image (convs + head; BN/ReLU/pool ignored as negligible)."""
    flops = 0
    size = input_size
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            flops += 2 * module.in_channels * module.out_channels * kh * kw * size * size
        elif isinstance(module, nn.MaxPool2d):
            size //= 2
        elif isinstance(module, nn.Linear):
            flops += 2 * module.in_features * module.out_features
    return flops
