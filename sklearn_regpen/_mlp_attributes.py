"""The fitted attributes of scikit-learn's MLP estimators, read from the module that was trained.

``coefs_``, ``intercepts_``, ``n_layers_``, ``out_activation_``, ``loss_`` and ``t_`` are
properties, not copies: they always show what the fitted module holds (on the CPU, ``coefs_`` and
``intercepts_`` share its memory, so changing them changes the model, as in scikit-learn).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted
from torch import nn


class MLPAttributes:
    """Mixin of the MLP estimators: scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` fitted
    attributes, read from ``net_.module_`` (a :class:`~sklearn_regpen.modules.MLP`) and from the
    training's progress."""

    def _linear_layers(self) -> list[nn.Linear]:
        check_is_fitted(self)
        return [m for m in self.net_.module_.modules() if isinstance(m, nn.Linear)]

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrix of each layer, shape ``(fan_in, fan_out)``: ``coefs_[i]`` maps layer
        ``i`` to layer ``i + 1`` (the transpose of the ``nn.Linear`` weight)."""
        return [layer.weight.detach().cpu().numpy().T for layer in self._linear_layers()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vector of each layer, ``intercepts_[i]`` of shape ``(fan_out,)``."""
        return [layer.bias.detach().cpu().numpy() for layer in self._linear_layers()]

    @property
    def n_layers_(self) -> int:
        """Number of layers, input and output included: ``len(hidden_layer_sizes) + 2``."""
        return len(self._linear_layers()) + 1

    @property
    def out_activation_(self) -> str:
        """The output layer's function: ``"softmax"`` (classifier: one logit per class, two for
        two classes) or ``"identity"`` (regressor)."""
        check_is_fitted(self)
        return "softmax" if self._task == "classification" else "identity"

    @property
    def loss_(self) -> float:
        """Training loss (data loss plus penalty, the mean over the epoch's rows) of the epoch
        whose weights the model holds: the best epoch of the last ``fit`` (see
        ``n_iter_no_change``), or the last epoch of ``partial_fit``."""
        check_is_fitted(self)
        return self.loss_curve_[self._progress.kept_epoch - 1]

    @property
    def t_(self) -> int:
        """Training rows seen by the optimizer, over every epoch of every fit that continued
        (``warm_start``, ``partial_fit``): ``n_iter_`` times the training rows per epoch."""
        check_is_fitted(self)
        return self._progress.rows_seen
