"""Torch modules for the estimators: the MLP of the MLP estimators, and the thesis' two CNNs.

Every module here takes ``n_outputs`` and either ``n_features`` (rows) or ``input_shape``
(images, ``(channels, height, width)``); ``RegularizedNet*`` fill these from the data when they
are not given as ``module__*`` parameters, so ``RegularizedNetClassifier(module=SmallCNN)`` fits
any image shape the network can take and any number of classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "MLP", "ResNet", "SmallCNN"]

#: Hidden-layer activations, by the names scikit-learn's ``MLPClassifier`` uses.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
}


class MLP(nn.Module):
    """Fully connected network from d inputs through the hidden layers to K raw outputs (logits).

    N-D inputs ``(B, *S)`` are flattened to rows of ``d = prod(S)`` features.

    Parameters
    ----------
    n_features : int
        Input width ``d``.
    n_outputs : int
        Output width ``K``: classes for a classifier, targets for a regressor.
    hidden_layer_sizes : sequence of int, default=(100,)
        Width of each hidden layer; an empty sequence gives a linear model.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Non-linearity after every hidden layer.

    Examples
    --------
    >>> import torch
    >>> MLP(4, 3, (8,), "tanh")(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        hidden_layer_sizes: Sequence[int] = (100,),
        activation: str = "relu",
    ):
        super().__init__()
        widths = [n_features, *hidden_layer_sizes]
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
        layers.append(nn.Linear(widths[-1], n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # images (B, C, H, W) are read as rows of C * H * W features (a no-op view for rows)
        return self.layers(x.flatten(1))


def _conv_output(size: int, kernel: int = 3, pool: int = 1) -> int:
    """Side of a 'valid' (unpadded, stride 1) convolution's output, then of a max-pooling."""
    return (size - kernel + 1) // pool


class SmallCNN(nn.Module):
    """The thesis' small model (its section 7.1.1): three 3x3 convolutions and two dense layers.

    conv 3x3 (32 filters), ReLU, 2x2 max-pooling; conv 3x3 (64), ReLU, 2x2 max-pooling;
    conv 3x3 (64), ReLU, flatten; dense 64, ReLU; dense ``n_outputs`` (the logits). Convolutions
    are unpadded with stride 1 (Keras' default, which the thesis' description matches): a 28x28
    MNIST digit gives 26, 13, 11, 5, 3 pixels a side and 576 features before the dense layers.
    About 93,000 parameters for MNIST.

    Parameters
    ----------
    input_shape : tuple of int, default=(1, 28, 28)
        ``(channels, height, width)`` of one image; at least 18 pixels a side.
    n_outputs : int, default=10
        Number of logits: classes (classifier) or targets (regressor).
    channels : tuple of three int, default=(32, 64, 64)
        Filters of the three convolutions.
    hidden : int, default=64
        Width of the hidden dense layer.

    Examples
    --------
    >>> SmallCNN((1, 28, 28), 10)(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        n_outputs: int = 10,
        channels: Sequence[int] = (32, 64, 64),
        hidden: int = 64,
    ):
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(
                f"SmallCNN takes images of shape (channels, height, width); got input_shape "
                f"{tuple(input_shape)}"
            )
        in_channels, height, width = input_shape
        sides = []
        for side in (height, width):
            side = _conv_output(_conv_output(_conv_output(side, pool=2), pool=2))
            sides.append(side)
        if min(sides) < 1:
            raise ValueError(
                f"SmallCNN needs images of at least 18 pixels a side (three unpadded 3x3 "
                f"convolutions and two 2x2 poolings); got {height}x{width}"
            )
        c1, c2, c3 = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3), nn.ReLU(), nn.Flatten(),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Linear(c3 * math.prod(sides), hidden), nn.ReLU(), nn.Linear(hidden, n_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class _ResidualBlock(nn.Module):
    """conv-norm-ReLU-conv-norm, plus the input (through a 1x1 convolution where the shape
    changes), then ReLU."""

    def __init__(self, fan_in: int, fan_out: int, stride: int, norm):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(fan_in, fan_out, 3, stride, 1, bias=False), norm(fan_out), nn.ReLU(),
            nn.Conv2d(fan_out, fan_out, 3, 1, 1, bias=False), norm(fan_out),
        )  # fmt: skip
        self.shortcut = (
            nn.Identity()
            if stride == 1 and fan_in == fan_out
            else nn.Sequential(nn.Conv2d(fan_in, fan_out, 1, stride, bias=False), norm(fan_out))
        )

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


#: normalisation layers :class:`ResNet` takes, by name
NORMS = {
    "batch": nn.BatchNorm2d,
    "group": lambda channels: nn.GroupNorm(min(8, channels), channels),
    "none": lambda channels: nn.Identity(),
}


class ResNet(nn.Module):
    """A small residual network after the thesis' section 7.1.2 (its CIFAR-10 model), for GPU runs.

    A 3x3 convolution (16 filters), then three stages of residual blocks with 16, 32 and 64
    filters and strides 1, 2, 2, each convolution followed by normalisation and ReLU; global
    average pooling (the thesis' 8x8 pooling of a 32x32 input); a dense layer to the logits.

    Parameters
    ----------
    input_shape : tuple of int, default=(3, 32, 32)
        ``(channels, height, width)`` of one image.
    n_outputs : int, default=10
        Number of logits.
    blocks_per_stage : int, default=1
        Residual blocks in each of the three stages (1 as the thesis lists; 3 is ResNet-20).
    norm : {"batch", "group", "none"}, default="batch"
        Normalisation after each convolution. ``"batch"`` is the thesis'. In a training step
        the estimators' penalties normalise every pass by the clean batch's statistics, so each
        row's derivatives are those of the network with that batch's normalisation (user guide,
        "Your module stays yours"); ``"group"`` (GroupNorm) makes rows independent outright.

    Examples
    --------
    >>> ResNet((3, 32, 32), 10)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (3, 32, 32),
        n_outputs: int = 10,
        blocks_per_stage: int = 1,
        norm: str = "batch",
    ):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {sorted(NORMS)}, got {norm!r}")
        if len(input_shape) != 3:
            raise ValueError(
                f"ResNet takes images of shape (channels, height, width); got input_shape "
                f"{tuple(input_shape)}"
            )
        make_norm = NORMS[norm]
        layers: list[nn.Module] = [
            nn.Conv2d(input_shape[0], 16, 3, 1, 1, bias=False), make_norm(16), nn.ReLU()
        ]
        fan_in = 16
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            for block in range(blocks_per_stage):
                layers.append(_ResidualBlock(fan_in, width, stride if block == 0 else 1, make_norm))
                fan_in = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(fan_in, n_outputs)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def describe_input(module: nn.Module) -> str:
    """What the module's first layer takes, in words (``""`` when it is not a linear or
    convolution layer): for error messages about inputs of the wrong shape."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            return f"its first layer, {layer}, takes rows of {layer.in_features} features"
        if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            dims = {nn.Conv1d: 1, nn.Conv2d: 2, nn.Conv3d: 3}[type(layer)]
            shape = ", ".join([str(layer.in_channels)] + ["..."] * dims)
            return f"its first layer, {layer}, takes rows of shape ({shape})"
    return ""
