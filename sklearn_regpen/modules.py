"""The torch module the estimators train: a plain multi-layer perceptron."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "MLP"]

#: Hidden-layer activations, by the names scikit-learn's ``MLPClassifier`` uses.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
}


class MLP(nn.Module):
    """Fully connected network from d inputs through the hidden layers to K raw outputs (logits).

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
        return self.layers(x)
