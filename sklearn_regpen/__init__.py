"""scikit-learn estimators that train neural networks with input-space regularizers."""

from ._loop import TrainingDivergedError
from .estimators import RegularizedMLPClassifier, RegularizedMLPRegressor

__all__ = ["RegularizedMLPClassifier", "RegularizedMLPRegressor", "TrainingDivergedError"]

#: the package's version; ``pyproject.toml`` reads it from here (setuptools' dynamic version)
__version__ = "0.2.0"
