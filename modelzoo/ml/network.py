"""The model zoo: the paper's classifier and torchvision architectures, all with one shape.

Every network here is ``features`` (a convolutional trunk) -> global average pool -> one linear ``head``,
so every one has an exact class activation map and exports to the same ONNX graph (export.py).

``paper`` (``CorrosionNet``) is the paper's: the encoding side of U-Net, pooled to two classes. Five levels
of (3x3 conv, ReLU) x 2 followed by a 2x2 max-pool, channel width doubling per level, then global average
pooling and one linear layer. Because the head is linear on the pooled features, the class activation map (CAM) of a
class is just the head's weights applied at every position of the last
feature maps: its spatial mean plus the bias is exactly that class's logit.
"""

from __future__ import annotations

import torch
from torch import nn

PAPER = "paper"
# torchvision architectures, always built with weights=None: nothing is downloaded, training starts from scratch.
TORCHVISION = ("resnet18", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0")
ARCHITECTURES = (PAPER, *TORCHVISION)
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


class CamClassifier(nn.Module):
    """features -> global average pool -> linear head; subclasses provide ``forward_features``."""

    head: nn.Linear

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, return_features: bool = False):
        features = self.forward_features(x)
        logits = self.head(torch.flatten(features.mean(dim=(2, 3), keepdim=True), 1))
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


class CorrosionNet(CamClassifier):
    def __init__(self, width: int = 16, levels: int = LEVELS, batch_norm: bool = True, num_classes: int = NUM_CLASSES):
        super().__init__()
        widths = [width * 2**level for level in range(levels)]
        blocks = []
        in_channels = 3
        for out_channels in widths:
            blocks.append(conv_block(in_channels, out_channels, batch_norm))
            in_channels = out_channels
        self.levels = nn.Sequential(*blocks)
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


class TorchvisionNet(CamClassifier):
    """A torchvision classifier's convolutional trunk with our two-class linear head.

    Its own classifier is dropped (MobileNetV3's has a hidden layer, which would break the exact activation
    map); the trunk keeps torchvision's initialisation, drawn under the caller's seed.
    """

    def __init__(self, architecture: str, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.architecture = architecture
        self.features, channels = _torchvision_trunk(architecture)
        self.head = nn.Linear(channels, num_classes)
        self.feature_channels = channels

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def _torchvision_trunk(architecture: str) -> tuple[nn.Module, int]:
    import torchvision

    if architecture == "resnet18":
        net = torchvision.models.resnet18(weights=None)
        return nn.Sequential(*list(net.children())[:-2]), net.fc.in_features
    if architecture in ("mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0"):
        net = getattr(torchvision.models, architecture)(weights=None)
        linear = next(layer for layer in net.classifier if isinstance(layer, nn.Linear))
        return net.features, linear.in_features
    raise ValueError(f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")


def build_network(architecture: str = PAPER, *, width: int = 16, seed: int = 0) -> CamClassifier:
    """A freshly initialised network of the zoo, its initial weights a function of ``seed`` alone.

    torchvision draws from torch's global generator; it is forked, so the caller's stream is left as it was.
    """
    if architecture == PAPER:
        model = CorrosionNet(width=width)
        model.reset_parameters(generator=torch.Generator().manual_seed(seed))
        return model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return TorchvisionNet(architecture)


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


def pool_view_logits(view_logits: torch.Tensor, pooling: str) -> torch.Tensor:
    """(N, V, 2) logits of each view of a photo -> (N, 2) logits of the photo.

    Only the corrosion margin (logit difference) matters to a two-class softmax, so the views' margins are
    pooled: ``max`` says "corrosion if any view shows it" (the quiz's question, a multiple-instance view),
    ``mean`` averages the evidence. The photo's logits are +-margin/2, whose softmax is sigmoid(margin).
    """
    margin = view_logits[..., CORROSION] - view_logits[..., 1 - CORROSION]
    if pooling == "max":
        pooled = margin.max(dim=1).values
    elif pooling == "mean":
        pooled = margin.mean(dim=1)
    else:
        raise ValueError(f"unknown pooling {pooling!r}")
    half = pooled / 2
    return torch.stack([-half, half], dim=1) if CORROSION == 1 else torch.stack([half, -half], dim=1)
